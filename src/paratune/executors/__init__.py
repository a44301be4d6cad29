"""Executors: where jobs run. See `Executor` for the protocol."""

from __future__ import annotations

from typing import Any

from ._base import Executor, Objective
from ._resources import Resources, parse_resources
from .dask import Dask, WallClock
from .processes import Processes
from .serial import Serial
from .simulated import Simulated, VirtualClock
from .threads import Threads

__all__ = [
    "Dask",
    "Executor",
    "Objective",
    "Processes",
    "Resources",
    "Serial",
    "Simulated",
    "Threads",
    "VirtualClock",
    "WallClock",
    "make_executor",
    "parse_resources",
    "use_resources",
]

_NAMES = ("serial", "threads", "processes", "simulated", "dask")


def make_executor(
    executor: str | Executor,
    workers: int | None,
    trial_timeout: float | None = None,
    address: str | None = None,
) -> Executor:
    """Turn a name (``"serial"``, ``"threads"``, ``"processes"``, ``"simulated"``,
    ``"dask"``) into an executor with ``workers`` workers; pass an executor object through
    unchanged. ``trial_timeout`` needs an executor that can stop a running trial;
    ``address`` (a Dask scheduler's) goes with ``"dask"`` only."""
    if address is not None and executor != "dask":
        raise ValueError(
            f"address is the Dask scheduler's: it needs executor='dask', got {executor!r}"
        )
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
    if executor == "dask":
        # With an address, workers caps a running cluster; without one, it sizes a local one.
        if address is not None:
            return Dask(address, workers=workers)
        return Dask(n_workers=workers)
    raise ValueError(f"unknown executor {executor!r}; expected one of {', '.join(_NAMES)}")


def use_resources(executor: Executor, resources: Any) -> Resources | None:
    """Give every trial of ``executor`` the per-trial ``resources`` (``{"cpus": 2, "gpus":
    1}``), where the executor can honour them (processes, dask); return them checked.

    Raises:
        ValueError: the resources are malformed, the executor cannot honour them, or no
            worker could ever run such a trial.
    """
    checked = parse_resources(resources)
    if checked is None:
        return None
    hook = getattr(executor, "use_resources", None)
    if hook is None:
        raise ValueError(
            f"resources need executor='processes' or 'dask', got {type(executor).__name__}"
        )
    hook(checked)
    return checked
