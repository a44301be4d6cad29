"""The books of a run: where every trial stands, which trials have not ended, which wait to
run again, and what the run has counted so far.

The ledger does no I/O: it never calls the store, the executor, the clock, the searcher or
the scheduler. The tuner does, and hands it what happened (a job taken, an event, a report,
the time); what the ledger changed waits in `Ledger.unsaved` for the tuner to commit."""

from __future__ import annotations

import enum
import math
import numbers
import os
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ._results import read_result_safely
from ._rung_reports import RungReports
from ._storable import as_float, as_text, unstorable
from .objectives import Objectives
from .seeding import trial_seed
from .trial import _NO_METRICS, Config, Event, Job, Proposal, Report, Status, Trial


class Heard(enum.Enum):
    """What the ledger made of a running job's report (`Ledger.report`)."""

    KEPT = "kept"
    """Recorded: to commit before the trial goes on, then to show the scheduler."""
    STALE = "stale"
    """From a job already accounted for: dropped, and the job may go on."""
    POISONED = "poisoned"
    """The store cannot hold it: the trial stops, and fails with that reason when its job
    ends."""


class _Outcome(NamedTuple):
    """What an ended job means for its trial (status RUNNING: failed, with a retry left)."""

    status: Status
    value: float | None = None
    metrics: Mapping[str, Any] = _NO_METRICS
    error: str | None = None
    traceback: str | None = None


