"""The executor of an ask-and-tell experiment: its worker is the caller.

`paratune.AskTell` runs the very loop `tune` runs (`Tuner.run`), in a greenlet. This
executor is where that loop meets the caller: where the loop would wait for a free worker or
for a result, it hands control back to the caller instead (it *parks*), and the caller's
next `ask`, `tell` or `close` brings it back with something to do. Jobs the loop submits
wait here until the caller asks for them; results the caller tells wait here until the loop
collects them, exactly as a worker's results would.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import greenlet

from ._outcome import RunOutcome
from .context import Context, RealClock
from .executors import Objective, ReportHandler, Setup
from .executors._base import make_context
from .searchers import Searcher, has_converged
from .space import Space
from .store import Store
from .trial import Config, Event, Job, Report, Trial


class Closing(KeyboardInterrupt):
    """Raised in the loop when its caller closes the experiment: the loop takes it as the
    user's stop, so trials asked and not told are interrupted, to be asked again on resume.
    A `KeyboardInterrupt` because that is the one stop the loop already knows how to end
    on without losing a trial."""


PARKED = object()
"""What the loop hands its caller when it waits for the caller (as opposed to ending)."""


@dataclass(slots=True)
class Held:
    """A job handed out (or about to be) and not told yet."""

    job: Job
    started: float
    slot: int
    ctx: Context


class CallerExecutor:
    """An `Executor` whose one worker is whoever calls `AskTell.ask` and `AskTell.tell`.

    Args:
        workers: how many trials the caller evaluates at once (what the searcher plans
            for, and the capacity the run's efficiency is measured against); the caller may
            hold more.
        rerun: jobs the loop queues to run again (trials of an earlier session asked and not
            told, retries) go to the next asks; False keeps them held, to be told by id
            (the command line, whose every call is a new session).
    """

    def __init__(self, workers: int, *, rerun: bool) -> None:
        self.workers = workers
        self.clock = RealClock()
        self.rerun = rerun
        self.asks = 0  # jobs the caller waits for
        self.closing = False
        self.ready: deque[Job] = deque()  # submitted, for the next asks
        self.held: dict[int, Held] = {}  # every job submitted and not told
        self.told: list[Event] = []  # for the loop's next `completed`
        self.queued: Callable[[], int] = lambda: 0  # the loop's jobs waiting to run again
        self.no_more: Callable[[], bool] = lambda: False  # whether max_trials trials exist
        self._held_over = 0  # of the jobs the loop submits next, those it had queued
        self._on_report: ReportHandler | None = None

    def __repr__(self) -> str:  # how the experiment's settings name its executor
        return f"ask and tell ({self.workers} at once)"

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Keep the loop's report handler: the caller's reports go to it."""
        self._on_report = on_report

    def free_slots(self) -> int:
        """As many jobs as the caller waits for, with those waiting to run again. With
        nothing held and ``max_trials`` trials made, one: only a promotion can come (the
        next ask's), and none ends the loop. Else, with nothing held, the caller's turn
        (the loop would end), or, once closing, the user's stop."""
        while True:
            queued = self.queued()
            self._held_over = queued
            wanted = max(self.asks, queued) if self.rerun else self.asks + queued
            if not wanted and not self.held and self.no_more():
                return 1
            if wanted or self.held:
                if self.closing:
                    raise Closing("the ask-and-tell experiment was closed")
                return wanted
            if self.closing:
                raise Closing("the ask-and-tell experiment was closed")
            park()

    def submit(self, job: Job) -> None:
        """Hold the job for the caller: the next ask takes it (a job held over from an
        earlier session without ``rerun`` waits to be told by id)."""
        held_over, self._held_over = self._held_over > 0, max(0, self._held_over - 1)
        slot = min(set(range(len(self.held) + 1)) - {h.slot for h in self.held.values()})
        self.held[job.trial_id] = Held(job, self.clock.now(), slot, self._context(job))
        if self.rerun or not held_over:
            self.asks = max(0, self.asks - 1)
            self.ready.append(job)

    def completed(self, timeout: float | None = None) -> list[Event]:
        """The results told since the last call; with none told and a wait allowed, the
        caller's turn first."""
        if not self.told and timeout != 0:
            park()
        if self.closing and not self.told:
            raise Closing("the ask-and-tell experiment was closed")
        told, self.told = self.told, []
        return told

    def cancel(self) -> list[Event]:
        """Every job held, as cut short now (the loop records them as interrupted)."""
        now = self.clock.now()
        events = self.told + [
            Event(
                h.job.trial_id, h.job.attempt, False, None, h.started, now, h.slot, "cancelled"
            )._replace(cancelled=True)
            for h in self.held.values()
        ]
        self.told, self.held = [], {}
        self.ready.clear()
        return events

    def close(self) -> None:
        """Nothing to release."""

    def tell(self, held: Held, event: Event) -> None:
        """Take the result of a held job, for the loop's next `completed`."""
        del self.held[held.job.trial_id]
        if held.job in self.ready:
            self.ready.remove(held.job)
        self.told.append(event)

    def _context(self, job: Job) -> Context:
        """The job's context: its reports go to the loop as a worker's would."""
        on_report, owner = self._on_report, threading.get_ident()

        def reporter(step: int, metrics: Mapping[str, Any]) -> bool:
            if threading.get_ident() != owner:  # the store and the loop live in that thread
                raise RuntimeError(
                    "ctx.report of an asked trial is called from the thread that asks and tells"
                )
            report = Report(job.trial_id, job.attempt, step, metrics, time.monotonic())
            return on_report is None or on_report(report)

        return make_context(job, reporter=reporter)


def park() -> None:
    """Hand control to the caller until it brings the loop back."""
    caller = greenlet.getcurrent().parent
    if caller is None:
        raise RuntimeError("an ask-and-tell loop runs in a greenlet of its caller")
    caller.switch(PARKED)


class Queue:
    """The searcher the loop asks: configurations queued by hand first, then the searcher's
    own. It hands out a queued configuration itself (not a copy), so `AskTell.add` can
    find the job made of it."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.forced: deque[Config] = deque()

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.searcher.setup(space, seed=seed, workers=workers, max_trials=max_trials)

    def suggest(self) -> Config | None:
        return self.forced.popleft() if self.forced else self.searcher.suggest()

    def observe(self, trial: Trial) -> None:
        self.searcher.observe(trial)

    def converged(self) -> bool:
        """The searcher's own convergence (CMA-ES), so the run's end names it."""
        return has_converged(self.searcher)


def told_event(
    held: Held, result: float | Mapping[str, Any] | None, error: str | None, now: float
) -> Event:
    """The event a worker would send for ``held``'s job with this outcome."""
    job, ctx = held.job, held.ctx
    base = Event(job.trial_id, job.attempt, True, result, held.started, now, held.slot)
    if error is not None:
        if result is not None:
            raise ValueError("tell() takes a result or an error, not both")
        return base._replace(ok=False, error=str(error) or "failed")
    if ctx.pruned:  # a report stopped it: its last report is its result, unless told one
        last = ctx.last_report
        metrics = dict(last[1]) if last is not None and result is None else result
        return base._replace(result=metrics, pruned=True, checkpoint_step=ctx.checkpoint_step)
    if result is None:
        raise ValueError(
            f"tell() needs the result of trial {job.trial_id} (a number or a dict of "
            "metrics), or error='why it failed'"
        )
    return base._replace(checkpoint_step=ctx.checkpoint_step)


def shut_down(
    loop: greenlet.greenlet,
    executor: CallerExecutor,
    store: Store,
    *,
    own_store: bool,
    temporary: Path | None,
) -> tuple[RunOutcome, list[Report]] | None:
    """Close the loop of an `AskTell` (it takes that as the user's stop), then close the
    store paratune opened and remove a temporary checkpoint folder. Returns the outcome and
    the reports when the loop ended here."""
    try:
        if loop.dead:
            return None
        executor.closing = True
        given = loop.switch()
        return (given, store.reports()) if isinstance(given, RunOutcome) else None
    finally:
        if own_store:
            store.close()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def no_objective(config: Config) -> None:
    """The objective the loop is given: never called, as the caller evaluates."""
    raise RuntimeError("an ask-and-tell experiment has no objective to call")
