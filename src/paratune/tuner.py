"""The tuning loop: the only part that knows the searcher, scheduler, executor and store."""

from __future__ import annotations

import enum
import math
import numbers
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._folders import clear_checkpoints
from ._signals import signals_held, user_stops, winding_down
from ._storable import as_float, as_text, shown, unstorable
from .executors import Executor, Objective
from .schedulers import Scheduler
from .searchers import Searcher
from .seeding import trial_seed
from .space import Space
from .store import Experiment, RunTotals, Store
from .trial import _NO_METRICS, Config, Event, Job, Proposal, Report, Status, Trial


class StopReason(enum.StrEnum):
    """Why a run ended."""

    MAX_TRIALS = "max_trials"
    """``max_trials`` trials were run."""
    EXHAUSTED = "exhausted"
    """The searcher had nothing more to try (a finished grid, say)."""
    MAX_TIME = "max_time"
    """``max_time`` seconds passed."""
    TARGET = "target"
    """The metric reached ``target``."""
    INTERRUPTED = "interrupted"
    """Ctrl-C, SIGINT or SIGTERM: the trials it cut short run again on resume."""
    UNFINISHED = "unfinished"
    """Not ended (a stored run still running, or whose driver was killed): see `load`."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a run is judged and when it stops.

    Attributes:
        name: the experiment's name.
        metric: the key of the objective's result to tune (a float result is this metric).
        mode: ``"min"`` or ``"max"``.
        seed: the experiment seed; each trial's seed derives from it and the trial id.
        max_trials: stop creating trials after this many (None: no limit).
        max_time: stop after this many seconds of the executor's clock (None: no limit).
        target: stop once a trial's metric is at least this good (None: never).
        retries: how many times a failing trial is run again before it counts as failed.
        synchronous: run in batches of ``workers`` trials, each batch waiting for its slowest
            trial (for comparison; asynchronous is faster).
        resume: continue the stored experiment of this name (see `Store.open`).
        overwrite: replace the stored experiment of this name.
        objective: the objective's qualified name, kept to refuse resuming with another.
        details: other settings to keep with the experiment (JSON-able).
    """

    name: str = "experiment"
    metric: str = "value"
    mode: str = "min"
    seed: int = 0
    max_trials: int | None = None
    max_time: float | None = None
    target: float | None = None
    retries: int = 0
    synchronous: bool = False
    resume: bool = False
    overwrite: bool = False
    objective: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a run, handed to a progress callback.

    Attributes:
        elapsed: seconds since the run started (executor's clock).
        done: trials finished with a value.
        failed: trials failed for good.
        cancelled: trials cancelled by a stop.
        pruned: trials stopped early by the scheduler.
        running: trials in flight.
        max_trials: the trial limit, if any.
        workers: the executor's worker count.
        best_value: the best metric so far, or None.
        best_config: the configuration that gave it.
        finished: True on the last call, once the run has ended.
        interrupted: trials cut short by the user's stop, to run again on resume.
    """

    elapsed: float
    done: int
    failed: int
    cancelled: int
    pruned: int
    running: int
    max_trials: int | None
    workers: int
    best_value: float | None
    best_config: Config | None
    finished: bool = False
    interrupted: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What `Tuner.run` returns: the trials and how the run used its workers."""

    trials: list[Trial]
    wall_time: float
    busy_time: float
    cancelled_time: float
    workers: int
    stop_reason: StopReason
    searcher_time: float = 0.0
    suggestions: int = 0


# How often (real seconds) a progress callback is called while trials are running.
_PROGRESS_EVERY = 0.25


class Tuner:
    """Runs the loop: fill every free slot, take completions as they come, record each one
    before acting on it, retry failures, check the stopping rules, repeat.

    Trials are committed to the store in groups: the results taken together, with the trials
    started since the last commit, in one transaction, committed before the scheduler or
    searcher hears of any of them, and before the loop waits for more.

    Args:
        objective: ``objective(config)`` or ``objective(config, ctx)``.
        space: the search space.
        searcher: proposes configurations.
        scheduler: decides what runs next.
        executor: runs jobs and keeps the clock.
        store: keeps the trials.
        settings: the metric, the mode, the stopping rules, and how to open the experiment.
        progress: called with a `Progress` snapshot a few times a second and at the end.
        checkpoints: the folder for this experiment's checkpoints (one file per trial), or
            None to keep none.
    """

    def __init__(
        self,
        objective: Objective,
        *,
        space: Space,
        searcher: Searcher,
        scheduler: Scheduler,
        executor: Executor,
        store: Store,
        settings: RunSettings,
        progress: ProgressCallback | None = None,
        checkpoints: Path | None = None,
    ) -> None:
        self.objective = objective
        self.space = space
        self.searcher = searcher
        self.scheduler = scheduler
        self.executor = executor
        self.store = store
        self.settings = settings
        self.progress = progress
        self.checkpoints = checkpoints
        self._checkpoint_folder = str(checkpoints) if checkpoints is not None else ""
        self._sign = 1.0 if settings.mode == "min" else -1.0
        self._trials: dict[int, Trial] = {}  # the latest state of every trial
        self._running: dict[int, Trial] = {}  # trials not ended (in flight or queued)
        self._queued: deque[Job] = deque()  # retries, and trials resumed from a crash
        self._unsaved: list[Trial] = []
        self._unsaved_reports: list[Report] = []
        # Where each trial stood before the job now running continued it (a promotion).
        self._before: dict[int, Trial] = {}
        self._reported: dict[int, int] = {}  # trial id -> its latest reported step
        self._warned = False  # about reports without the tuned metric
        # Trials whose report the store cannot hold, and why: they fail when their job ends.
        self._poisoned: dict[int, str] = {}
        self._created = 0
        self._counts = dict.fromkeys(Status, 0)
        self._best: Trial | None = None
        self._best_key = math.inf
        self._busy = 0.0
        self._cancelled_time = 0.0
        self._searcher_time = 0.0  # real seconds in the searcher's suggest and observe
        self._suggestions = 0
        self._stop: StopReason | None = None
        self._t0 = 0.0
        self._offset = 0.0  # wall time of earlier sessions of a resumed experiment
        self._last_progress = 0.0

    # ---- the loop -------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Run until a stopping rule fires or there is nothing more to try."""
        settings, executor = self.settings, self.executor
        experiment = Experiment(
            settings.name,
            self.space.to_dict(),
            settings.metric,
            settings.mode,
            settings.seed,
            settings.objective,
            settings.details,
        )
        stored = self.store.open(experiment, resume=settings.resume, overwrite=settings.overwrite)
        if not stored and self.checkpoints is not None:
            clear_checkpoints(self.checkpoints)  # left by an earlier run; only if marked ours
        earlier = self.store.totals()
        self._offset, self._busy = earlier.wall_time, earlier.busy_time
        self._cancelled_time = earlier.cancelled_time
        self.searcher.setup(
            self.space,
            seed=settings.seed,
            workers=executor.workers,
            max_trials=settings.max_trials,
        )
        self._replay(stored)
        self._t0 = executor.clock.now()
        # A first stop while the run winds down finds it ending, and it ends as it was; a
        # second Ctrl-C stops it at once: the trials still marked running in the store
        # run again on resume, as after a crash.
        with user_stops():
            executor.start(self.objective, self._on_report)
            try:
                self._loop()
            except KeyboardInterrupt:
                self._stop = StopReason.INTERRUPTED
            finally:
                with winding_down():
                    failing = sys.exc_info()[1] is not None  # an error on its way out
                    self._wind_down()
                    wall, reason = self._elapsed(), self._reason()
                    if not failing:
                        self.store.finish(
                            RunTotals(wall, self._busy, self._cancelled_time,
                                      executor.workers, reason.value)
                        )  # fmt: skip
        self._report_progress(finished=True)
        trials = list(self._trials.values())
        return RunOutcome(
            trials,
            wall,
            self._busy,
            self._cancelled_time,
            executor.workers,
            reason,
            self._searcher_time,
            self._suggestions,
        )

    def _wind_down(self) -> None:
        """Stop what still runs, close the books, and stop the executor."""
        try:
            if self._running:
                self._take(self.executor.cancel())
            self._settle_leftovers()
        finally:
            self.executor.close()

    def _reason(self) -> StopReason:
        """Why the run ended: a stopping rule, else max_trials or nothing more to try."""
        limit = self.settings.max_trials
        if self._stop is not None:
            return self._stop
        if limit is not None and self._created >= limit:
            return StopReason.MAX_TRIALS
        return StopReason.EXHAUSTED

    def _replay(self, stored: list[Trial]) -> None:
        """Bring the searcher, scheduler and counters to where a resumed experiment stopped:
        the searcher's sequence moves on by one suggestion per stored trial, the scheduler
        sees each trial's reports again, ended trials are reported as if they had just
        ended, and trials that were running are queued again with the same config and seed
        (from their checkpoint, when they have one), the scheduler told where they stand."""
        by_id = {trial.trial_id: trial for trial in stored}
        reports: dict[int, list[Report]] = {}
        for report in self.store.reports():
            reports.setdefault(report.trial_id, []).append(report)
        self._created = max(by_id, default=-1) + 1
        for trial_id in range(self._created):
            self._ask_searcher()  # keep the sequence in step, whatever happened
            trial = by_id.get(trial_id)
            if trial is None:
                continue
            self._trials[trial_id] = trial
            for report in reports.get(trial_id, ()):
                self._reported[trial_id] = report.step
                value = self._loss(report.metrics)
                if value is not None:
                    self.scheduler.on_report(trial_id, report.step, value)
            if trial.status in (Status.RUNNING, Status.INTERRUPTED):
                # Both run again: the scheduler sees each as running, where it stood.
                trial = trial._replace(status=Status.RUNNING)
                self._running[trial_id] = trial
                self._queued.append(self._job(trial, trial.attempts))
                self.scheduler.on_result(trial._replace(value=None))
            else:
                self._ended(trial)
                self._notify(trial)

    def _job(self, trial: Trial, attempt: int) -> Job:
        """A job that runs ``trial`` again at its budget: from its checkpoint if it has one
        below that budget, else from the start."""
        start = trial.checkpoint_step or 0
        if trial.budget is None or start >= trial.budget:
            start = 0
        return Job(trial.trial_id, attempt, trial.config, trial.seed, trial.budget, start,
                   self._checkpoint(trial.trial_id))  # fmt: skip

    def _checkpoint(self, trial_id: int) -> str | None:
        if self.checkpoints is None:
            return None
        # Joined as text: a Path per job costs more than a trivial trial's whole run.
        return os.path.join(self._checkpoint_folder, f"trial-{trial_id}.pkl")

    def _suggest(self) -> Config | None:
        """A new configuration from the searcher, or None once ``max_trials`` exist."""
        limit = self.settings.max_trials
        if limit is not None and self._created >= limit:
            return None
        return self._ask_searcher()

    def _ask_searcher(self) -> Config | None:
        """``searcher.suggest()``, timed: what a suggestion costs is part of the picture."""
        start = time.perf_counter()
        config = self.searcher.suggest()
        self._searcher_time += time.perf_counter() - start
        self._suggestions += 1
        return config

    def _loop(self) -> None:
        executor = self.executor
        while True:
            if self._stop is None:
                self._fill()
            if not self._running or self._stop is not None:
                self._commit()
                return
            events = executor.completed(0)
            if not events:
                self._commit()  # nothing to share a transaction with: commit before waiting
                events = executor.completed(self._wait_timeout())
            self._take(events)
            if self.settings.max_time is not None and self._session() >= self.settings.max_time:
                self._stop = self._stop or StopReason.MAX_TIME
            if self.progress is not None:
                self._report_progress()

    def _fill(self) -> None:
        """Give every free slot a job: queued ones first, then what the scheduler proposes."""
        settings = self.settings
        if settings.synchronous:
            if self._running:
                return  # a batch waits for its slowest trial
            free = self.executor.workers
        else:
            free = self.executor.free_slots()
        while free > 0:
            # A user's stop between taking a job and recording it as running would lose
            # its trial (an id given out, never stored): it waits for the job to be kept.
            with signals_held():
                job = self._next_job()
                if job is None:
                    return
                self._start(job)
            self.executor.submit(job)  # outside: the serial executor runs the trial here
            free -= 1

    def _next_job(self) -> Job | None:
        """A queued job, else the one the scheduler proposes, or None for none now."""
        if self._queued:
            return self._queued.popleft()
        proposal = self.scheduler.next_job(self._suggest)
        return None if proposal is None else self._new_job(proposal)

    def _start(self, job: Job) -> None:
        """Record the trial of ``job`` as running, where it stood before (a promotion, a
        retry, a resumed trial)."""
        before = self._running.get(job.trial_id) or self._before.get(job.trial_id)
        trial = Trial(
            job.trial_id,
            job.config,
            job.seed,
            Status.RUNNING,
            before.value if before else None,
            before.metrics if before else _NO_METRICS,
            attempts=job.attempt,
            budget=job.budget,
            submitted=self._elapsed(),
            worker_time=before.worker_time if before else 0.0,
            error=before.error if before else None,
            traceback=before.traceback if before else None,
            checkpoint_step=before.checkpoint_step if before else None,
            cpu_time=before.cpu_time if before else None,
            peak_memory=before.peak_memory if before else None,
            moved=before.moved if before else 0,
        )
        self._keep(trial)
        self._running[job.trial_id] = trial

    def _new_job(self, proposal: Proposal) -> Job:
        """The first job of a new trial, or the job that continues a trial (a promotion)."""
        budget, start = proposal.budget, proposal.start_step
        if proposal.trial_id is None:
            trial_id = self._created
            self._created += 1
            seed = trial_seed(self.settings.seed, trial_id)
            self._before.pop(trial_id, None)
            return Job(trial_id, 1, proposal.config, seed, budget, start,
                       self._checkpoint(trial_id))  # fmt: skip
        before = self._trials.get(proposal.trial_id)
        if before is None or proposal.trial_id in self._running:
            state = "unknown" if before is None else "still running"
            raise RuntimeError(
                f"the scheduler asked to continue trial {proposal.trial_id}, which is {state}"
            )
        self._before[before.trial_id] = before
        self._counts[before.status] -= 1  # counted again when this job ends
        return Job(before.trial_id, 1, before.config, before.seed, budget, start,
                   self._checkpoint(before.trial_id))  # fmt: skip

    def _wait_timeout(self) -> float | None:
        """How long `completed` may wait: until max_time, and, in real time with a progress
        callback, until the next refresh."""
        timeout = None
        if self.settings.max_time is not None:
            timeout = max(0.0, self.settings.max_time - self._session())
        if self.progress is not None and not self.executor.clock.virtual:
            timeout = _PROGRESS_EVERY if timeout is None else min(timeout, _PROGRESS_EVERY)
        return timeout

    # ---- results ---------------------------------------------------------------------------

    def _take(self, events: list[Event]) -> None:
        """Record ended jobs, commit them, then let the scheduler and searcher see them,
        whole: a user's stop in the middle would leave an ended trial neither running nor
        recorded."""
        with signals_held():
            ended = [trial for event in events if (trial := self._record(event)) is not None]
            self._commit()
            for trial in ended:
                self._ended(trial)
                self._notify(trial)

    def _notify(self, trial: Trial) -> None:
        """Tell the scheduler and the searcher that a job of ``trial`` ended. Everything
        inside minimises: with mode="max" they see the value negated (the store keeps it as
        is)."""
        if self._sign < 0 and trial.value is not None:
            trial = trial._replace(value=-trial.value)
        self.scheduler.on_result(trial)
        start = time.perf_counter()
        self.searcher.observe(trial)
        self._searcher_time += time.perf_counter() - start

    def _record(self, event: Event) -> Trial | None:
        """The trial as this event leaves it; None if it is queued again for a retry."""
        running = self._running.pop(event.trial_id, None)
        if running is None:
            return None  # a late report of a job already accounted for
        spent = event.finished - event.started
        self._busy += spent
        status, value, metrics, error, tb = self._outcome(event)
        if status is Status.CANCELLED:
            self._cancelled_time += spent
        budget = running.budget
        if status is Status.PRUNED:  # stopped early: at the budget it reached
            budget = self._reported.get(event.trial_id, budget)
        start = self._t0 - self._offset
        trial = Trial(
            running.trial_id,
            running.config,
            running.seed,
            status,
            value,
            metrics,
            attempts=event.attempt,
            budget=budget,
            submitted=running.submitted,
            started=event.started - start,
            finished=event.finished - start,
            worker_time=running.worker_time + spent,
            worker=event.worker,
            host=event.host,
            pid=event.pid,
            error=error,
            traceback=tb,
            checkpoint_step=_latest(event.checkpoint_step, running.checkpoint_step),
            cpu_time=_total(running.cpu_time, event.cpu_time),
            peak_memory=_highest(running.peak_memory, event.peak_memory),
            moved=running.moved + event.moved,
        )
        if status is Status.RUNNING:  # failed, with a retry left
            self._keep(trial)
            self._running[trial.trial_id] = trial
            self._queued.append(self._job(trial, event.attempt + 1))
            return None
        before = self._before.pop(trial.trial_id, None)
        if status in (Status.CANCELLED, Status.INTERRUPTED) and before is not None:
            # A continuation stopped by the end of the run: the trial stays where it was.
            trial = before._replace(
                worker_time=trial.worker_time, cpu_time=trial.cpu_time,
                peak_memory=trial.peak_memory, checkpoint_step=trial.checkpoint_step,
            )  # fmt: skip
        elif status is Status.DONE and budget is not None:
            self._report_end(trial, event.attempt, budget)
        self._keep(trial)
        return trial

    def _outcome(
        self, event: Event
    ) -> tuple[Status, float | None, Mapping[str, Any], str | None, str | None]:
        """What an ended job means for its trial: its status (RUNNING: failed, with a retry
        left), value, metrics, error and traceback."""
        if event.trial_id in self._poisoned:
            return Status.FAILED, None, _NO_METRICS, self._poisoned.pop(event.trial_id), None
        if event.error is not None or event.traceback is not None:
            # Text from a worker may hold what UTF-8 cannot encode (a lone surrogate).
            event = event._replace(error=as_text(event.error), traceback=as_text(event.traceback))
        if self._stop is StopReason.INTERRUPTED and (event.cancelled or not event.ok):
            # The user's stop: the trial runs again on resume. A failure taken now may be
            # the stop's doing (a worker killed in the middle of a message), so it counts
            # as interrupted too: run again, it fails again if it was its own.
            return Status.INTERRUPTED, None, _NO_METRICS, event.error, event.traceback
        if event.cancelled:
            return Status.CANCELLED, None, _NO_METRICS, event.error, event.traceback
        if not event.ok:
            retry = event.attempt <= self.settings.retries and self._stop is None
            status = Status.RUNNING if retry else Status.FAILED
            return status, None, _NO_METRICS, event.error, event.traceback
        value, metrics, error = _read_result_safely(event.result, self.settings.metric)
        if error:
            return Status.FAILED, value, metrics, error, event.traceback
        return Status.PRUNED if event.pruned else Status.DONE, value, metrics, None, None

    def _report_end(self, trial: Trial, attempt: int, budget: float) -> None:
        """Record a job's result at its budget as a report (a rung result), unless the
        objective reported that step itself."""
        step = int(budget)
        if step != budget or self._reported.get(trial.trial_id) == step:
            return
        metrics = dict(trial.metrics) or {self.settings.metric: trial.value}
        self._reported[trial.trial_id] = step
        assert trial.finished is not None
        self._unsaved_reports.append(
            Report(trial.trial_id, attempt, step, metrics, trial.finished)
        )

    def _on_report(self, report: Report) -> bool:
        """Record a running job's report and ask the scheduler whether the trial goes on."""
        running = self._running.get(report.trial_id)
        if running is None or running.attempts != report.attempt:
            return True  # a job already accounted for
        if report.trial_id in self._poisoned:
            return False
        if problem := unstorable(report.metrics):
            self._poisoned[report.trial_id] = (
                f"its report at step {report.step} cannot be stored: {problem}"
            )
            return False  # the trial stops, and fails with that reason
        when = report.time - (self._t0 - self._offset)
        self._unsaved_reports.append(report._replace(metrics=dict(report.metrics), time=when))
        self._reported[report.trial_id] = report.step
        # Committed before the trial goes on: a checkpoint it saves after this report must
        # never be ahead of the store, or a resumed trial's learning curve would have a gap.
        self._commit()
        value = self._loss(report.metrics)
        if value is None and not self._warned and self.settings.metric not in report.metrics:
            self._warned = True
            keys = ", ".join(map(repr, report.metrics))
            warnings.warn(
                f"trial {report.trial_id} reported {keys} but not {self.settings.metric!r}, "
                "the tuned metric: the scheduler cannot judge it by its reports",
                stacklevel=1,
            )
        if value is None or self._stop is not None:
            return True
        return self.scheduler.on_report(report.trial_id, report.step, value)

    def _loss(self, metrics: Mapping[str, Any]) -> float | None:
        """The tuned metric of a report as a loss (negated for mode="max"), or None when the
        report does not carry a usable value of it."""
        raw = metrics.get(self.settings.metric)
        if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
            return None
        value = as_float(raw)  # None for an int too large for a float
        if value is None or not math.isfinite(value):
            return None
        return self._sign * value

    def _ended(self, trial: Trial) -> None:
        """Count an ended trial, keep the best, and check the target."""
        self._counts[trial.status] += 1
        if trial.value is None or trial.status is not Status.DONE:
            return
        key = self._sign * trial.value
        if key < self._best_key:
            self._best, self._best_key = trial, key
        target = self.settings.target
        if target is not None and key <= self._sign * target and self._stop is None:
            self._stop = StopReason.TARGET

    def _keep(self, trial: Trial) -> None:
        self._trials[trial.trial_id] = trial
        self._unsaved.append(trial)

    def _commit(self) -> None:
        if self._unsaved or self._unsaved_reports:
            self.store.save(self._unsaved, self._unsaved_reports)
            self._unsaved = []
            self._unsaved_reports = []

    def _settle_leftovers(self) -> None:
        """Close the books on trials the executor no longer holds when the run stops. After
        the user's stop, each is interrupted, to run again on resume. After a stopping rule,
        one waiting for a retry failed (its last error stands), and one queued after a
        resume was cancelled."""
        retrying = {job.trial_id for job in self._queued if job.attempt > 1}
        interrupted = self._stop is StopReason.INTERRUPTED
        now = self._elapsed()
        for trial in list(self._running.values()):
            before = self._before.pop(trial.trial_id, None)
            if interrupted and before is None:
                settled = trial._replace(status=Status.INTERRUPTED, finished=now)
            elif not interrupted and trial.trial_id in retrying and trial.error is not None:
                settled = trial._replace(status=Status.FAILED)
            elif before is not None:  # a continuation: the trial stays where it was
                settled = before._replace(worker_time=trial.worker_time)
            else:
                reason = "cancelled: the run stopped before it ended"
                settled = trial._replace(status=Status.CANCELLED, finished=now, error=reason)
            self._keep(settled)
            self._ended(settled)
        self._running.clear()
        self._queued.clear()
        self._commit()

    # ---- time and progress ---------------------------------------------------------------

    def _session(self) -> float:
        """Seconds since this session started."""
        return self.executor.clock.now() - self._t0

    def _elapsed(self) -> float:
        """Seconds since the experiment started, over all its sessions."""
        return self._offset + self._session()

    def _report_progress(self, *, finished: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not finished and now - self._last_progress < _PROGRESS_EVERY:
            return
        self._last_progress = now
        best = self._best
        self.progress(
            Progress(
                elapsed=self._elapsed(),
                done=self._counts[Status.DONE],
                failed=self._counts[Status.FAILED],
                cancelled=self._counts[Status.CANCELLED],
                pruned=self._counts[Status.PRUNED],
                running=len(self._running),
                max_trials=self.settings.max_trials,
                workers=self.executor.workers,
                best_value=best.value if best else None,
                best_config=best.config if best else None,
                finished=finished,
                interrupted=self._counts[Status.INTERRUPTED],
            )
        )


def _latest(new: int | None, old: int | None) -> int | None:
    return old if new is None else new


def _total(old: float | None, new: float | None) -> float | None:
    return new if old is None else old if new is None else old + new


def _highest(old: int | None, new: int | None) -> int | None:
    return new if old is None else old if new is None else max(old, new)


def _read_result_safely(
    result: Any, metric: str
) -> tuple[float | None, Mapping[str, Any], str | None]:
    """`_read_result`, where a result whose own code raises (a mapping that cannot be
    iterated, a number that cannot be a float) fails its trial rather than the driver."""
    try:
        return _read_result(result, metric)
    except Exception as exc:
        kind = type(result).__name__
        return (
            None,
            _NO_METRICS,
            f"the objective's result ({kind}) could not be read: {shown(exc)}",
        )


def _read_result(result: Any, metric: str) -> tuple[float | None, Mapping[str, Any], str | None]:
    """The tuned value, every metric, and an error if the result is not usable. A single
    number is the value alone: its trial keeps no metrics dict, which would only repeat it."""
    metrics: dict[str, Any] | None = None
    raw = result
    if isinstance(result, Mapping):
        metrics = dict(result)
        if problem := unstorable(metrics):
            return None, _NO_METRICS, f"the objective's result cannot be stored: {problem}"
        if metric not in metrics:
            keys = ", ".join(repr(k) for k in metrics) or "none"
            return None, metrics, f"the objective's result has no {metric!r} (keys: {keys})"
        raw = metrics[metric]
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        kind = "None" if raw is None else type(raw).__name__
        return (
            None,
            metrics or _NO_METRICS,
            (
                f"the objective returned {kind} for {metric!r}; expected a number, "
                f"or a dict with a number under {metric!r}"
            ),
        )
    value = as_float(raw)
    if value is None:
        return None, _NO_METRICS, f"the objective returned {metric!r} too large for a float"
    if not math.isfinite(value):
        return None, metrics or _NO_METRICS, f"the objective returned {value} for {metric!r}"
    if metrics is None:
        return value, _NO_METRICS, None
    metrics[metric] = value
    return value, metrics, None
