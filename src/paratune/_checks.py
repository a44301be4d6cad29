"""Argument checks shared by constructors, each of which words its own error message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .errors import SpecError


def is_whole(value: object, low: int = 0) -> bool:
    """Whether ``value`` is an int of at least ``low``; True and False are not numbers here."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@contextlib.contextmanager
def naming_errors(argument: str) -> Iterator[None]:
    """Turn a part's `ValueError` or `TypeError` into a `SpecError` that names ``argument``
    (the message is left as it is when it names it already)."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        if isinstance(exc, SpecError):
            raise
        message = str(exc)
        if not message.startswith(argument):
            message = f"{argument}: {message}"
        raise SpecError(message) from exc
