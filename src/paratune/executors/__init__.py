"""Executors: where jobs run. See `Executor` for the protocol.

An executor of your own needs only the protocol; `run_job`, `make_context` and
`takes_context` run a job the way the built-in executors do (its `Event`, its `Context`),
`Clock` and `ReportHandler` type its clock and its report handler, `UsesResources` is the
optional hook for per-trial resources, `Setup` and `SetupError` type the run's per-worker
setup and its failure (`run_setup` calls one where the jobs run in the caller's thread),
and `paratune.testing.ExecutorContract` checks the result.
"""

from __future__ import annotations

import os
from typing import Any

from .._checks import is_whole
from ..context import Clock
from ._base import (
    Executor,
    LosesWorkers,
    Objective,
    ReportHandler,
    UsesResources,
    make_context,
    present_workers,
    run_job,
    takes_context,
)
from ._pacing import Pacing
from ._resources import Resources, parse_resources
from ._setup import Setup, SetupError, run_setup, takes_setup
from .dask import Dask, WallClock
from .processes import Processes
from .serial import Serial
from .simulated import Simulated, VirtualClock
from .threads import Threads

__all__ = [
    "Clock",
    "Dask",
    "Executor",
    "LosesWorkers",
    "Objective",
    "Pacing",
    "Processes",
    "ReportHandler",
    "Resources",
    "Serial",
    "Setup",
    "SetupError",
    "Simulated",
    "Threads",
    "UsesResources",
    "VirtualClock",
    "WallClock",
    "chosen_executor",
    "make_context",
    "make_executor",
    "parse_resources",
    "present_workers",
    "run_job",
    "run_setup",
    "takes_context",
    "takes_setup",
    "use_resources",
]

_NAMES = ("serial", "threads", "processes", "simulated", "dask")

MAX_SIMULATED_WORKERS = 100_000
"""The most virtual workers: each with a trial in flight holds about 10 KB in the driver
(measured: 50,000 took 0.5 GB), so the bound costs about 1 GB, which a laptop survives;
10**9 would not."""

MAX_THREADS = 4096
"""The most threads: objectives that wait on the network may want many more threads than
cores, and a run on 4,096 threads took about 70 MB more than one on a single thread;
10**9 threads would exhaust the machine."""


def max_process_workers() -> int:
    """The most worker processes, or workers of a local Dask cluster: 64 per CPU of this
    machine. Each is a Python interpreter of tens of MB; beyond a few per core they only
    compete for it, and 10**9 of them would fork-bomb the machine."""
    return 64 * (os.cpu_count() or 1)


def chosen_executor(
    executor: str | Executor | None, workers: int | None, address: str | None
) -> str | Executor:
    """The executor a run uses: ``executor`` itself when one is named; otherwise
    ``"dask"`` when a scheduler ``address`` is given, ``"processes"`` for more than one
    worker, and ``"serial"`` for one worker or None.

    >>> chosen_executor(None, 4, None), chosen_executor(None, None, None)
    ('processes', 'serial')
    >>> chosen_executor(None, 2, "tcp://head:8786"), chosen_executor("threads", 4, None)
    ('dask', 'threads')
    """
    if executor is not None:
        return executor
    if address is not None:
        return "dask"
    if is_whole(workers, 2):
        return "processes"
    return "serial"


def make_executor(
    executor: str | Executor | None,
    workers: int | None,
    trial_timeout: float | None = None,
    address: str | None = None,
) -> Executor:
    """Turn a name (``"serial"``, ``"threads"``, ``"processes"``, ``"simulated"``,
    ``"dask"``; None: the one `chosen_executor` picks) into an executor with ``workers``
    workers; pass an executor object through unchanged. ``trial_timeout`` needs an executor
    that can stop a running trial; ``address`` (a Dask scheduler's) goes with ``"dask"``
    only."""
    executor = chosen_executor(executor, workers, address)
    if address is not None and executor != "dask":
        raise ValueError(
            "address is the Dask scheduler's: it needs executor='dask' (or none named), "
            f"got {executor!r}"
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
    if workers is not None:
        _check_bound(executor, workers, address)
    if executor == "serial":
        if workers not in (None, 1):
            raise ValueError(
                f"executor='serial' runs one job at a time; got workers={workers}; "
                "leave executor out or name 'processes'"
            )
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


def _check_bound(executor: str, workers: int, address: str | None) -> None:
    """Refuse a number of workers no machine could run: a sanity bound against typos such
    as 10**9, far above any real use. A running Dask cluster (``address``) is not bounded:
    there, workers only caps the trials in flight."""
    if executor == "simulated":
        most, what = MAX_SIMULATED_WORKERS, "virtual workers"
    elif executor == "threads":
        most, what = MAX_THREADS, "threads"
    elif executor == "processes" or (executor == "dask" and address is None):
        most, what = max_process_workers(), f"processes on {os.cpu_count() or 1} CPUs"
    else:
        return
    if workers > most:
        raise ValueError(
            f"workers must be at most {most:,} for executor={executor!r} ({what}), got {workers:,}"
        )


def use_resources(executor: Executor, resources: Any) -> Resources | None:
    """Give every trial of ``executor`` the per-trial ``resources`` (``{"cpus": 2, "gpus":
    1}``), where the executor can honour them (processes, dask: those that are
    `UsesResources`); return them checked.

    Raises:
        ValueError: the resources are malformed, the executor cannot honour them, or no
            worker could ever run such a trial.
    """
    checked = parse_resources(resources)
    if checked is None:
        return None
    if not isinstance(executor, UsesResources):
        raise ValueError(
            f"resources need executor='processes' or 'dask', got {type(executor).__name__}"
        )
    executor.use_resources(checked)
    return checked
