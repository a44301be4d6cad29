"""Argument checks shared by constructors, each of which words its own error message."""

from __future__ import annotations


def is_whole(value: object, low: int = 0) -> bool:
    """Whether ``value`` is an int of at least ``low``; True and False are not numbers here."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low
