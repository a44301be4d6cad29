"""The tuning loop: the only part that knows the searcher, scheduler, executor and store."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from ._fanout import fanout
from ._folders import clear_checkpoints
from ._ledger import Heard, Ledger
from ._options import TuneOptions

# Re-exported: these are the run's own types, long imported from here.
from ._outcome import Progress as Progress
from ._outcome import ProgressCallback as ProgressCallback
from ._outcome import RunOutcome as RunOutcome
from ._outcome import StopReason as StopReason
from ._running_front import RunningFront
from ._signals import signals_held, user_stops, winding_down
from .executors import Executor, LosesWorkers, Objective, present_workers
from .schedulers import Scheduler, Suggest
from .searchers import Searcher, has_converged
from .space import Space
from .store import Experiment, MemoryStore, RunTotals, Store
from .store._compact import CompactTrials
from .trial import Config, Event, Report, Status, Trial

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
        options: the metric, the mode, the stopping rules, how to open the experiment, and
            the callbacks told of what the store keeps (``options.callbacks``).
        experiment: the experiment as the store keeps it (its name, space and settings).
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
        options: TuneOptions,
        experiment: Experiment,
        progress: ProgressCallback | None = None,
        checkpoints: Path | None = None,
    ) -> None:
        self.objective = objective
        self.space = space
        self.searcher = searcher
        self.scheduler = scheduler
        self.executor = executor
        self.store = store
        self.options = options
        self.experiment = experiment
        self.progress = progress
        self.checkpoints = checkpoints
        goals = options.objectives
        self._primary = goals.metrics[0]  # what a report is judged by
        self._plain = goals.plain
        # With several metrics the live display shows the front's size, kept as trials end.
        self._front = RunningFront(goals) if goals.several else None
        self._ledger = Ledger(
            metric=self._primary,
            mode=goals.modes[0],
            objectives=goals,
            seed=options.seed,
            retries=options.retries,
            target=options.target,
            checkpoints=None if checkpoints is None else str(checkpoints),
            recall=self._recall,
        )
        # Every trial as saved, in columns: what the ledger recalls and the run returns; a
        # MemoryStore's own (its save feeds it), else fed at each commit (see _open).
        self._kept, self._feed_kept = CompactTrials(), True
        self._new_configs: Suggest = _NewConfigs(
            self._ledger, options.max_trials, self._ask_searcher
        )
        self._warned = False  # about reports without the tuned metric
        self._searcher_time = 0.0  # real seconds in the searcher's suggest and observe
        self._suggestions = 0
        self._stop: StopReason | None = None
        self._t0 = 0.0
        self._offset = 0.0  # wall time of earlier sessions of a resumed experiment
        # Worker-seconds that lost workers were absent, and how many were as of when.
        self._lost_time, self._lost, self._lost_since = 0.0, 0, 0.0
        self._may_lose = isinstance(executor, LosesWorkers)  # asked once: not per result
        self._last_progress = 0.0
        self._callbacks = fanout(experiment, options.callbacks)  # None: there are none

    @property
    def queued(self) -> int:
        """How many jobs wait to run again (retries, and trials resumed from an earlier
        session): the loop hands them out before any new configuration."""
        return self._ledger.waiting

    @property
    def created(self) -> int:
        """How many trials the experiment has, counting earlier sessions' (the next new
        trial's id)."""
        return self._ledger.created

    # ---- the loop -------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Run until a stopping rule fires or there is nothing more to try."""
        options, executor, ledger = self.options, self.executor, self._ledger
        stored = self._open()
        self.searcher.setup(
            self.space,
            seed=options.seed,
            workers=executor.workers,
            max_trials=options.max_trials,
        )
        self._replay(stored)
        self._t0 = self._lost_since = executor.clock.now()
        ledger.origin = self._t0 - self._offset
        # A first stop while the run winds down finds it ending, and it ends as it was; a
        # second Ctrl-C stops it at once: the trials still marked running in the store
        # run again on resume, as after a crash.
        with user_stops():
            # A setup goes only to an executor given one: one of the user's may take none.
            setup = {} if options.setup is None else {"setup": options.setup}
            executor.start(self.objective, self._on_report, **setup)
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
                        totals = RunTotals(
                            wall_time=wall,
                            busy_time=ledger.busy,
                            cancelled_time=ledger.cancelled_time,
                            workers=executor.workers,
                            stop_reason=reason.value,
                            lost_time=self._lost_time,
                        )
                        self.store.finish(totals)
        self._report_progress(finished=True)
        outcome = RunOutcome(
            trials=self._kept.frozen(),  # type: ignore[arg-type]  # a list once read
            wall_time=wall,
            busy_time=ledger.busy,
            cancelled_time=ledger.cancelled_time,
            workers=executor.workers,
            stop_reason=reason,
            searcher_time=self._searcher_time,
            suggestions=self._suggestions,
            lost_time=self._lost_time,
        )
        if self._callbacks is not None:
            self._callbacks.run_ended(outcome)
        return outcome

    def _open(self) -> list[Trial]:
        """Open the experiment in the store and take its totals so far; returns its stored
        trials (none for a new experiment)."""
        options = self.options
        stored = self.store.open(
            self.experiment, resume=options.resume, overwrite=options.overwrite
        )
        if not stored and self.checkpoints is not None:
            clear_checkpoints(self.checkpoints)  # left by an earlier run; only if marked ours
        if type(self.store) is MemoryStore:  # a subclass may keep other than what it is given
            self._kept, self._feed_kept = self.store.compact_trials(), False
        else:
            self._kept.put(stored)
        earlier = self.store.totals()
        self._offset, self._lost_time = earlier.wall_time, earlier.lost_time
        self._ledger.busy, self._ledger.cancelled_time = earlier.busy_time, earlier.cancelled_time
        return stored

    def _wind_down(self) -> None:
        """Stop what still runs, close the books, and stop the executor."""
        try:
            if self._ledger.running:
                self._take(self.executor.cancel())
            self._ledger.settle(self._elapsed(), by_user=self._stop is StopReason.INTERRUPTED)
            self._commit()
        finally:
            self.executor.close()

    def _reason(self) -> StopReason:
        """Why the run ended: a stopping rule, else the searcher's convergence, max_trials or
        nothing more to try."""
        limit = self.options.max_trials
        if self._stop is not None:
            return self._stop
        if has_converged(self.searcher):
            return StopReason.CONVERGED
        if limit is not None and self._ledger.created >= limit:
            return StopReason.MAX_TRIALS
        return StopReason.EXHAUSTED

    def _replay(self, stored: list[Trial]) -> None:
        """Bring the searcher, scheduler and books to where a resumed experiment stopped:
        the searcher's sequence moves on by one suggestion per stored trial, the scheduler
        sees each trial's reports again, ended trials are reported as if they had just
        ended, and trials that were running are queued again with the same config and seed
        (from their checkpoint, when they have one), the scheduler told where they stand."""
        by_id = {trial.trial_id: trial for trial in stored}
        reports: dict[int, list[Report]] = {}
        for report in self.store.reports():
            reports.setdefault(report.trial_id, []).append(report)
        for trial_id in range(max(by_id, default=-1) + 1):
            self._ask_searcher()  # keep the sequence in step, whatever happened
            trial = by_id.get(trial_id)
            if trial is None:
                continue
            steps = reports.get(trial_id, [])
            for report in steps:
                if trial.budget is not None and report.step > trial.budget:
                    continue  # from a continuation a stop cut short: not a rung's result
                value = self._ledger.loss(report.metrics)
                if value is not None:
                    self.scheduler.on_report(trial_id, report.step, value)
                if not self._plain and trial.budget is not None and report.step < trial.budget:
                    # A result at a lower rung: a report carries one loss, it all the metrics.
                    earlier = trial._replace(status=Status.DONE, budget=report.step)
                    self.scheduler.on_result(earlier._replace(metrics=report.metrics, value=value))
            trial = self._ledger.replay(trial, steps[-1].step if steps else None)
            if trial.status is Status.RUNNING:
                # It runs again: the scheduler sees it as running, where it stood.
                self.scheduler.on_result(trial._replace(value=None))
            else:
                self._notify(trial)
        if self._ledger.target_reached:  # by a stored trial: nothing more to run
            self._stop = StopReason.TARGET

    def _ask_searcher(self) -> Config | None:
        """``searcher.suggest()``, timed: what a suggestion costs is part of the picture."""
        start = time.perf_counter()
        config = self.searcher.suggest()
        self._searcher_time += time.perf_counter() - start
        self._suggestions += 1
        return config

    def _loop(self) -> None:
        executor, ledger = self.executor, self._ledger
        while True:
            if self._stop is None:
                self._fill()
            if not ledger.running or self._stop is not None:
                self._commit()
                return
            events = executor.completed(0)
            if not events:
                self._commit()  # nothing to share a transaction with: commit before waiting
                events = executor.completed(self._wait_timeout())
            self._take(events)
            self._count_absence()
            if self.options.max_time is not None and self._session() >= self.options.max_time:
                self._stop = self._stop or StopReason.MAX_TIME
            if self.progress is not None:
                self._report_progress()

    def _count_absence(self) -> None:
        """Add the worker-time that lost workers were absent since the last call: capacity
        the run did not have, which is not idle time."""
        if not self._may_lose:
            return
        executor, present = self.executor, present_workers(self.executor)
        if self._lost or present < executor.workers:  # else none lost before or now
            now = executor.clock.now()
            self._lost_time += self._lost * max(0.0, now - self._lost_since)
            self._lost, self._lost_since = executor.workers - present, now

    def _fill(self) -> None:
        """Give every free slot a job: queued ones first, then what the scheduler proposes."""
        ledger = self._ledger
        if self.options.synchronous:
            if ledger.running:
                return  # a batch waits for its slowest trial
            free = self.executor.workers
        else:
            free = self.executor.free_slots()
        while free > 0:
            # A user's stop between taking a job and recording it as running would lose
            # its trial (an id given out, never stored): it waits for the job to be kept.
            with signals_held():
                job = ledger.queued_job()
                if job is None:
                    proposal = self.scheduler.next_job(self._new_configs)
                    if proposal is None:
                        return
                    job = ledger.new_job(proposal)
                ledger.start(job, self._elapsed())
            self.executor.submit(job)  # outside: the serial executor runs the trial here
            free -= 1

    def _wait_timeout(self) -> float | None:
        """How long `completed` may wait: until max_time, and, in real time with a progress
        callback, until the next refresh."""
        timeout = None
        if self.options.max_time is not None:
            timeout = max(0.0, self.options.max_time - self._session())
        if self.progress is not None and not self.executor.clock.virtual:
            timeout = _PROGRESS_EVERY if timeout is None else min(timeout, _PROGRESS_EVERY)
        return timeout

    # ---- results ---------------------------------------------------------------------------

    def _take(self, events: list[Event]) -> None:
        """Record ended jobs, commit them, then let the scheduler and searcher see them,
        whole: a user's stop in the middle would leave an ended trial neither running nor
        recorded."""
        end = self._ledger.end
        stopping, by_user = self._stop is not None, self._stop is StopReason.INTERRUPTED
        with signals_held():
            ended = [
                trial
                for event in events
                if (trial := end(event, stopping=stopping, by_user=by_user)) is not None
            ]
            self._commit()
            for trial in ended:
                self._notify(trial)
            if self._stop is None and self._ledger.target_reached:
                self._stop = StopReason.TARGET

    def _notify(self, trial: Trial) -> None:
        """Tell the scheduler and the searcher that a job of ``trial`` ended. Everything
        inside minimises: with mode="max" they see the value negated (the store keeps it as
        is)."""
        if self._front is not None:
            self._front.add(trial)
        if self._ledger.sign < 0 and trial.value is not None:
            trial = trial._replace(value=-trial.value)
        self.scheduler.on_result(trial)
        start = time.perf_counter()
        self.searcher.observe(trial)
        self._searcher_time += time.perf_counter() - start

    def _on_report(self, report: Report) -> bool:
        """Record a running job's report and ask the scheduler whether the trial goes on."""
        heard = self._ledger.report(report)
        if heard is not Heard.KEPT:
            return heard is Heard.STALE  # a poisoned trial stops, and fails with the reason
        # Committed before the trial goes on: a checkpoint it saves after this report must
        # never be ahead of the store, or a resumed trial's learning curve would have a gap.
        self._commit()
        value = self._ledger.loss(report.metrics)
        if value is None and not self._warned and self._primary not in report.metrics:
            self._warned = True
            keys = ", ".join(map(repr, report.metrics))
            warnings.warn(
                f"trial {report.trial_id} reported {keys} but not {self._primary!r}, "
                "the tuned metric: the scheduler cannot judge it by its reports",
                stacklevel=1,
            )
        if value is None or self._stop is not None:
            return True
        return self.scheduler.on_report(report.trial_id, report.step, value)

    def _commit(self) -> None:
        """Save what the books changed since the last commit, in one transaction, then tell
        the callbacks: what they mirror is never ahead of the store."""
        trials, reports = self._ledger.unsaved
        if trials or reports:
            self.store.save(trials, reports)
            if self._feed_kept:
                self._kept.put(trials)
            self._ledger.saved()
            if self._callbacks is not None:
                self._callbacks.committed(trials, reports)

    def _recall(self, trial_id: int) -> Trial | None:
        return self._kept.get(trial_id)  # the latest saved state: the ledger keeps no more

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
        ledger, workers = self._ledger, self.executor.workers
        present = present_workers(self.executor)
        best, counts = ledger.best, ledger.counts
        front = None if self._front is None else self._front.size
        best = None if front is not None else best  # several metrics: no one trial is best
        # The executor may hold jobs ahead of a free worker: at most one per worker runs.
        running = min(ledger.running - ledger.waiting, present)
        self.progress(
            Progress(
                elapsed=self._elapsed(),
                done=counts[Status.DONE],
                failed=counts[Status.FAILED],
                cancelled=counts[Status.CANCELLED],
                pruned=counts[Status.PRUNED],
                running=running,
                max_trials=self.options.max_trials,
                workers=workers,
                best_value=best.value if best else None,
                best_config=best.config if best else None,
                finished=finished,
                interrupted=counts[Status.INTERRUPTED],
                queued=ledger.running - running,
                lost=workers - present,
                front=front,
            )
        )


class _NewConfigs:
    """What the tuner hands `Scheduler.next_job`: new configurations from the searcher, none
    once ``max_trials`` trials exist, each the first of the trial that takes the ledger's
    next id."""

    __slots__ = ("_ask", "_ledger", "_limit")

    def __init__(self, ledger: Ledger, limit: int | None, ask: Callable[[], Config | None]):
        self._ledger, self._limit, self._ask = ledger, limit, ask

    @property
    def trial_id(self) -> int:
        """The id the trial of the next configuration returned will have."""
        return self._ledger.created

    def __call__(self) -> Config | None:
        """The searcher's next configuration, or None once ``max_trials`` trials exist."""
        limit = self._limit
        return None if limit is not None and self._ledger.created >= limit else self._ask()
