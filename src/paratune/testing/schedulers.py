"""`SchedulerContract`: the behaviour every scheduler owes the tuner, as pytest tests.

The contract drives a scheduler through `Scheduler`'s three methods with a small loop of
its own (no executor, no clock): it fills free workers from `next_job`, ends one running
job at a time in an order it chooses, reports every step of a job to `on_report`, and
hands each ended job to `on_result`, as the tuner does. `LoopRun` is that loop, for tests
of a scheduler's own rules.

Subclass `SchedulerContract` to check a scheduler of your own::

    from paratune.testing.schedulers import SchedulerContract

    class TestMyScheduler(SchedulerContract):
        budgets = (1, 81)  # the lowest and highest budget it asks for

        def make_scheduler(self):
            return MyScheduler(min_budget=1, max_budget=81)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..schedulers import Scheduler, Suggestions
from ..trial import Config, Proposal, Status, Trial

__all__ = [
    "LoopRun",
    "Order",
    "SchedulerContract",
    "newest_first",
    "oldest_first",
    "resumed",
    "shuffled",
]

Order = Callable[[list[int]], int]
"""Picks which running job ends next: given the running trials' ids in the order their
jobs started, the index of the one to end."""

MAX_REPORTS = 100
"""The most steps one job of the loop reports."""

FULL_BUDGET_STEPS = 8
"""The steps a job at the objective's full budget (``budget=None``) reports."""


def oldest_first(running: list[int]) -> int:
    """The job that started first ends first."""
    return 0


def newest_first(running: list[int]) -> int:
    """The job that started last ends first."""
    return len(running) - 1


def shuffled(seed: int) -> Order:
    """Jobs end in a random order, the same for the same ``seed``."""
    rng = np.random.default_rng(seed)
    return lambda running: int(rng.integers(len(running)))


def pool_of(count: int, seed: int = 0) -> list[Config]:
    """``count`` configurations ``{"i": k, "q": quality}``; a lower quality gives lower
    losses at every step."""
    rng = np.random.default_rng(seed)
    return [{"i": k, "q": float(rng.uniform())} for k in range(count)]


def loss_at(config: Config, step: float | None) -> float:
    """The loss of ``config`` after ``step`` steps (None: the full budget)."""
    return float(config["q"]) + (0.0 if not step else 1.0 / step)


