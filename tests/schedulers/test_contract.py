"""Every built-in scheduler against the shared contract (`paratune.testing.schedulers`)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from paratune.schedulers import (
    ASHA,
    FIFO,
    Hyperband,
    Proposal,
    Scheduler,
    SuccessiveHalving,
    Suggest,
    Suggestions,
)
from paratune.testing.schedulers import LoopRun, SchedulerContract, loss_at, oldest_first, pool_of
from paratune.trial import Status, Trial


class TestFIFO(SchedulerContract):
    def make_scheduler(self) -> Scheduler:
        return FIFO()


class TestSuccessiveHalving(SchedulerContract):
    budgets = (1, 8)

    def make_scheduler(self) -> Scheduler:
        return SuccessiveHalving(min_budget=1, max_budget=8, eta=2)


class TestSuccessiveHalvingInRounds(SchedulerContract):
    budgets = (1, 9)

    def make_scheduler(self) -> Scheduler:
        return SuccessiveHalving(min_budget=1, max_budget=9, eta=3, candidates=9)


class TestASHA(SchedulerContract):
    budgets = (1, 16)

    def make_scheduler(self) -> Scheduler:
        return ASHA(min_budget=1, max_budget=16, eta=2)


class TestStoppingASHA(SchedulerContract):
    budgets = (1, 16)

    def make_scheduler(self) -> Scheduler:
        return ASHA(min_budget=1, max_budget=16, eta=2, stopping=True)


class TestHyperband(SchedulerContract):
    budgets = (1, 27)

    def make_scheduler(self) -> Scheduler:
        return Hyperband(min_budget=1, max_budget=27, eta=3)


class TestStoppingHyperband(SchedulerContract):
    budgets = (0.5, 4)

    def make_scheduler(self) -> Scheduler:
        return Hyperband(min_budget=0.5, max_budget=4, eta=2, stopping=True)


# ------------------------------------------------------ the contract catches broken schedulers


class Hoards(FIFO):
    """Asks for two configurations and proposes one."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        suggest()
        return super().next_job(suggest)


class Drops(FIFO):
    """Asks for a configuration, and proposes nothing when it is the fifth."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        trial_id, proposal = suggest.trial_id, super().next_job(suggest)
        return None if trial_id == 4 else proposal


class CountsItsOwnIds(SuccessiveHalving):
    """Numbers new trials 0, 1, 2, ... whatever ids the trials get."""

    counted = 0

    def next_job(self, suggest: Suggest) -> Proposal | None:
        proposal = super().next_job(Suggestions(suggest, first_id=self.counted))
        if proposal is not None and proposal.trial_id is None:
            self.counted += 1
        return proposal


class Mumbles(FIFO):
    """Answers a report with None."""

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        return None  # type: ignore[return-value]


class NeverEnds(FIFO):
    """Runs trial 0 again and again once it has ended."""

    def __init__(self) -> None:
        self.first: Trial | None = None

    def on_result(self, trial: Trial) -> None:
        if trial.trial_id == 0:
            self.first = trial

    def next_job(self, suggest: Suggest) -> Proposal | None:
        if self.first is not None:
            config, self.first = self.first.config, None
            return Proposal(config, None, 0)
        return super().next_job(suggest)


class PromotesRunning(ASHA):
    """Continues the trial it started last, which is still running."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        if self._running and len(self._running) % 3 == 0:
            trial_id = max(self._running)
            return Proposal({}, 2, trial_id)  # a continuation's config is its trial's
        return super().next_job(suggest)


class StartsLate(FIFO):
    """Starts new trials at step 3."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        proposal = super().next_job(suggest)
        return None if proposal is None else Proposal(proposal.config, start_step=3)


class RefusesResume(ASHA):
    def on_result(self, trial: Trial) -> None:
        if trial.status is Status.RUNNING:
            raise KeyError(f"trial {trial.trial_id} runs again")
        super().on_result(trial)


@pytest.mark.parametrize(
    ("scheduler", "budgets", "test", "message"),
    [
        (Hoards, None, "a_finite_searcher_runs_out", "asked suggest for 2 configurations"),
        (Drops, None, "a_finite_searcher_runs_out", "was not proposed at once"),
        (CountsItsOwnIds, (1, 64), "new_trials_take_the_ids", "no trial reached the top"),
        (functools.partial(ASHA, max_budget=32), (1, 16), "a_finite", r"32 outside \[1, 16\]"),
        (ASHA, None, "a_finite", "budget 1, where the full budget was expected"),
        (StartsLate, None, "a_finite", "a new trial must start at step 0"),
        (Mumbles, None, "a_finite_searcher_runs_out", "on_report returned None, not a bool"),
        (NeverEnds, None, "a_finite_searcher_runs_out", "did not end after 10000 jobs"),
        (PromotesRunning, (1, 64), "results_are_accepted", "which is running"),
        (RefusesResume, (1, 64), "a_resumed_run_with_running_trials", "runs again"),
    ],
)
def test_the_contract_fails_a_scheduler_that_breaks_it(
    scheduler: Callable[[], Scheduler],
    budgets: tuple[float, float] | None,
    test: str,
    message: str,
) -> None:
    contract = type(
        "Contract", (SchedulerContract,), {"budgets": budgets, "make_scheduler": scheduler}
    )
    check = contract()
    method = next(getattr(check, n) for n in dir(check) if n.startswith(f"test_{test}"))
    with pytest.raises((AssertionError, KeyError), match=message):
        method()


def test_the_loop_runs_jobs_to_their_budget_and_reports_each_step() -> None:
    run = LoopRun(ASHA(min_budget=1, max_budget=4, eta=2), pool_of(4, seed=1), workers=2,
                  budgets=(1, 4))  # fmt: skip
    run.run(oldest_first)
    assert run.exhausted and not run.running and run.ended == len(run.proposals)
    for trial_id, trial in run.trials.items():
        assert trial.status is Status.DONE and trial.budget is not None
        assert trial.value == loss_at(trial.config, trial.budget)
        steps = [step for step, _ in run.reports[trial_id]]
        assert steps == list(range(1, int(trial.budget) + 1))  # promotions resume
    best = min(run.trials.values(), key=lambda t: t.config["q"])
    assert best.budget == 4 and run.proposals[-1].trial_id == best.trial_id
