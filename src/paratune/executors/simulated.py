"""The simulated executor: N virtual workers on a virtual clock."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import greenlet

from ..context import Context
from ..trial import Event, Job, Report
from ._base import (
    Objective,
    ReportHandler,
    cancelled_event,
    failed_event,
    make_context,
    run_job,
    takes_context,
)
from ._setup import Setup, run_setup


class VirtualClock:
    """A clock that moves only when the simulated executor moves it."""

    virtual = True

    def __init__(self) -> None:
        self._now = 0.0

    def now(self) -> float:
        """Virtual seconds since the start."""
        return self._now

    def advance_to(self, when: float) -> None:
        """Move the clock forward (never back)."""
        self._now = max(self._now, when)


@dataclass(eq=False)
class _Running:
    """A job on a virtual worker, paused at its next report or ended."""

    job: Job
    worker: int
    started: float
    ctx: Context | None
    runner: greenlet.greenlet | None
    # What happens at the entry's time: a report (step, metrics) or the job's end.
    report: tuple[int, Mapping[str, Any]] | None = None
    event: Event | None = None


class Simulated:
    """Schedules jobs on ``workers`` virtual workers exactly as real ones would be, with no
    overhead, in virtual time.

    Each job's objective runs in the driver; its duration is the time it declared with
    `Context.elapse` (an objective that never calls it takes no virtual time). It runs in a
    greenlet that pauses at each ``ctx.report``, so reports reach the scheduler in the order
    of their virtual times, as they would on real workers, and a stopping decision takes
    effect at the right virtual moment. Jobs end in order of virtual finish time, ties
    first-in first-out, so the run is deterministic: 1,000 trials of an hour each on 64
    virtual workers take a second of real time and report the virtual wall time. Use it to
    study strategies, or to predict what more workers would give.

    Args:
        workers: number of virtual workers.
        trial_timeout: virtual seconds a job may take; a longer one fails at that time.
    """

    def __init__(self, workers: int = 1, *, trial_timeout: float | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if trial_timeout is not None and not 0 < trial_timeout < math.inf:
            raise ValueError(
                f"trial_timeout must be a finite number of seconds > 0, got {trial_timeout}"
            )
        self.trial_timeout = trial_timeout
        self.workers = workers
        self.clock = VirtualClock()
        self._objective: Objective | None = None
        self._with_context = False
        self._on_report: ReportHandler | None = None
        self._prepared: Any = None
        self._pending: list[tuple[float, int, _Running]] = []  # (when, order, job)
        self._order = 0
        self._idle = list(range(workers))  # a heap: the lowest idle worker takes the next job

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Keep the objective and call ``setup`` once, in the driver (every virtual worker
        shares what it prepared; it takes no virtual time); the clock starts at 0.

        Raises:
            SetupError: the setup raised.
        """
        self._prepared = run_setup(setup, "the driver")
        self._objective = objective
        self._with_context = takes_context(objective)
        self._on_report = on_report

    def free_slots(self) -> int:
        """Idle virtual workers."""
        return len(self._idle)

    def submit(self, job: Job) -> None:
        """Start the objective now and run it to its first report or its end."""
        objective = self._objective
        if objective is None:
            raise RuntimeError("Simulated.submit called before start()")
        worker = heapq.heappop(self._idle)
        started = self.clock.now()
        if not self._with_context:
            event = run_job(objective, job, None, worker=worker, now=self.clock.now)
            self._schedule(_Running(job, worker, started, None, None, event=event))
            return
        reporter = _pause if self._on_report is not None else None
        ctx = make_context(job, virtual=True, reporter=reporter, prepared=self._prepared)
        runner = greenlet.greenlet(
            lambda: run_job(objective, job, ctx, worker=worker, now=self.clock.now)
        )
        running = _Running(job, worker, started, ctx, runner)
        self._resume(running, None)

    def _resume(self, running: _Running, go_on: bool | None) -> None:
        """Run the job on to its next report or its end, and schedule that."""
        assert running.runner is not None
        paused = running.runner.switch() if go_on is None else running.runner.switch(go_on)
        if isinstance(paused, Event):
            running.report, running.event = None, paused
        else:
            running.report = paused
        self._schedule(running)

    def _schedule(self, running: _Running) -> None:
        ctx = running.ctx
        elapsed = 0.0 if ctx is None else ctx.virtual_time
        if running.event is not None:
            running.event = running.event._replace(
                started=running.started, finished=running.started + elapsed
            )
        if self.trial_timeout is not None and elapsed > self.trial_timeout:
            elapsed = self.trial_timeout
            reason = f"timed out: ran past trial_timeout={self.trial_timeout:g} s"
            self._stop(running)
            running.report = None
            running.event = _ended(running, running.started + elapsed, reason)
        heapq.heappush(self._pending, (running.started + elapsed, self._order, running))
        self._order += 1

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Advance the clock to the next finish time (or by ``timeout`` virtual seconds, if
        that comes first), handing over the reports made on the way, and return every job
        that ends then."""
        deadline = None if timeout is None else self.clock.now() + timeout
        events: list[Event] = []
        while self._pending:
            when, _, running = self._pending[0]
            if events and when > events[0].finished:
                break
            if deadline is not None and when > deadline:
                self.clock.advance_to(deadline)
                break
            heapq.heappop(self._pending)
            self.clock.advance_to(when)
            if running.event is not None:
                heapq.heappush(self._idle, running.worker)
                events.append(running.event)
            elif running.report is not None and self._on_report is not None:
                step, metrics = running.report
                job = running.job
                go_on = self._on_report(Report(job.trial_id, job.attempt, step, metrics, when))
                self._resume(running, go_on)
        return events

    def cancel(self) -> list[Event]:
        """Stop every pending job at the current virtual time."""
        now = self.clock.now()
        events = []
        for _, _, running in sorted(self._pending, key=lambda entry: entry[:2]):
            self._stop(running)
            events.append(cancelled_event(running.job, running.started, now, running.worker))
        self._pending = []
        self._idle = list(range(self.workers))
        return events

    def _stop(self, running: _Running) -> None:
        """Unwind a paused objective (its ``finally`` blocks run)."""
        if running.runner is not None and not running.runner.dead:
            running.runner.throw(greenlet.GreenletExit)
        running.runner = None

    def close(self) -> None:
        """Nothing to release but what the setup prepared."""
        self._objective = None
        self._prepared = None


def _pause(step: int, metrics: Mapping[str, Any]) -> bool:
    """A report inside a simulated job: hand it to the executor and wait for the answer."""
    parent = greenlet.getcurrent().parent
    assert parent is not None, "a simulated report outside its greenlet"
    go_on: bool = parent.switch((step, metrics))
    return go_on


def _ended(running: _Running, finished: float, reason: str) -> Event:
    """The event of a job stopped at ``finished`` by a timeout."""
    return failed_event(running.job, running.started, finished, running.worker, reason)
