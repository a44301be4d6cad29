"""What a run did with its workers, computed from its trials (no plotting here: `plots`
draws these tables, `report` puts them in a page).

Every function takes a `TuneResult`, as `paratune.tune` returns it or `paratune.load` reads
it from a store. Times are seconds since the run started, on the run's clock (virtual
seconds for a simulated run).

>>> import paratune as pt
>>> from paratune import analysis
>>> def objective(config, ctx):
...     ctx.elapse(config["seconds"])
...     return config["seconds"]
>>> result = pt.tune(objective, {"seconds": pt.Choice([3, 1, 2])}, searcher="grid",
...                  executor="simulated", workers=2, store=None)
>>> summary = analysis.efficiency_summary(result)
>>> summary.wall_time, summary.busy_time, summary.concurrency
(3.0, 6.0, 2.0)
>>> analysis.what_if(result, workers=[1, 2, 4])["time"].tolist()
[6.0, 3.0, 3.0]
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

# Re-exported: the hypervolume of a run with several metrics is analysed here too.
from ._hypervolume import hypervolume_curve as hypervolume_curve
from ._hypervolume import reference_point as reference_point
from .trial import Status, Trial

if TYPE_CHECKING:
    import pandas as pd

    from .result import TuneResult

# Statuses whose latest attempt did the work the run was for.
_USEFUL = frozenset({"done", "pruned"})


def best_so_far(result: TuneResult) -> pd.DataFrame:
    """The best value found against wall time: one row per finished trial, in the order
    they finished.

    Returns:
        A DataFrame with ``time`` (when the trial finished), ``trial_id``, ``value`` and
        ``best`` (the best value of the trials finished by then).
    """
    import pandas as pd

    done = sorted(
        (t for t in result.trial_list if t.status is Status.DONE and t.value is not None),
        key=lambda t: (t.finished if t.finished is not None else 0.0, t.trial_id),
    )
    frame = pd.DataFrame(
        {
            "time": [t.finished for t in done],
            "trial_id": [t.trial_id for t in done],
            "value": [t.value for t in done],
        },
        columns=["time", "trial_id", "value"],
    ).astype({"time": float, "trial_id": "int64", "value": float})
    values = frame["value"]
    frame["best"] = values.cummin() if result.mode == "min" else values.cummax()
    return frame


def timeline(result: TuneResult) -> pd.DataFrame:
    """Each trial's latest attempt as a bar on its worker, as a trace view draws it.

    Returns:
        A DataFrame with ``worker``, ``trial_id``, ``status``, ``start``, ``end``, sorted by
        worker and start. Trials that never reached a worker, and trials still running,
        are left out.
    """
    import pandas as pd

    rows = [
        (t.worker, t.trial_id, t.status.value, t.started, t.finished)
        for t in _ran(result.trial_list)
    ]
    frame = pd.DataFrame(rows, columns=["worker", "trial_id", "status", "start", "end"])
    frame = frame.astype({"worker": "int64", "trial_id": "int64", "start": float, "end": float})
    return frame.sort_values(["worker", "start"], ignore_index=True)


def utilisation(result: TuneResult) -> pd.DataFrame:
    """How many workers were busy over time, as a step function.

    Returns:
        A DataFrame with ``time`` and ``busy`` (workers running a trial from that time until
        the next row's time) and ``utilisation`` (``busy / workers``). It starts at 0 and
        ends at the run's wall time with ``busy`` 0.
    """
    import pandas as pd

    changes: dict[float, int] = {0.0: 0}
    for t in _ran(result.trial_list):
        assert t.started is not None and t.finished is not None  # _ran keeps only these
        changes[t.started] = changes.get(t.started, 0) + 1
        changes[t.finished] = changes.get(t.finished, 0) - 1
    end = max([result.wall_time, *changes])
    changes.setdefault(end, 0)
    times = sorted(changes)
    busy, running = [], 0
    for time in times:
        running += changes[time]
        busy.append(running)
    frame = pd.DataFrame({"time": times, "busy": busy})
    frame["utilisation"] = frame["busy"] / max(1, result.workers)
    return frame


@dataclass(frozen=True)
class EfficiencySummary:
    """How a run used its workers, and where the worker-time it did not use for results went.

    It says how busy the workers were, not how much faster the run was than a sequential
    one: that speedup (and the efficiency, speedup / workers) is `what_if`'s prediction
    from the recorded durations, or what ``paratune scaling`` measures.

    The capacity (``workers x wall_time`` worker-seconds) is split into busy time (useful,
    failed, retried and cancelled work), the absence of workers the executor lost (a Dask
    worker gone until another joins) and idle time (start-up, between trials, and the
    tail). The parts add up to the capacity.

    Attributes:
        workers: the run's worker count.
        wall_time: seconds from the start of the run to its end.
        capacity: ``workers x wall_time``: the worker-seconds the run had.
        busy_time: worker-seconds spent in objectives (every attempt).
        concurrency: ``busy_time / wall_time``: how many workers were busy on average.
        utilisation: ``concurrency / workers``: the share of the capacity spent in
            objectives (1.0: no worker ever waited).
        useful_time: worker-seconds of trials that gave a result (their latest attempt, and
            every budget of a trial a multi-fidelity scheduler continued).
        failed_time: worker-seconds of trials that failed for good (every attempt).
        retried_time: worker-seconds of earlier attempts of trials that were run again.
        cancelled_time: worker-seconds of trials cancelled when the run stopped.
        idle_time: ``capacity - busy_time - lost_time``.
        startup_idle: idle worker-seconds before each worker's first trial (starting the
            pool and sending the first jobs).
        between_idle: idle worker-seconds between a worker's trials: the driver recording a
            result and choosing and sending the next (scheduler overhead), or nothing to run
            yet (a synchronous batch waiting for its slowest trial, a searcher waiting for
            results).
        tail_idle: idle worker-seconds after each worker's last trial: no work left for it
            while the other workers finish (waiting for work), and shutting down.
        lost_time: worker-seconds during which lost workers were absent (capacity asked
            for that the run did not have: neither busy nor idle), at most what busy time
            leaves of the capacity (a departing worker may end its last job after the run
            counted it absent: that time is busy).
    """

    workers: int
    wall_time: float
    capacity: float
    busy_time: float
    concurrency: float
    utilisation: float
    useful_time: float
    failed_time: float
    retried_time: float
    cancelled_time: float
    idle_time: float
    startup_idle: float
    between_idle: float
    tail_idle: float
    lost_time: float = 0.0

    @property
    def speedup(self) -> float:
        """Deprecated: `concurrency`, busy worker-time over wall time (not a speedup
        against a sequential run)."""
        _deprecated("EfficiencySummary.speedup", "EfficiencySummary.concurrency")
        return self.concurrency

    @property
    def efficiency(self) -> float:
        """Deprecated: `utilisation`, busy worker-time over capacity (not an efficiency
        against a sequential run)."""
        _deprecated("EfficiencySummary.efficiency", "EfficiencySummary.utilisation")
        return self.utilisation

    def breakdown(self) -> pd.DataFrame:
        """The capacity split into its parts: ``part``, ``seconds`` (worker-seconds) and
        ``share`` (of the capacity); "lost workers (absent)" only when some were."""
        import pandas as pd

        parts = [
            ("useful work", self.useful_time),
            ("failed work", self.failed_time),
            ("retried work (earlier attempts)", self.retried_time),
            ("cancelled work", self.cancelled_time),
            ("idle: start-up", self.startup_idle),
            ("idle: between trials (overhead)", self.between_idle),
            ("idle: waiting for work", self.tail_idle),
        ]
        if self.lost_time > 0:  # only where the executor lost workers: rare, and not idle
            parts.insert(4, ("lost workers (absent)", self.lost_time))
        frame = pd.DataFrame(parts, columns=["part", "seconds"])
        frame["share"] = frame["seconds"] / self.capacity if self.capacity > 0 else 0.0
        return frame


def efficiency_summary(result: TuneResult) -> EfficiencySummary:
    """How busy the run's workers were (`EfficiencySummary.concurrency` and
    `EfficiencySummary.utilisation`) and where the rest of their time went.

    Busy time is split by what became of each trial: the latest job of a trial with a
    result is useful, and so are the lower budgets of a trial a multi-fidelity scheduler
    continued; every attempt of a failed trial is failed work; the earlier attempts of a
    trial that was retried are retried work; a cancelled job is cancelled work.
    Idle time is split by each worker's timeline: before its first trial, between its
    trials, and after its last one. The store keeps each trial's latest attempt only, so in
    a run with retries the idle split is an estimate (the totals stay exact).
    """
    useful, failed, retried, cancelled = _busy_parts(result.trial_list)
    workers, wall = result.workers, result.wall_time
    capacity = workers * wall
    busy = result.busy_time
    lost = max(0.0, min(result.lost_time, capacity - busy))  # busy or absent: busy wins
    idle = max(0.0, capacity - busy - lost)
    startup, tail = _idle_ends(result.trial_list, workers, wall, idle)
    return EfficiencySummary(
        workers=workers,
        wall_time=wall,
        capacity=capacity,
        busy_time=busy,
        concurrency=busy / wall if wall > 0 else 0.0,
        utilisation=busy / capacity if capacity > 0 else 0.0,
        useful_time=useful,
        failed_time=failed,
        retried_time=retried,
        cancelled_time=cancelled,
        idle_time=idle,
        startup_idle=startup,
        between_idle=max(0.0, idle - startup - tail),
        tail_idle=tail,
        lost_time=lost,
    )


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated: it is {new} (busy worker-time, not a comparison with a "
        "sequential run); the speedup and efficiency against a sequential run come from "
        "what_if (predicted) or paratune scaling (measured)",
        DeprecationWarning,
        stacklevel=3,
    )


def _busy_parts(trials: Iterable[Trial]) -> tuple[float, float, float, float]:
    """Busy worker-time split by what became of each trial: useful, failed, retried and
    cancelled (see `efficiency_summary`)."""
    useful = failed = retried = cancelled = 0.0
    for t in trials:
        latest = (t.duration or 0.0) if t.status is not Status.RUNNING else 0.0
        # Worker-time before the latest job: earlier attempts (a retry), or the lower
        # budgets of a trial a multi-fidelity scheduler continued, which is useful work.
        earlier = max(0.0, t.worker_time - latest)
        if t.status is Status.FAILED:
            failed += latest
        elif t.status in (Status.CANCELLED, Status.INTERRUPTED):
            cancelled += latest
        else:
            useful += latest
        if t.attempts <= 1:
            useful += earlier
        elif t.status is Status.FAILED:
            failed += earlier
        else:
            retried += earlier
    return useful, failed, retried, cancelled


def _idle_ends(
    trials: Iterable[Trial], workers: int, wall: float, idle: float
) -> tuple[float, float]:
    """The idle worker-time before each worker's first trial and after its last one (within
    ``idle``, the run's total idle time)."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for t in _ran(trials):
        w = t.worker
        assert w is not None and t.started is not None and t.finished is not None
        first[w] = min(first.get(w, t.started), t.started)
        last[w] = max(last.get(w, t.finished), t.finished)
    startup = sum(max(0.0, first[w]) for w in first)
    # A worker that never ran a trial waited for work the whole run.
    tail = sum(max(0.0, wall - last[w]) for w in last) + wall * max(0, workers - len(last))
    # Only each trial's latest attempt is on record, so with retries these are estimates:
    # the tail (from the latest attempts, which come last) is trusted before the start-up.
    tail = min(tail, idle)
    return min(startup, idle - tail), tail


