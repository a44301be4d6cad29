"""How a run hears its user's stop. During a run, SIGINT (Ctrl-C) and SIGTERM (what a batch
system sends to pre-empt a job) both raise `KeyboardInterrupt` in the driver, so that the
trials they cut short are recorded as interrupted and run again on resume.

A few steps must not be cut in half, such as reading one message from a worker's pipe: a
stop in the middle would leave the pipe out of step. They run inside `signals_held`, and a
stop that arrives meanwhile is raised as soon as they end. (Python runs signal handlers in
the main thread only, whichever thread the signal reached, so the handler can tell.)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_held = 0  # how many `signals_held` blocks the main thread is in
_pending: int | None = None  # a stop that arrived during one, to raise when they end


def _interrupt(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def _stop(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _held:
        _pending = signum
        return
    raise _interrupt(signum)


@contextmanager
def user_stops() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise `KeyboardInterrupt`, outside
    `signals_held` blocks (in the main thread only: elsewhere the process's handlers stay
    as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        global _pending
        _pending = None
        for number, handler in previous.items():
            signal.signal(number, handler)


class _Held:
    """The context of `signals_held`: a class, not a generator, as the loop enters it for
    every job and a generator-based context costs several times more."""

    def __enter__(self) -> None:
        global _held
        _held += 1

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        global _held, _pending
        _held -= 1
        if not _held and _pending is not None and kind is None:
            signum, _pending = _pending, None
            raise _interrupt(signum)


_HELD = _Held()


def signals_held() -> _Held:
    """Hold back a user's stop until the block ends (a block that raises keeps its own
    error; the stop then stays pending for the next block to raise)."""
    return _HELD
