"""Ask and tell: drive an experiment from your own loop, a batch system or a shell.

`AskTell` is an experiment you run by hand: `AskTell.ask` gives a trial to evaluate, and
`AskTell.tell` records its result. Underneath is the very loop `tune` runs, with the same
store, searcher, scheduler and books (running in a greenlet that waits for you where it
would wait for a worker), so everything `tune` promises holds: each result is committed
before the searcher hears of it, reports can stop a trial, and the experiment resumes where
it stopped.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import greenlet

from ._api import DEFAULT_STORE, _checkpoint_folder, _new_name, open_store, search_parts
from ._caller import PARKED, CallerExecutor, Held, Queue, no_objective, shut_down, told_event
from ._folders import prepare_checkpoints
from ._options import TuneOptions
from ._outcome import RunOutcome
from ._storable import stored_space
from .callbacks import Callback
from .context import Context
from .errors import SpaceError, SpecError
from .result import TuneResult
from .schedulers import Scheduler
from .searchers import Searcher
from .space import Space
from .store import Experiment, Store
from .trial import Config
from .tuner import Tuner


@dataclass(frozen=True, slots=True)
class AskedTrial:
    """A trial to evaluate, as `AskTell.ask` hands it out.

    Attributes:
        trial_id: the trial's id in the experiment (what `AskTell.tell` and the command
            line's ``paratune tell`` take).
        config: the configuration to evaluate.
        seed: the trial's seed, derived from the experiment seed and the trial id.
        budget: the budget to reach (epochs, say) under a multi-fidelity scheduler; None
            under FIFO.
        start_step: where the trial resumes (0, or the step of its checkpoint when a
            promotion continues it).
        ctx: the trial's `Context`: ``ctx.report(step, **metrics)`` (which raises
            `TrialPruned` when the scheduler stops the trial), ``ctx.save_checkpoint`` and
            ``ctx.load_checkpoint``.
    """

    trial_id: int
    config: Config
    seed: int
    budget: float | None
    start_step: int
    ctx: Context


class AskTell:
    """An experiment driven by hand: ask for trials, evaluate them anywhere, tell results.

    The arguments are `tune`'s, without the objective and the executor (you are the
    executor). Use it as a context manager, or call `close`: trials asked and not told
    when it closes are asked again (same config and seed) when the experiment is resumed.
    Only one driver may write to an experiment at a time: opening one that another
    `AskTell` or a `tune` run holds raises `StoreError`.

    Args:
        space: a `Space` or a dict, as for `tune`.
        workers: how many trials you evaluate at once: what model-based searchers plan
            for, and the capacity the run's efficiency is measured against. You may hold
            more trials than this; none is refused.
        retries: how many times a trial told as failed is asked again (default 0).
        rerun: trials of an earlier session asked and not told are handed out again by
            `ask` (True, the default); False keeps them waiting to be told by id.
        metric, mode, constraints, searcher, scheduler, max_trials, max_time, target, seed,
        points_to_evaluate, store, name, resume, overwrite, checkpoint_dir, callbacks: as
            for `tune` (callbacks hear of each trial once the store has it).

    Raises:
        SpecError, SpaceError: an argument is invalid; the message names it.
        StoreError: the store is unusable, or the experiment exists and neither
            ``resume`` nor ``overwrite`` was asked, or another driver holds it.

    Example:
        >>> import paratune as pt
        >>> with pt.AskTell({"x": pt.Float(-5, 5)}, store=None, seed=1) as study:
        ...     for _ in range(50):
        ...         trial = study.ask()
        ...         study.tell(trial, (trial.config["x"] - 2) ** 2)
        >>> abs(study.result().best_config["x"] - 2) < 0.5
        True
    """

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        *,
        metric: str | Sequence[str] = "value",
        mode: str | Sequence[str] | Mapping[str, str] = "min",
        constraints: Mapping[str, Any] | None = None,
        searcher: str | Searcher = "random",
        scheduler: str | Mapping[str, Any] | Scheduler = "fifo",
        workers: int = 1,
        max_trials: int | None = None,
        max_time: float | None = None,
        target: float | None = None,
        seed: int = 0,
        retries: int = 0,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        store: str | os.PathLike[str] | Store | None = DEFAULT_STORE,
        name: str | None = None,
        resume: bool = False,
        overwrite: bool = False,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        callbacks: Sequence[Callback] = (),
        rerun: bool = True,
    ) -> None:
        arguments = dict(locals())  # the options, as given: the names are TuneOptions' fields
        for key in ("self", "space", "workers", "rerun"):
            del arguments[key]
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise SpecError(f"workers must be a whole number at least 1, got {workers!r}")
        self._executor = CallerExecutor(workers, rerun=rerun)
        options = TuneOptions(**arguments, executor=self._executor)
        self.name = options.name or _new_name(AskTell)
        self._options, self._space = options, _space(space)
        searcher, self._scheduler = search_parts(self._space, options)
        self._queue = Queue(searcher)
        self._store = open_store(store)
        self._own_store = self._store is not store
        self._tuner = self._build(options)
        self._outcome: RunOutcome | None = None
        self._failed: BaseException | None = None  # what stopped the loop, if it raised
        self._thread = threading.get_ident()  # the loop's greenlet lives in this thread
        self._loop = greenlet.greenlet(self._tuner.run)
        # An AskTell dropped or left open at exit is closed as `close` would: what is out
        # is interrupted (asked again on resume), and the store is let go.
        self._shut = weakref.finalize(
            self,
            shut_down,
            self._loop,
            self._executor,
            self._store,
            own_store=self._own_store,
            temporary=self._checkpoints.parent if self._temporary else None,
        )
        try:
            self._advance()  # opens the experiment: a refusal is raised here, at once
        except BaseException:
            self._shut()
            raise

    # ---- asking and telling -----------------------------------------------------------

    def ask(self) -> AskedTrial | None:
        """The next trial to evaluate: one of an earlier session that was not told, a
        retry, a promotion or a new configuration, as the scheduler decides.

        Returns None when there is nothing to evaluate now: the experiment has ended
        (`finished`: max_trials, max_time, target, or the searcher has nothing more), or
        the scheduler waits for results of trials asked before (a synchronous rung).
        """
        self._check()
        executor = self._executor
        if not executor.ready and self._running():
            executor.asks = 1
            self._advance()
            executor.asks = 0
        if not executor.ready:
            return None
        return self._asked(executor.held[executor.ready.popleft().trial_id])

    def tell(
        self,
        trial: AskedTrial | int,
        result: float | Mapping[str, Any] | None = None,
        *,
        error: str | None = None,
    ) -> None:
        """Record the result of a trial asked before (by the trial, or its id), durably:
        it is committed to the store before this returns and before the searcher and the
        scheduler hear of it.

        Args:
            trial: the trial, or its ``trial_id``.
            result: what an objective would return: a number (the metric) or a dict of
                metrics holding the metric. May be left out for a trial a report stopped
                (its last report stands).
            error: instead of a result: the trial failed, for this reason.

        Raises:
            ValueError: the trial is not waiting for a result (never asked, told already,
                or ended by the experiment's end), or neither a result nor an error was
                given for a trial that was not stopped.
        """
        self._check()
        trial_id = trial.trial_id if isinstance(trial, AskedTrial) else trial
        held = self._executor.held.get(trial_id) if self._running() else None
        if held is None:
            raise ValueError(f"trial {trial_id!r} is not waiting for a result{self._why()}")
        self._executor.tell(held, told_event(held, result, error, self._executor.clock.now()))
        self._advance()

    def add(self, config: Mapping[str, Any], result: float | Mapping[str, Any]) -> None:
        """Record a trial evaluated elsewhere: ``config`` with its ``result``, as if it had
        been asked and told (it takes the budget the scheduler gives a new configuration:
        the full budget under FIFO).

        Raises:
            SpaceError: ``config`` does not fit the space.
            ValueError: the experiment has ended, or its scheduler starts no new
                configuration until trials asked before are told.
        """
        self._check()
        mine = self._checked(config, "add")
        self._queue.forced.appendleft(mine)
        executor = self._executor
        while (job := next((j for j in executor.ready if j.config is mine), None)) is None:
            before = len(executor.ready)
            executor.asks = 1
            if not self._running() or not self._advance() or len(executor.ready) == before:
                executor.asks = 0
                if mine in self._queue.forced:
                    self._queue.forced.remove(mine)
                why = self._why() if self._outcome else ": the scheduler waits for results"
                raise ValueError(f"cannot add a trial now{why}")
            executor.asks = 0
        executor.ready.remove(job)
        self.tell(job.trial_id, result)

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Have ``config`` evaluated next: new trials take queued configurations, in order,
        before the searcher's own (in this session: a resumed experiment starts with an
        empty queue).

        Raises:
            SpaceError: ``config`` does not fit the space.
        """
        self._check()
        self._queue.forced.append(self._checked(config, "enqueue"))

    @property
    def pending(self) -> list[AskedTrial]:
        """The trials asked (or held over from an earlier session) and not told yet."""
        return [self._asked(held) for held in self._executor.held.values()]

    @property
    def finished(self) -> bool:
        """True once the experiment has ended: no trial will be asked any more."""
        return not self._running()

    # ---- the end --------------------------------------------------------------------------

    def close(self) -> TuneResult:
        """End this session: trials asked and not told are interrupted (asked again on
        resume), the session's totals are recorded, and the store is closed. Returns the
        result, as `result` does. Safe to call twice."""
        self._end()
        return self.result()

    def result(self) -> TuneResult:
        """Every trial and the best, as `tune` returns them, once the experiment has ended
        (closed, or `finished`).

        Raises:
            RuntimeError: the experiment is still open (`pending` shows what is out).
        """
        if self._failed is not None:
            raise RuntimeError(f"the experiment stopped on an error: {self._failed!r}")
        if self._outcome is None:
            raise RuntimeError("result() is ready once the experiment is closed or finished")
        options = self._options
        return TuneResult.from_outcome(
            self._outcome,
            objectives=options.objectives,
            name=self.name,
            reports=self._reports,
        )

    def __enter__(self) -> AskTell:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._end()  # the error on its way out is the one to see, not result()'s

    # ---- inside ----------------------------------------------------------------------------

    def _build(self, options: TuneOptions) -> Tuner:
        """The loop `tune` runs, over this experiment."""
        checkpoints, self._temporary = _checkpoint_folder(
            options.checkpoint_dir, options.store, self.name
        )
        prepare_checkpoints(checkpoints, self.name, temporary=self._temporary)
        self._checkpoints = checkpoints
        in_a_file = isinstance(options.store, str | os.PathLike) and options.store != ":memory:"
        experiment = Experiment(
            name=self.name,
            space=stored_space(self._space.to_dict(), in_a_file=in_a_file),
            metric=options.objectives.metrics[0],  # the primary metric; all in the settings
            mode=options.objectives.modes[0],
            seed=options.seed,
            objective="",  # none: the caller evaluates
            settings=options.stored(workers=self._executor.workers, ask_and_tell=True),
        )
        tuner = Tuner(
            no_objective,
            space=self._space,
            searcher=self._queue,
            scheduler=self._scheduler,
            executor=self._executor,
            store=self._store,
            options=options,
            experiment=experiment,
            checkpoints=checkpoints,
        )
        limit = options.max_trials
        self._executor.queued = lambda: tuner.queued
        self._executor.no_more = lambda: limit is not None and tuner.created >= limit
        return tuner

    def _end(self) -> None:
        """Let the loop wind down (interrupting what is out), then let the store go."""
        if greenlet.getcurrent() is self._loop:
            raise RuntimeError("an AskTell cannot be closed from a callback")
        if self._running() and threading.get_ident() != self._thread:
            raise RuntimeError("an AskTell is closed from the thread that opened it")
        try:
            ended = self._shut()
        except BaseException as exc:
            self._failed = self._failed or exc
            raise
        if ended is not None:
            self._outcome, self._reports = ended

    def _running(self) -> bool:
        return not self._loop.dead and self._outcome is None

    def _advance(self) -> bool:
        """Let the loop go on until it waits for the caller again (True) or ends (False)."""
        if not self._running():
            return False
        try:
            given = self._loop.switch()
        except BaseException as exc:
            self._failed = exc
            raise
        if given is PARKED:
            return True
        if isinstance(given, RunOutcome):
            self._outcome, self._reports = given, self._store.reports()
        return False

    def _check(self) -> None:
        """Refuse a call the loop cannot take: from another thread (the loop's greenlet
        can only be resumed from its own), from inside the loop (a callback), or after the
        loop stopped on an error."""
        if threading.get_ident() != self._thread:
            raise RuntimeError(
                "an AskTell is used from the thread that opened it: ask and tell there, "
                "and hand the trials to other threads to evaluate"
            )
        if greenlet.getcurrent() is self._loop:
            raise RuntimeError("ask, tell, add and enqueue cannot be called from a callback")
        if self._failed is not None:
            raise RuntimeError(
                f"the experiment stopped on an error: {self._failed!r}"
            ) from self._failed

    def _asked(self, held: Held) -> AskedTrial:
        job = held.job
        return AskedTrial(job.trial_id, job.config, job.seed, job.budget, job.start_step, held.ctx)

    def _checked(self, config: Mapping[str, Any], verb: str) -> Config:
        if not isinstance(config, Mapping):
            raise SpecError(f"{verb}() needs a config (a dict), got {config!r}")
        try:
            return self._space.validate(config)
        except SpaceError as exc:
            raise SpaceError(f"{verb}(): {exc}") from exc

    def _why(self) -> str:
        if self._outcome is not None:
            return f": the experiment has ended ({self._outcome.stop_reason.value})"
        return ": it was never asked, or was told already"


def _space(space: Space | Mapping[str, Any]) -> Space:
    return space if isinstance(space, Space) else Space(space)
