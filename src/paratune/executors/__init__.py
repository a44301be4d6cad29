"""Executors: where jobs run. See `Executor` for the protocol."""

from __future__ import annotations

from ._base import Executor, Objective
from .processes import Processes
from .serial import Serial
from .simulated import Simulated, VirtualClock
from .threads import Threads

__all__ = [
    "Executor",
    "Objective",
    "Processes",
    "Serial",
    "Simulated",
    "Threads",
    "VirtualClock",
    "make_executor",
]

_NAMES = ("serial", "threads", "processes", "simulated")


def make_executor(
    executor: str | Executor, workers: int | None, trial_timeout: float | None = None
) -> Executor:
    """Turn a name (``"serial"``, ``"threads"``, ``"processes"``, ``"simulated"``) into an
    executor with ``workers`` workers; pass an executor object through unchanged.
    ``trial_timeout`` needs an executor that can stop a running trial."""
    if trial_timeout is not None and executor not in ("processes", "simulated"):
        raise ValueError(
            "trial_timeout needs executor='processes' or 'simulated' (a thread cannot be "
            f"stopped from outside), got executor={executor!r}"
        )
    if not isinstance(executor, str):
        return executor
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if executor == "serial":
        if workers not in (None, 1):
            raise ValueError(f"executor='serial' runs one job at a time; got workers={workers}")
        return Serial()
    if executor == "threads":
        return Threads(workers)
    if executor == "processes":
        return Processes(workers, trial_timeout=trial_timeout)
    if executor == "simulated":
        return Simulated(workers or 1, trial_timeout=trial_timeout)
    raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(_NAMES)}")
