"""Strong scaling of one experiment: the same spec run at several worker counts (or its
recorded trials replayed there), tabled as time, speedup against the sequential run and
efficiency, as published studies do by hand.

A measured run is timed on a warm pool. For each count the workers are started and each
runs one untimed warm-up trial (`WARM_UP`), so what a worker pays once (imports, a
library's first call, a cache filled on first use, a per-worker setup) is paid before the
clock starts; then the timed run goes on the same workers. Each count gets a pool of its
own, so the order of the counts does not matter, and the start-up is tabled apart from the
run (``startup``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checks import is_whole, naming_errors
from .errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from .context import Clock
    from .executors import Executor, ReportHandler
    from .result import TuneResult
    from .trial import Event, Job, Report

WARM_UP = (
    "each count runs on a warm pool: its workers are started and run one untimed warm-up "
    "trial each before the clock starts (start-up is shown apart from the run)"
)
"""How a measured run is warmed up, in the words `paratune scaling` prints. A per-worker
``setup`` runs before a worker's first trial, so within the warm-up too."""

# The spec's executor options that shape the pool: applied when the pool is built, not
# passed on to each run (a run given a built pool takes none of them).
_POOL_OPTIONS = ("executor", "workers", "trial_timeout", "address", "resources")


def measure_scaling(
    spec: str | os.PathLike[str],
    workers: Sequence[int],
    *,
    overrides: dict[str, Any] | None = None,
    on_run: Callable[[int, TuneResult], None] | None = None,
    on_warm: Callable[[int, float], None] | None = None,
    warm_up: bool = True,
) -> pd.DataFrame:
    """Run the experiment of ``spec`` once at each worker count, from scratch and in memory
    (the store is left alone), each on a warm pool of its own (see `WARM_UP`), and table
    the timed runs' wall times against the 1-worker one.

    Args:
        spec: the run spec (see `paratune run`). A spec that names no executor runs on
            processes at every count, 1 included, so the counts compare like with like.
        workers: the worker counts, in any order; 1 must be among them (the sequential time).
        overrides: `tune` arguments that replace the spec's (``max_trials``, ``executor``).
        on_run: called after each timed run with the worker count and its result.
        on_warm: called once each pool is warm with the worker count and its start-up
            seconds (starting the pool and the warm-up trials).
        warm_up: False times each run from a cold pool instead, start-up included.

    Returns:
        The table of `paratune.analysis.scaling_table`, with ``startup``: the seconds each
        pool took to start and warm up (0 on a virtual clock, which pays no one-off costs;
        with ``warm_up`` False, 0, as start-up is then inside ``time``).

    Raises:
        SpecError: the spec is invalid, 1 is not among the counts, or the spec's executor
            runs one trial at a time.
    """
    from .analysis import scaling_table

    _check_counts(workers)
    arguments = _measured_arguments(spec, workers, overrides)
    times, startups = [], []
    for n in workers:
        startup, result = _run_on_warm_pool(
            {**arguments, "name": f"{Path(spec).stem}-scaling-{n}"}, n, warm_up=warm_up
        )
        if on_warm is not None and warm_up:
            on_warm(n, startup)
        if on_run is not None:
            on_run(n, result)
        times.append(result.wall_time)
        startups.append(startup)
    return scaling_table(list(workers), times, startup=startups)


