"""Waiting, in tests, for what another process or thread does: poll a condition with a
deadline, never sleep for a time that hopes to be long enough.

`wait_until` fails (``AssertionError``) naming what it waited for; `poll` only says whether
the condition came true, for callers that handle a timeout themselves. Both work in worker
processes too, so an objective that waits for a gate file can use them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

EVERY = 0.01
"""Seconds between two checks of the condition."""


def poll(predicate: Callable[[], object], deadline: float, *, every: float = EVERY) -> bool:
    """Call ``predicate()`` every ``every`` seconds until it returns something true (True),
    or until ``deadline`` seconds have passed (False)."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(every)
    return True


def wait_until(
    predicate: Callable[[], T], deadline: float, what: str, *, every: float = EVERY
) -> T:
    """Call ``predicate()`` every ``every`` seconds until it returns something true, and
    return that.

    Raises:
        AssertionError: ``deadline`` seconds passed first; the message names ``what``.
    """
    end = time.monotonic() + deadline
    while not (value := predicate()):
        if time.monotonic() > end:
            raise AssertionError(f"waited {deadline:g} s for {what}, in vain")
        time.sleep(every)
    return value
