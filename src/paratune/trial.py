"""The records that cross boundaries: what to run (`Job`), what happened (`Event`) and the
stored outcome (`Trial`). All are immutable; a changed trial is a new `Trial`.

They are named tuples rather than frozen dataclasses: the loop makes several per trial and a
named tuple is built (and pickled for a worker process) several times faster, which is most
of the per-trial cost for a cheap objective."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple


class _NoMetrics(Mapping[str, Any]):
    """The metrics of a trial that has none besides its value: empty, read-only, shared by
    every such trial (no dict per trial), and pickled or copied as that one object (a trial
    is pickled to a worker, or with a user's results)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "_NO_METRICS"  # the module's global of that name: the same object


_NO_METRICS: Mapping[str, Any] = _NoMetrics()

Config = dict[str, Any]
"""A configuration: parameter name to value."""


class Status(enum.StrEnum):
    """Where a trial stands."""

    RUNNING = "running"
    """Submitted to an executor (queued or running there)."""
    DONE = "done"
    """Finished with a valid value of the tuned metric."""
    FAILED = "failed"
    """Raised, crashed or returned an invalid value, with no retry left."""
    CANCELLED = "cancelled"
    """Stopped by paratune because a stopping rule ended the run (target reached, time up)."""
    INTERRUPTED = "interrupted"
    """Cut short by the user (Ctrl-C, SIGINT or SIGTERM): run again, with the same config
    and seed, when the experiment is resumed."""
    PRUNED = "pruned"
    """Stopped early by a scheduler (the stopping variant of ASHA, say); its value is that of
    its last report, at the budget it reached."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a scheduler asks to run next.

    Attributes:
        config: the configuration to evaluate.
        budget: the budget the job must reach (None: the objective's own full budget).
        trial_id: an existing trial to continue (None: a new trial).
        start_step: where a continued trial resumes.
    """

    config: Config
    budget: float | None = None
    trial_id: int | None = None
    start_step: int = 0


class Job(NamedTuple):
    """One attempt of one trial, as handed to an executor.

    Attributes:
        trial_id: the trial this job belongs to.
        attempt: 1 for the first run, 2 for the first retry, ...
        config: the configuration to evaluate.
        seed: the trial's seed, derived from the experiment seed and the trial id.
        budget: the budget the job must reach, or None.
        start_step: where a resumed job starts.
        checkpoint: the file the trial's checkpoint is saved to and loaded from (None: the
            run keeps no checkpoints).
    """

    trial_id: int
    attempt: int
    config: Config
    seed: int
    budget: float | None = None
    start_step: int = 0
    checkpoint: str | None = None


class Report(NamedTuple):
    """An intermediate result, from ``ctx.report(step, **metrics)`` or the end of a job.

    Attributes:
        trial_id: the reporting trial.
        attempt: the job's attempt.
        step: how far the trial got (an epoch count, say).
        metrics: the reported metrics.
        time: when it was reported: the executor's clock in an executor, seconds since the
            start of the experiment once stored.
    """

    trial_id: int
    attempt: int
    step: int
    metrics: Mapping[str, Any]
    time: float


class Event(NamedTuple):
    """What an executor reports when a job ends.

    Times are seconds on the executor's clock (`Clock.now`). ``result`` is the objective's raw
    return value; the tuner, not the executor, decides whether it is valid.

    Attributes:
        trial_id: the job's trial.
        attempt: the job's attempt.
        ok: False when the objective raised or its worker died.
        result: what the objective returned (None when not ``ok``).
        error: a one-line reason when not ``ok``.
        traceback: the formatted traceback when not ``ok``.
        started: when the objective started.
        finished: when it returned or failed.
        worker: index of the worker slot that ran it.
        cancelled: True when the job was stopped by a cancellation.
        host: the machine that ran the job (None when not known).
        pid: the process that ran the job (None when not known).
        pruned: True when a scheduler stopped the job at a report; ``result`` is then the
            metrics of that last report.
        checkpoint_step: the step of the checkpoint the job saved (None: it saved none).
        cpu_time: CPU seconds used while the objective ran (None when not measured).
        peak_memory: peak resident memory in bytes of the worker process while the objective
            ran, where the job had a process to itself (processes, Linux); None where jobs
            share a process (serial, simulated, threads): its peak only grows, so a job under
            an earlier peak would read as using nothing.
        moved: how many times the job was sent to another worker because the one running
            it was lost (Dask's ``worker_loss_retries``); 0 elsewhere.
    """

    trial_id: int
    attempt: int
    ok: bool
    result: Any
    started: float
    finished: float
    worker: int
    error: str | None = None
    traceback: str | None = None
    cancelled: bool = False
    host: str | None = None
    pid: int | None = None
    pruned: bool = False
    checkpoint_step: int | None = None
    cpu_time: float | None = None
    peak_memory: int | None = None
    moved: int = 0


class Trial(NamedTuple):
    """A trial as stored: one configuration and what became of it.

    Times are seconds since the start of the run.

    Attributes:
        trial_id: 0, 1, 2, ... in order of creation.
        config: the configuration.
        seed: the trial's seed.
        status: see `Status`.
        value: the tuned metric as the objective returned it (None unless DONE).
        metrics: every metric the objective returned as a dict (empty when it returned a
            single number, which is `value`).
        attempts: how many times it was run (1 + retries used).
        budget: the budget reached, or None.
        submitted: when its latest attempt was submitted.
        started: when its latest attempt started on a worker.
        finished: when its latest attempt ended.
        worker_time: worker seconds spent on it over all attempts.
        worker: the worker slot that ran its latest attempt.
        host: the machine that ran it.
        pid: the process that ran it.
        error: why it failed (latest attempt).
        traceback: the traceback of the latest failure.
        checkpoint_step: the step its saved checkpoint reaches (None: no checkpoint).
        cpu_time: CPU seconds its jobs used, over all attempts (None when not measured).
        peak_memory: the highest peak resident memory of its jobs, in bytes, where each had
            a process to itself (None when not measured: see `Event.peak_memory`).
        moved: how many times its jobs were run again on another worker because the one
            running them was lost (Dask), over all attempts; not counted in ``attempts``.
    """

    trial_id: int
    config: Config
    seed: int
    status: Status
    value: float | None = None
    metrics: Mapping[str, Any] = _NO_METRICS
    attempts: int = 1
    budget: float | None = None
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None
    worker_time: float = 0.0
    worker: int | None = None
    host: str | None = None
    pid: int | None = None
    error: str | None = None
    traceback: str | None = None
    checkpoint_step: int | None = None
    cpu_time: float | None = None
    peak_memory: int | None = None
    moved: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds the latest attempt ran, or None if it has not ended."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started