class Ledger:
    """The trial bookkeeping of one run, in the spirit of `Ladder`: jobs start and end here,
    failures are queued again while retries are left, a continued (promoted) trial remembers
    where it stood, and the leftovers of a stopped run are settled.

    Args:
        metric: the key of the objective's result to tune (the primary one), and its
            ``mode``, ``"min"`` or ``"max"``.
        seed: the experiment seed; each new trial's seed derives from it and its id.
        retries: how many times a failing trial is run again before it counts as failed.
        target: a trial at least this good reaches the target (None: never).
        checkpoints: the folder of the trials' checkpoint files (None: keep none).
        recall: where an ended trial is read back once it is saved (`saved`): the ledger
            then keeps only the trials not ended and those not saved yet, which is what
            lets a run of a million trials fit in memory. None: it keeps every trial.
        objectives: every metric tuned and the constraints (`read_result_safely`).

    Attributes:
        busy: worker seconds spent on jobs, over all sessions of the experiment.
        cancelled_time: the part of ``busy`` spent on jobs a stop cancelled.
        origin: the executor clock's reading when the experiment started (over all its
            sessions): the times of events and reports are stored relative to it.
    """

    def __init__(
        self,
        *,
        metric: str = "value",
        mode: str = "min",
        seed: int = 0,
        retries: int = 0,
        target: float | None = None,
        checkpoints: str | None = None,
        recall: Callable[[int], Trial | None] | None = None,
        objectives: Objectives | None = None,
    ) -> None:
        self.metric = metric
        self._goals = None if objectives is None or objectives.plain else objectives
        self.sign = 1.0 if mode == "min" else -1.0
        self.seed = seed
        self.retries = retries
        self.target = target
        self.checkpoints = checkpoints
        self._checkpoint_prefix = os.path.join(checkpoints or "", "trial-")
        self._recall = recall
        self.busy = 0.0
        self.cancelled_time = 0.0
        self.origin = 0.0
        # The latest state of every trial; with `recall`, of those not ended or not saved.
        self._trials: dict[int, Trial] = {}
        self._running: dict[int, Trial] = {}  # trials not ended (in flight or queued)
        self._queued: deque[Job] = deque()  # retries, and trials resumed from a crash
        # Where each trial stood before the job now running continued it (a promotion).
        self._before: dict[int, Trial] = {}
        self._reported: dict[int, int] = {}  # trial id -> its latest reported step
        self._rungs = RungReports(objectives)  # what keeps rung results whole on resume
        # Trials whose report the store cannot hold, and why: they fail when their job ends.
        self._poisoned: dict[int, str] = {}
        self._created = 0
        self._counts = dict.fromkeys(Status, 0)
        self._best: Trial | None = None
        self._best_key = math.inf
        self._unsaved: list[Trial] = []
        self._unsaved_reports: list[Report] = []

    @property
    def created(self) -> int:
        """How many trials exist: the id the next new trial takes."""
        return self._created

    @property
    def running(self) -> int:
        """How many trials have not ended: in flight, or queued to run again."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """How many of the trials not ended wait to run again (a retry, or a trial resumed
        from a crash), not yet handed to the executor."""
        return len(self._queued)

    @property
    def counts(self) -> Mapping[Status, int]:
        """How many trials ended with each status (a continued trial counts once)."""
        return MappingProxyType(self._counts)

    @property
    def best(self) -> Trial | None:
        """The best trial that ended DONE, or None."""
        return self._best

    @property
    def target_reached(self) -> bool:
        """Whether a trial that ended DONE is at least as good as the target."""
        return self.target is not None and self._best_key <= self.sign * self.target

    def trials(self) -> list[Trial]:
        """The latest state of every trial, in order of creation."""
        if self._recall is None:
            return list(self._trials.values())
        found = (self._find(trial_id) for trial_id in range(self._created))
        return [trial for trial in found if trial is not None]

    def trial(self, trial_id: int) -> Trial:
        """The latest state of trial ``trial_id`` (KeyError if there is none)."""
        found = self._find(trial_id)
        if found is None:
            raise KeyError(trial_id)
        return found

    def _find(self, trial_id: int) -> Trial | None:
        found = self._trials.get(trial_id)
        if found is None and self._recall is not None:
            return self._recall(trial_id)
        return found

    def loss(self, metrics: Mapping[str, Any]) -> float | None:
        """The tuned metric in ``metrics`` as a loss (negated for mode="max"), or None when
        they carry no usable value of it."""
        raw = metrics.get(self.metric)
        if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
            return None
        value = as_float(raw)  # None for an int too large for a float
        if value is None or not math.isfinite(value):
            return None
        return self.sign * value

    @property
    def unsaved(self) -> tuple[list[Trial], list[Report]]:
        """The trial states and reports recorded since the last `saved`, to commit."""
        return self._unsaved, self._unsaved_reports

    def saved(self) -> None:
        """Forget what `unsaved` held: it is committed. With `recall`, the ended trials
        among it are read from there from now on."""
        if self._recall is not None:
            running, trials, reported = self._running, self._trials, self._reported
            for trial in self._unsaved:
                if trial.trial_id not in running:
                    trials.pop(trial.trial_id, None)
                    if reported and not _step_beyond(trial.budget, reported.get(trial.trial_id)):
                        reported.pop(trial.trial_id, None)
        self._unsaved = []
        self._unsaved_reports = []

    def queued_job(self) -> Job | None:
        """The next job waiting to run again (a retry, a trial resumed), taken off the
        queue; None when none waits."""
        return self._queued.popleft() if self._queued else None

    def new_job(self, proposal: Proposal) -> Job:
        """The first job of a new trial (its id taken now), or the job that continues an
        ended trial (a promotion), which stops counting until this job ends.

        Raises:
            RuntimeError: the proposal continues a trial that is unknown or still running.
        """
        if proposal.trial_id is None:
            trial_id = self._created
            self._created += 1
            seed = trial_seed(self.seed, trial_id)
            return self._job(trial_id, proposal.config, seed, proposal.budget, proposal.start_step)
        before = self._find(proposal.trial_id)
        if before is None or proposal.trial_id in self._running:
            state = "unknown" if before is None else "still running"
            raise RuntimeError(
                f"the scheduler asked to continue trial {proposal.trial_id}, which is {state}"
            )
        self._before[before.trial_id] = before
        self._rungs.resumes(before.trial_id, before.budget)
        self._counts[before.status] -= 1  # counted again when this job ends
        return self._job(
            before.trial_id, before.config, before.seed, proposal.budget, proposal.start_step
        )

    def start(self, job: Job, submitted: float) -> Trial:
        """Record the trial of ``job`` as running, where it stood before (a promotion, a
        retry, a resumed trial); ``submitted``: seconds since the experiment started."""
        before = self._running.get(job.trial_id) or self._before.get(job.trial_id)
        if before is None:
            trial = Trial(
                trial_id=job.trial_id,
                config=job.config,
                seed=job.seed,
                status=Status.RUNNING,
                attempts=job.attempt,
                budget=job.budget,
                submitted=submitted,
            )
        else:  # a new attempt keeps what the trial got so far, not where it last ran
            trial = before._replace(
                config=job.config,
                seed=job.seed,
                status=Status.RUNNING,
                attempts=job.attempt,
                budget=job.budget,
                submitted=submitted,
                started=None,
                finished=None,
                worker=None,
                host=None,
                pid=None,
            )
        self._keep(trial)
        self._running[job.trial_id] = trial
        return trial

    def end(self, event: Event, *, stopping: bool, by_user: bool) -> Trial | None:
        """Record the end of a job, counted. Returns the trial as the event leaves it: None
        when it is queued to run again (a failure with a retry left) or when the job was
        already accounted for. ``stopping``: a stop ends the run (no retry is queued);
        ``by_user``: the user stopped it (a cut-short trial is interrupted, to run again on
        resume); a continuation a stop cut short goes back to where it stood."""
        running = self._running.pop(event.trial_id, None)
        if running is None:
            return None  # a late report of a job already accounted for
        spent = event.finished - event.started
        self.busy += spent
        outcome = self._outcome(event, stopping=stopping, by_user=by_user)
        latest = self._rungs.ended(event.trial_id, again=outcome.status is Status.RUNNING)
        if outcome.status is Status.CANCELLED:
            self.cancelled_time += spent
        budget = running.budget
        if outcome.status is Status.PRUNED:  # stopped early: at the budget it reached
            budget = self._reported.get(event.trial_id, budget)
        trial = _after(running, event, outcome, budget, self.origin)
        if outcome.status is Status.RUNNING:  # failed, with a retry left
            self._keep(trial)
            self._running[trial.trial_id] = trial
            self._queued.append(self._again(trial, event.attempt + 1))
            return None
        before = self._before.pop(trial.trial_id, None)
        if outcome.status in (Status.CANCELLED, Status.INTERRUPTED) and before is not None:
            # A continuation stopped by the end of the run: the trial stays where it was.
            trial = before._replace(
                worker_time=trial.worker_time,
                cpu_time=trial.cpu_time,
                peak_memory=trial.peak_memory,
                checkpoint_step=trial.checkpoint_step,
            )
        elif outcome.status is Status.DONE and budget is not None:
            self._report_end(trial, event.attempt, budget, latest)
        self._keep(trial)
        self._count(trial)
        return trial

    def report(self, report: Report) -> Heard:
        """Record a running job's report (its time turned into seconds since the
        experiment started), unless its job was accounted for already or the store could
        not hold it."""
        running = self._running.get(report.trial_id)
        if running is None or running.attempts != report.attempt:
            return Heard.STALE
        if report.trial_id in self._poisoned:
            return Heard.POISONED
        if problem := unstorable(report.metrics):
            self._poisoned[report.trial_id] = (
                f"its report at step {report.step} cannot be stored: {problem}"
            )
            return Heard.POISONED
        when = report.time - self.origin
        metrics = dict(report.metrics)
        if self._rungs.stores(report.trial_id, report.step, metrics):
            self._unsaved_reports.append(report._replace(metrics=metrics, time=when))
            self._reported[report.trial_id] = report.step
        return Heard.KEPT

    def replay(self, trial: Trial, last_step: int | None = None) -> Trial:
        """Take a stored trial of a resumed experiment (``last_step``: its latest stored
        report's step). One that was running or interrupted is queued to run again with
        the same config and seed (from its checkpoint, when it has one below its budget)
        and returned as RUNNING; an ended one is counted and returned as it is."""
        self._created = max(self._created, trial.trial_id + 1)
        ended = trial.status not in (Status.RUNNING, Status.INTERRUPTED)
        if self._recall is None or not ended:  # an ended one is recalled where it is saved
            self._trials[trial.trial_id] = trial
        if last_step is not None and (
            self._recall is None or not ended or _step_beyond(trial.budget, last_step)
        ):
            self._reported[trial.trial_id] = last_step
        if ended:
            self._count(trial)
            return trial
        trial = trial._replace(status=Status.RUNNING)
        self._rungs.resumes(trial.trial_id, last_step)
        self._running[trial.trial_id] = trial
        self._queued.append(self._again(trial, trial.attempts))
        return trial

    def settle(self, now: float, *, by_user: bool) -> None:
        """Close the books on the trials not ended when the run stops (``now``: seconds
        since the experiment started). After the user's stop (``by_user``), each is
        interrupted, to run again on resume. After a stopping rule, one waiting for a retry
        failed (its last error stands), and one queued after a resume was cancelled. A
        continuation goes back to where its trial stood."""
        retrying = {job.trial_id for job in self._queued if job.attempt > 1}
        for trial in list(self._running.values()):
            before = self._before.pop(trial.trial_id, None)
            if by_user and before is None:
                settled = trial._replace(status=Status.INTERRUPTED, finished=now)
            elif not by_user and trial.trial_id in retrying and trial.error is not None:
                settled = trial._replace(status=Status.FAILED)
            elif before is not None:  # a continuation: the trial stays where it was
                settled = before._replace(worker_time=trial.worker_time)
            else:
                reason = "cancelled: the run stopped before it ended"
                settled = trial._replace(status=Status.CANCELLED, finished=now, error=reason)
            self._keep(settled)
            self._count(settled)
        self._running.clear()
        self._queued.clear()

    # ---- inside -----------------------------------------------------------------------

    def _outcome(self, event: Event, *, stopping: bool, by_user: bool) -> _Outcome:
        """What an ended job means for its trial."""
        if event.trial_id in self._poisoned:
            return _Outcome(Status.FAILED, error=self._poisoned.pop(event.trial_id))
        if event.error is not None or event.traceback is not None:
            # Text from a worker may hold what UTF-8 cannot encode (a lone surrogate).
            event = event._replace(error=as_text(event.error), traceback=as_text(event.traceback))
        if by_user and (event.cancelled or not event.ok):
            # The user's stop: the trial runs again on resume. A failure taken now may be
            # the stop's doing (a worker killed in the middle of a message), so it counts
            # as interrupted too: run again, it fails again if it was its own.
            return _Outcome(Status.INTERRUPTED, error=event.error, traceback=event.traceback)
        if event.cancelled:
            return _Outcome(Status.CANCELLED, error=event.error, traceback=event.traceback)
        if not event.ok:
            retry = event.attempt <= self.retries and not stopping
            status = Status.RUNNING if retry else Status.FAILED
            return _Outcome(status, error=event.error, traceback=event.traceback)
        value, metrics, error = read_result_safely(event.result, self.metric, self._goals)
        if error:
            return _Outcome(Status.FAILED, value, metrics, error, event.traceback)
        return _Outcome(Status.PRUNED if event.pruned else Status.DONE, value, metrics)

    def _report_end(
        self, trial: Trial, attempt: int, budget: float, latest: Mapping[str, Any] | None
    ) -> None:
        """Record a job's result at its budget as a report (a rung result), unless the
        objective reported that step itself. With several objectives or constraints, its
        report there (``latest``) gets the result's metrics too: a resumed run ranks each
        rung by every metric, and the objective's report may carry the primary one alone."""
        step = int(budget)
        own = self._reported.get(trial.trial_id) == step
        if step != budget or (own and not self._rungs.active):
            return
        metrics = {**(latest if own and latest else {}), **trial.metrics}
        self._reported[trial.trial_id] = step
        metrics = metrics or {self.metric: trial.value}
        assert trial.finished is not None
        when = trial.finished
        self._unsaved_reports.append(Report(trial.trial_id, attempt, step, metrics, when))

    def _count(self, trial: Trial) -> None:
        """Count an ended trial, and keep the best."""
        self._counts[trial.status] += 1
        if trial.value is None or trial.status is not Status.DONE:
            return
        key = self.sign * trial.value
        if key < self._best_key:
            self._best, self._best_key = trial, key

    def _keep(self, trial: Trial) -> None:
        self._trials[trial.trial_id] = trial
        self._unsaved.append(trial)

    def _job(
        self,
        trial_id: int,
        config: Config,
        seed: int,
        budget: float | None,
        start: int,
        attempt: int = 1,
    ) -> Job:
        return Job(
            trial_id=trial_id,
            attempt=attempt,
            config=config,
            seed=seed,
            budget=budget,
            start_step=start,
            checkpoint=self._checkpoint(trial_id),
        )

    def _again(self, trial: Trial, attempt: int) -> Job:
        """A job that runs ``trial`` again at its budget: from its checkpoint if it has one
        below that budget, else from the start."""
        start = trial.checkpoint_step or 0
        if trial.budget is None or start >= trial.budget:
            start = 0
        return self._job(trial.trial_id, trial.config, trial.seed, trial.budget, start, attempt)

    def _checkpoint(self, trial_id: int) -> str | None:
        if self.checkpoints is None:
            return None
        # Joined as text, the folder's part once: a Path per job, or even a join, costs a
        # good part of what a trivial trial's whole run does.
        return f"{self._checkpoint_prefix}{trial_id}.pkl"


def _after(
    running: Trial, event: Event, outcome: _Outcome, budget: float | None, origin: float
) -> Trial:
    """The trial as its job's end leaves it."""
    spent = event.finished - event.started
    return Trial(
        trial_id=running.trial_id,
        config=running.config,
        seed=running.seed,
        status=outcome.status,
        value=outcome.value,
        metrics=outcome.metrics,
        attempts=event.attempt,
        budget=budget,
        submitted=running.submitted,
        started=event.started - origin,
        finished=event.finished - origin,
        worker_time=running.worker_time + spent,
        worker=event.worker,
        host=event.host,
        pid=event.pid,
        error=outcome.error,
        traceback=outcome.traceback,
        checkpoint_step=_latest(event.checkpoint_step, running.checkpoint_step),
        cpu_time=_total(running.cpu_time, event.cpu_time),
        peak_memory=_highest(running.peak_memory, event.peak_memory),
        moved=running.moved + event.moved,
    )


def _step_beyond(budget: float | None, step: int | None) -> bool:
    """Whether an ended trial's latest reported ``step`` may still matter: only a job that
    continues it to a budget at or below that step (`Ledger._report_end`) reads it, and a
    continuation goes beyond the trial's ``budget``."""
    return step is not None and (budget is None or step > budget)


def _latest(new: int | None, old: int | None) -> int | None:
    return old if new is None else new


def _total(old: float | None, new: float | None) -> float | None:
    return new if old is None else old if new is None else old + new


def _highest(old: int | None, new: int | None) -> int | None:
    return new if old is None else old if new is None else max(old, new)