@dataclass
class LoopRun:
    """A scheduler driven by the contract's loop, and what happened so far.

    Attributes:
        scheduler: the scheduler under test.
        configs: the configurations `suggest` hands out, in order, then None.
        workers: how many jobs may run at once.
        budgets: the lowest and highest budget a proposal may ask, or None when every
            proposal must ask for the full budget (``budget=None``).
        fail_every: every this-many-th ended job fails (0: none fails).
        first_id: the id of the first new trial.
        trials: every trial, as it stands now.
        running: the trials whose job runs, in the order their jobs started.
        starts: per running trial, the step its job starts from.
        reports: per trial, the ``(step, loss)`` pairs it reported.
        proposals: every proposal, in order.
        ended: how many jobs have ended.
    """

    scheduler: Scheduler
    configs: list[Config]
    workers: int = 4
    budgets: tuple[float, float] | None = None
    fail_every: int = 0
    first_id: int = 0
    trials: dict[int, Trial] = field(default_factory=dict)
    running: list[int] = field(default_factory=list)
    starts: dict[int, int] = field(default_factory=dict)
    reports: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    proposals: list[Proposal] = field(default_factory=list)
    ended: int = 0
    _given: list[Config] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.suggest = Suggestions(self._next_config, self.first_id)

    def _next_config(self) -> Config | None:
        if len(self._given) >= len(self.configs):
            return None
        config = self.configs[len(self._given)]
        self._given.append(config)
        return config

    @property
    def exhausted(self) -> bool:
        """Whether every configuration has been handed out."""
        return len(self._given) == len(self.configs)

    @property
    def remaining(self) -> list[Config]:
        """The configurations not handed out yet."""
        return self.configs[len(self._given) :]

    def fill(self) -> None:
        """Start jobs while a worker is free and the scheduler proposes one."""
        while len(self.running) < self.workers:
            given, new_id = len(self._given), self.suggest.trial_id
            proposal = self.scheduler.next_job(self.suggest)
            taken = len(self._given) - given
            assert taken <= 1, f"next_job asked suggest for {taken} configurations at once"
            if proposal is None:
                assert not taken, "a configuration from suggest was not proposed at once"
                return
            self.proposals.append(proposal)
            if proposal.trial_id is None:
                assert taken, "a new trial was proposed without asking suggest for it"
                assert proposal.config == self._given[-1], "not the configuration suggested"
                assert proposal.start_step == 0, "a new trial must start at step 0"
                trial = Trial(new_id, proposal.config, new_id, Status.RUNNING)
            else:
                assert not taken, "a configuration from suggest was not proposed at once"
                trial = self._continued(proposal)
            self._check_budget(proposal)
            self.trials[trial.trial_id] = trial._replace(
                status=Status.RUNNING, budget=proposal.budget
            )
            self.running.append(trial.trial_id)
            self.starts[trial.trial_id] = proposal.start_step

    def _continued(self, proposal: Proposal) -> Trial:
        trial_id = proposal.trial_id
        assert trial_id in self.trials, f"continues trial {trial_id}, which does not exist"
        assert trial_id not in self.running, f"continues trial {trial_id}, which is running"
        trial = self.trials[trial_id]
        assert proposal.config == trial.config, f"continues trial {trial_id} with another config"
        reached = trial.budget
        if proposal.budget is not None and reached is not None:
            assert proposal.budget > reached, (
                f"continues trial {trial_id} at budget {proposal.budget}, "
                f"not above the {reached} it reached"
            )
        assert proposal.start_step in (0, trial.checkpoint_step), (
            f"continues trial {trial_id} from step {proposal.start_step}: neither 0 nor "
            f"its checkpoint's step {trial.checkpoint_step}"
        )
        return trial

    def _check_budget(self, proposal: Proposal) -> None:
        budget, start = proposal.budget, proposal.start_step
        assert isinstance(start, int) and start >= 0, f"start_step {start!r}"
        if self.budgets is None:
            assert budget is None, f"budget {budget!r}, where the full budget was expected"
            return
        low, high = self.budgets
        assert budget is not None, "budget None, where a budget was expected"
        assert math.isfinite(budget) and low <= budget <= high, (
            f"budget {budget!r} outside [{low}, {high}]"
        )
        assert start < budget, f"start_step {start} not below the budget {budget}"

    def end_one(self, order: Order) -> None:
        """End one running job: it reports its steps, then succeeds, fails or stops where
        the scheduler says."""
        trial_id = self.running.pop(order(list(self.running)))
        trial = self.trials[trial_id]
        self.ended += 1
        status, reached = Status.DONE, trial.budget
        value: float | None = loss_at(trial.config, trial.budget)
        top = FULL_BUDGET_STEPS if trial.budget is None else min(int(trial.budget), MAX_REPORTS)
        start = self.starts.pop(trial_id)
        for step in range(start + 1, top + 1):
            loss = loss_at(trial.config, step)
            self.reports.setdefault(trial_id, []).append((step, loss))
            go_on = self.scheduler.on_report(trial_id, step, loss)
            assert isinstance(go_on, bool), f"on_report returned {go_on!r}, not a bool"
            if not go_on:
                status, value, reached = Status.PRUNED, loss, step
                break
        if self.fail_every and self.ended % self.fail_every == 0:
            status, value = Status.FAILED, None
        checkpoint = None if reached is None else int(reached)
        ended = trial._replace(status=status, value=value, budget=reached,
                               checkpoint_step=checkpoint or None)  # fmt: skip
        self.trials[trial_id] = ended
        self.scheduler.on_result(ended)

    def run(self, order: Order, *, until: int | None = None, most: int = 10_000) -> None:
        """Fill and end jobs until nothing runs (the run is over), or ``until`` jobs have
        ended; fail when it takes more than ``most`` jobs."""
        while until is None or self.ended < until:
            self.fill()
            if not self.running:
                return
            assert self.ended < most, f"the run did not end after {most} jobs"
            self.end_one(order)