@dataclass(frozen=True)
class Resources:
    """What a run cost, in the units a cluster's accounting uses.

    Attributes:
        run_core_hours: ``workers x wall_time`` in hours: what the run held.
        trial_core_hours: worker-hours spent in objectives (every attempt).
        cpu_hours: CPU hours the objectives used, summed over trials, where the workers
            recorded it (None when no trial has a CPU time).
        peak_memory: the largest peak resident memory of any trial, in bytes (None when no
            trial has one).
    """

    run_core_hours: float
    trial_core_hours: float
    cpu_hours: float | None
    peak_memory: int | None


def resources(result: TuneResult) -> Resources:
    """Core-hours of the run and of its trials, CPU time and peak memory (see `Resources`);
    `trial_resources` gives them trial by trial."""
    cpu = [t.cpu_time for t in result.trial_list if t.cpu_time is not None]
    memory = [t.peak_memory for t in result.trial_list if t.peak_memory is not None]
    return Resources(
        run_core_hours=result.workers * result.wall_time / 3600.0,
        trial_core_hours=result.busy_time / 3600.0,
        cpu_hours=sum(cpu) / 3600.0 if cpu else None,
        peak_memory=max(memory) if memory else None,
    )


def trial_resources(result: TuneResult) -> pd.DataFrame:
    """One row per trial: ``trial_id``, ``status``, ``worker_time`` (seconds, every
    attempt), ``cpu_time`` (CPU seconds, every attempt, as the worker that ran it measured;
    NaN where not recorded) and ``peak_memory`` (bytes, the highest of its attempts; NaN
    where not recorded)."""
    import pandas as pd

    trials = result.trial_list
    return pd.DataFrame(
        {
            "trial_id": [t.trial_id for t in trials],
            "status": [t.status.value for t in trials],
            "worker_time": [t.worker_time for t in trials],
            "cpu_time": [_number(t.cpu_time) for t in trials],
            "peak_memory": [_number(t.peak_memory) for t in trials],
        },
        columns=["trial_id", "status", "worker_time", "cpu_time", "peak_memory"],
    ).astype({"worker_time": float, "cpu_time": float, "peak_memory": float})