def _measured_arguments(
    spec: str | os.PathLike[str], workers: Sequence[int], overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """`tune`'s arguments for the measured runs, checked before any of them starts."""
    from .spec import load_run_spec

    kwargs = {**load_run_spec(spec), **(overrides or {})}
    if kwargs.get("executor") is None:  # as tune chooses for more than one worker
        kwargs["executor"] = "dask" if kwargs.get("address") else "processes"
    executor = kwargs["executor"]
    if not isinstance(executor, str):
        raise SpecError("executor: scaling builds a pool per worker count: give it by name")
    if executor == "serial" and max(workers) > 1:
        raise SpecError(
            f"{spec}: executor 'serial' runs one trial at a time, so it cannot scale; "
            "give --executor threads or processes"
        )
    return {**kwargs, "store": None}


def _run_on_warm_pool(
    arguments: dict[str, Any], workers: int | None, *, warm_up: bool = True
) -> tuple[float, TuneResult]:
    """Run `tune` with ``arguments`` on ``workers`` workers (None: the executor's default)
    of a pool that is started and warmed up first (one untimed warm-up trial per worker, on
    the same objective, space and searcher, kept nowhere), so the run's ``wall_time`` and
    its trials' durations hold no start-up.

    Args:
        arguments: `tune`'s keyword arguments; ``executor`` by name (default: processes;
            ``trial_timeout``, ``address`` and ``resources`` shape the pool).
        workers: the pool's size.
        warm_up: False runs on a cold pool (no warm-up: start-up is in the run).

    Returns:
        The real seconds the pool took to start and warm up (0 without a warm-up, or on a
        virtual clock), and the run's result.
    """
    from ._api import tune

    began = time.perf_counter()
    pool, run = _build_pool(arguments, workers)
    try:
        if warm_up and not pool.clock.virtual:
            name = f"{run.get('name') or 'run'}-warm-up"
            tune(**{**run, **_WARM_UP_RUN, "max_trials": pool.workers, "name": name},
                 executor=pool)  # fmt: skip
            startup = time.perf_counter() - began
        else:
            startup = 0.0
        return startup, tune(**run, executor=pool)
    finally:
        pool.shut()


# What a warm-up run changes of the run it warms up for: it stops after one trial per
# worker, and is kept nowhere.
_WARM_UP_RUN: dict[str, Any] = {
    "max_time": None,
    "target": None,
    "store": None,
    "resume": False,
    "overwrite": False,
    "progress": False,
}


def _build_pool(
    arguments: dict[str, Any], workers: int | None
) -> tuple[_WarmPool, dict[str, Any]]:
    """The pool ``arguments`` ask for, and the arguments left for each run on it."""
    from .executors import make_executor, use_resources

    options = {key: arguments.get(key) for key in _POOL_OPTIONS}
    name = options["executor"] or "processes"
    with naming_errors("executor"):
        inner = make_executor(
            name, workers, trial_timeout=options["trial_timeout"], address=options["address"]
        )
    with naming_errors("resources"):
        use_resources(inner, options["resources"])
    rest = {key: value for key, value in arguments.items() if key not in _POOL_OPTIONS}
    return _WarmPool(inner, name), rest


class _WarmPool:
    """An executor kept started across several runs: the first run's `start` starts it,
    a later run's only takes its report handler; `close` (which every run calls at its
    end) leaves it running, and `shut` ends it.

    For runs of one objective, one after another (the pool keeps the objective it was
    started with): a warm-up run, then the timed one, as `_run_on_warm_pool` does.

    Args:
        inner: the executor to keep started.
        name: the name it was built from.
    """

    def __init__(self, inner: Executor, name: str) -> None:
        self._inner = inner
        self._name = name
        self._started = False
        self._on_report: ReportHandler | None = None

    def __repr__(self) -> str:
        # A run's stored settings keep an executor object by its repr: the name it was
        # built from keeps the experiment one that `paratune resume` can build again.
        return self._name

    @property
    def workers(self) -> int:
        """The inner executor's worker count."""
        return self._inner.workers

    @property
    def clock(self) -> Clock:
        """The inner executor's clock."""
        return self._inner.clock

    def start(self, objective: Any, on_report: ReportHandler | None = None, **more: Any) -> None:
        """Start the inner executor on the first call; on every call, send reports from now
        on to ``on_report``. ``more`` goes to the inner executor's first start."""
        self._on_report = on_report
        if not self._started:
            self._inner.start(objective, self._report, **more)
            self._started = True

    def _report(self, report: Report) -> bool:
        return self._on_report is None or self._on_report(report)

    def free_slots(self) -> int:
        """The inner executor's free slots."""
        return self._inner.free_slots()

    def submit(self, job: Job) -> None:
        """Submit to the inner executor."""
        self._inner.submit(job)

    def completed(self, timeout: float | None = None) -> list[Event]:
        """The inner executor's completed events."""
        return self._inner.completed(timeout)

    def cancel(self) -> list[Event]:
        """Cancel in the inner executor (after which only `shut` may follow)."""
        return self._inner.cancel()

    def close(self) -> None:
        """Leave the workers running for the next run: `shut` ends them."""

    def shut(self) -> None:
        """End the workers (safe to call twice)."""
        if self._started:
            self._started = False
            self._inner.close()


def simulate_scaling(
    spec: str | os.PathLike[str],
    workers: Sequence[int],
    *,
    overrides: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, TuneResult]:
    """Predict the scaling table from one real run: the spec runs as ``paratune run`` runs
    it (continuing its stored experiment, so an experiment already run is not run again),
    then its recorded trial durations are replayed at each worker count
    (`paratune.analysis.what_if`): the speedup is against the predicted 1-worker time, the
    durations' sum.

    Trials it runs, it runs on a warm pool (see `WARM_UP`; its warm-up trials are kept
    nowhere), so that a worker's one-off costs stay out of the durations replayed, unless
    the spec sets ``trial_timeout`` or ``address``, which a run given a built pool cannot
    keep in its stored settings. The durations of an experiment already run are replayed
    as recorded. Trials that slowed each other down on shared cores are replayed as slow on
    every count; `measure_scaling` measures that.

    Returns:
        The table, and the run it was predicted from.

    Raises:
        SpecError: the spec is invalid, or 1 is not among the counts.
    """
    from ._api import DEFAULT_STORE, tune
    from .analysis import what_if
    from .spec import load_run_spec

    _check_counts(workers)
    kwargs = {**load_run_spec(spec), **(overrides or {})}
    kwargs.setdefault("name", Path(spec).stem)
    kwargs.setdefault("store", DEFAULT_STORE)
    kwargs["resume"] = True
    executor = kwargs.get("executor", "serial")
    warm = (
        executor not in ("serial", "simulated")
        and isinstance(executor, str)
        and kwargs.get("trial_timeout") is None
        and kwargs.get("address") is None
        and _runs_trials(kwargs)
    )
    if warm:
        result = _run_on_warm_pool(kwargs, kwargs.get("workers"))[1]
    else:
        result = tune(**kwargs)
    return what_if(result, workers), result


def _runs_trials(kwargs: dict[str, Any]) -> bool:
    """Whether continuing the stored experiment of ``kwargs`` runs any trial: not for one
    that ended with nothing left to run."""
    from ._api import load
    from .errors import ParatuneError
    from .store._location import store_file
    from .tuner import StopReason

    store = kwargs["store"]
    if not isinstance(store, str | os.PathLike) or not Path(store_file(store)).is_file():
        return True
    try:
        stored = load(store, kwargs["name"])
    except ParatuneError:
        return True  # not there yet
    if stored.stop_reason in (StopReason.EXHAUSTED, StopReason.TARGET):
        return False
    limit = kwargs.get("max_trials")
    return stored.stop_reason is not StopReason.MAX_TRIALS or (
        limit is not None and len(stored.trial_list) < limit
    )


def _check_counts(workers: Sequence[int]) -> None:
    if not workers or not all(is_whole(n, 1) for n in workers):
        raise SpecError(f"workers: give positive integers, such as 1,2,4,8; got {workers!r}")
    if 1 not in workers:
        raise SpecError(
            "workers: include 1, the sequential run that speedups are measured against "
            f"(got {','.join(map(str, workers))})"
        )
