"""How a run hears its user's stop. During a run, SIGINT (Ctrl-C) and SIGTERM (what a batch
system sends to pre-empt a job) both raise `KeyboardInterrupt` in the driver, so that the
trials they cut short are recorded as interrupted and run again on resume.

A few steps must not be cut in half, such as reading one message from a worker's pipe or
recording a trial as running: they run inside `signals_held`, and a first stop that arrives
meanwhile is raised as soon as they end. The end of a run (stopping the workers, closing
the books, recording the session's end) runs inside `winding_down`, which drops a first stop
that arrives then: the run is ending anyway. A second stop, once the user has stopped the
run, is raised at once wherever it lands, and the store is left as after a crash.
(Python runs signal handlers in the main thread only, whichever thread the signal reached,
so the handler can tell where the main thread is.)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOPS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run."""

_held = 0  # how many held blocks the main thread is in
_pending: int | None = None  # a first stop that arrived in one, to raise when they end
_stopped = False  # whether the user stopped this run already


def _interrupt(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def _stop(signum: int, frame: FrameType | None) -> None:
    global _pending, _stopped
    first = not _stopped
    _stopped = True
    if _held and first:
        _pending = signum
        return
    raise _interrupt(signum)


def _reset() -> None:
    global _pending, _stopped
    _pending, _stopped = None, False


@contextmanager
def user_stops() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise `KeyboardInterrupt` (a first one
    outside held blocks; in the main thread only: elsewhere the process's handlers stay
    as they are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _reset()
    previous = {number: signal.signal(number, _stop) for number in STOPS}
    try:
        yield
    finally:
        _reset()
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
    """Hold back a first stop until the block ends (a block that raises keeps its own
    error; the stop then stays pending for the next block to raise)."""
    return _HELD


@contextmanager
def winding_down() -> Iterator[None]:
    """Hold back a first stop for the block, and drop it after: the run is ending."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held:
            _pending = None