def learning_curves(result: TuneResult) -> pd.DataFrame:
    """Every intermediate result (``ctx.report``) with how its trial ended.

    Returns:
        ``result.reports`` (``trial_id``, ``step``, ``time``, one ``metric.<name>`` column
        per reported metric) with ``status`` (the trial's) added, sorted by trial and step.
    """
    frame = result.reports.copy()
    status = {t.trial_id: t.status.value for t in result.trial_list}
    frame["status"] = [status.get(int(i), "running") for i in frame["trial_id"]]
    return frame.sort_values(["trial_id", "step"], ignore_index=True)


def what_if(result: TuneResult, workers: Iterable[int] | None = None) -> pd.DataFrame:
    """Predict the run on other worker counts: its recorded trial durations are replayed in
    trial order, each handed to the first free worker as the real loop does, with no
    overhead (as the `Simulated` executor would run them).

    A trial's duration is its worker-time over every attempt (and, for a trial a
    multi-fidelity scheduler continued, over every budget it reached), replayed as one job.

    Args:
        result: the run to replay.
        workers: the worker counts (default: 1, 2, 4, ... up to twice the run's workers).

    Returns:
        A DataFrame with ``number_of_workers``, ``time`` (predicted wall time),
        ``speedup_vs_sequential`` (the 1-worker prediction, which is the trials' total
        worker-time, over ``time``) and ``efficiency`` (speedup / workers): the columns of
        `paratune scaling`.

    Raises:
        ValueError: a worker count is not a positive integer.
    """
    counts = _worker_counts(workers, default_up_to=2 * max(1, result.workers))
    # Trials that never ran took no worker time in the real run either.
    jobs = [t.worker_time for t in result.trial_list if t.worker_time > 0]
    sequential = sum(jobs)
    times = [_replay(jobs, n) for n in counts]
    return scaling_table(counts, times, sequential=sequential)