def resumed(run: LoopRun, scheduler: Scheduler) -> LoopRun:
    """``run`` continued with a fresh ``scheduler``, told what a resumed experiment tells
    it: in trial id order, each trial's reports, then its result, or, for a running trial,
    that it runs again where it stood (status RUNNING); its job is queued again."""
    again = LoopRun(
        scheduler,
        run.remaining,
        run.workers,
        run.budgets,
        run.fail_every,
        first_id=max(run.trials, default=-1) + 1,
    )
    for trial_id in sorted(run.trials):
        for step, loss in run.reports.get(trial_id, ()):
            scheduler.on_report(trial_id, step, loss)
        trial = run.trials[trial_id]
        if trial_id in run.running:
            trial = trial._replace(status=Status.RUNNING, value=None)
        scheduler.on_result(trial)
    again.trials = dict(run.trials)
    again.running = list(run.running)
    for trial_id in again.running:  # from its checkpoint when it has one below its budget
        trial = run.trials[trial_id]
        step, budget = trial.checkpoint_step or 0, trial.budget
        again.starts[trial_id] = step if budget is None or step < budget else 0
    again.reports = {trial_id: list(steps) for trial_id, steps in run.reports.items()}
    return again


class SchedulerContract(ABC):
    """Tests every scheduler must pass. Subclass it in a test module, in a class whose name
    starts with ``Test``, and implement `make_scheduler`.

    Class attributes tune the checks:

    Attributes:
        budgets: the lowest and highest budget the scheduler may ask for (some trial of a
            run must reach the highest), or None for a scheduler that runs every trial at
            the objective's full budget.
        configs: how many configurations the loop's searcher has.
        workers: how many jobs run at once.
    """

    budgets: ClassVar[tuple[float, float] | None] = None
    configs: ClassVar[int] = 40
    workers: ClassVar[int] = 4

    @abstractmethod
    def make_scheduler(self) -> Scheduler:
        """Return a new scheduler to test."""

    def make_run(self, *, fail_every: int = 0, seed: int = 0, first_id: int = 0) -> LoopRun:
        """A loop over a new scheduler and `configs` configurations."""
        return LoopRun(
            self.make_scheduler(),
            pool_of(self.configs, seed),
            self.workers,
            self.budgets,
            fail_every,
            first_id,
        )

    def check_ended(self, run: LoopRun, *, top: bool = True) -> None:
        """Check that ``run`` is over: every configuration tried, nothing running, and
        (``top``) the top budget reached."""
        assert run.exhausted, "the run ended with configurations left to try"
        assert not run.running
        assert all(t.status is not Status.RUNNING for t in run.trials.values())
        if top and self.budgets is not None:
            reached = [t.budget for t in run.trials.values() if t.status is Status.DONE]
            assert self.budgets[1] in reached, "no trial reached the top budget"

    def test_a_finite_searcher_runs_out_and_the_run_ends(self) -> None:
        run = self.make_run()
        run.run(oldest_first)
        self.check_ended(run)
        assert {t.status for t in run.trials.values()} <= {Status.DONE, Status.PRUNED}
        for _ in range(3):
            assert run.scheduler.next_job(run.suggest) is None, "a proposal after the end"

    def test_new_trials_take_the_ids_suggest_gives(self) -> None:
        run = self.make_run(first_id=100)
        run.run(newest_first)
        self.check_ended(run)
        assert sorted(run.trials) == list(range(100, 100 + self.configs))
        assert [t.config for _, t in sorted(run.trials.items())] == run.configs

    def test_results_are_accepted_in_any_completion_order(self) -> None:
        for order in (oldest_first, newest_first, shuffled(1), shuffled(2)):
            run = self.make_run(seed=3)
            run.run(order)
            self.check_ended(run)

    def test_failed_trials_are_accepted(self) -> None:
        run = self.make_run(fail_every=3)
        run.run(shuffled(4))
        self.check_ended(run, top=False)  # failures may fall on every trial that got there
        assert any(t.status is Status.FAILED for t in run.trials.values())

    def test_one_worker_runs_every_configuration(self) -> None:
        run = self.make_run()
        run.workers = 1
        run.run(oldest_first)
        self.check_ended(run)
        assert len(run.trials) == self.configs

    def test_the_same_inputs_give_the_same_decisions(self) -> None:
        first, second = self.make_run(seed=5), self.make_run(seed=5)
        first.run(shuffled(6))
        second.run(shuffled(6))
        assert first.proposals == second.proposals

    def test_a_resumed_run_with_running_trials_goes_on(self) -> None:
        run = self.make_run(seed=7)
        run.run(shuffled(8), until=self.configs // 2)
        assert run.running, "nothing was running when the run was cut short"
        again = resumed(run, self.make_scheduler())
        again.run(shuffled(9))
        self.check_ended(again)
        assert sorted(again.trials) == list(range(self.configs))