def scaling_table(
    workers: Sequence[int],
    times: Sequence[float],
    *,
    sequential: float | None = None,
    startup: Sequence[float] | None = None,
) -> pd.DataFrame:
    """The table `paratune scaling` prints: ``number_of_workers``, ``time``,
    ``speedup_vs_sequential`` (``sequential / time``) and ``efficiency`` (speedup /
    workers), and ``startup`` when given.

    Args:
        workers: worker counts, in any order.
        times: the wall time at each count.
        sequential: the time of the sequential run (default: the time at 1 worker).
        startup: the seconds each count's pool took to start and warm up, kept apart from
            ``time`` (see `paratune.scaling.measure_scaling`).

    Raises:
        ValueError: the lengths differ, or there is no sequential time to compare with.
    """
    import pandas as pd

    if len(workers) != len(times) or (startup is not None and len(startup) != len(times)):
        raise ValueError(f"{len(workers)} worker counts but {len(times)} times")
    if sequential is None:
        if 1 not in workers:
            raise ValueError("workers must include 1: speedups are against the 1-worker time")
        sequential = times[list(workers).index(1)]
    frame = pd.DataFrame({"number_of_workers": list(workers), "time": list(times)})
    frame = frame.astype({"number_of_workers": "int64", "time": float})
    frame["speedup_vs_sequential"] = [sequential / t if t > 0 else float("nan") for t in times]
    frame["efficiency"] = frame["speedup_vs_sequential"] / frame["number_of_workers"]
    if startup is not None:
        frame["startup"] = [float(s) for s in startup]
    return frame


def _replay(jobs: list[float], workers: int) -> float:
    """The virtual wall time of ``jobs`` (seconds each) run in order on ``workers``: each
    starts when the first worker is free, as the `Simulated` executor runs them with no
    overhead (list scheduling, on a heap of the workers' free times: a second for a million
    jobs, where a tuning run per worker count took minutes)."""
    if not jobs:
        return 0.0
    free = [0.0] * min(workers, len(jobs))
    for seconds in jobs:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


def _worker_counts(workers: Iterable[int] | None, *, default_up_to: int) -> list[int]:
    if workers is None:
        counts, n = [], 1
        while n <= default_up_to:
            counts.append(n)
            n *= 2
        return counts
    counts = list(workers)
    for n in counts:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"workers: each count must be an integer >= 1, got {n!r}")
    if not counts:
        raise ValueError("workers: give at least one worker count")
    return counts


def _ran(trials: Iterable[Trial]) -> list[Trial]:
    """Trials whose latest attempt ran on a worker and ended."""
    return [
        t
        for t in trials
        if t.status is not Status.RUNNING
        and t.started is not None
        and t.finished is not None
        and t.worker is not None
        and t.worker >= 0
    ]


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)
