"""The ladder anchored at max_budget (Hyperband's), its whole and fractional budgets, and
FIFO at a given budget, alone and through the tuner."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.schedulers import ASHA, FIFO, Hyperband, Suggestions, make_scheduler
from paratune.schedulers._ladder import Continuations, rung_budgets
from paratune.trial import Proposal, Status, Trial

SPACE = {"q": pt.Float(0, 1)}


def failures(result: pt.TuneResult) -> int:
    return sum(trial.status is Status.FAILED for trial in result.trial_list)


def test_the_ladder_is_anchored_at_max_budget() -> None:
    exact = rung_budgets(1.0, 100.0, 3)
    assert exact == pytest.approx([100 / 81, 100 / 27, 100 / 9, 100 / 3, 100])
    assert all(type(budget) is float for budget in exact)
    # Every step, the top one included, is a full eta.
    assert [high / low for low, high in itertools.pairwise(exact)] == pytest.approx([3] * 4)
    assert rung_budgets(1, 10, 3) == [1, 3, 10]  # was 1, 3, 9, 10
    assert rung_budgets(2, 10, 3) == [3, 10]  # min_budget is a floor, not a rung
    assert rung_budgets(1, 64, 2) == [1, 2, 4, 8, 16, 32, 64]  # powers: as before
    assert rung_budgets(0.5, 4, 2) == [0.5, 1.0, 2.0, 4.0]
    assert all(type(budget) is float for budget in rung_budgets(0.5, 4, 2))


def test_whole_arguments_give_whole_rungs_each_once() -> None:
    whole = rung_budgets(1, 100, 3)
    assert whole == [1, 4, 11, 33, 100]
    assert all(type(budget) is int for budget in whole)
    # 5, 4.17, 3.47, 2.89, 2.41, 2.01, 1.67, 1.40, 1.16: nine exact rungs, five whole ones.
    assert rung_budgets(1, 5, 1.2) == [1, 2, 3, 4, 5]
    assert rung_budgets(3, 3, 2) == [3]


@pytest.mark.parametrize(("low", "high", "eta"), [(1, 2, 3), (1, 64, 1e308), (0.5, 0.9, 2)])
def test_an_eta_that_leaves_only_the_top_rung_is_refused(
    low: float, high: float, eta: float
) -> None:
    with pytest.raises(ValueError, match=re.escape(f"eta={eta!r} leaves no rung between")):
        rung_budgets(low, high, eta)
    assert rung_budgets(low, high, high / low) == [low, high]


def test_hyperbands_brackets_follow_the_ladder() -> None:
    hyperband = Hyperband(min_budget=1, max_budget=100, eta=3)
    assert hyperband.budgets == [1, 4, 11, 33, 100]
    assert hyperband.brackets == 4
    assert [ladder.budgets[0] for ladder in hyperband.ladders] == [1, 4, 11, 33]
    # Bracket b gets ceil(s / (s - b) * eta**(s - 1 - b)) of every round of new trials.
    assert hyperband._weights == [81, 34, 15, 8]
    first = [hyperband.bracket_of(trial_id) for trial_id in range(138)]
    assert Counter(first) == {0: 81, 1: 34, 2: 15, 3: 8}


def test_a_continuation_resumes_from_the_latest_checkpoint_below_its_budget() -> None:
    kept = Continuations()
    kept.keep(Trial(7, {"q": 0.5}, 1, Status.DONE, budget=4, checkpoint_step=4))
    assert kept.proposal(7, 8) == Proposal({"q": 0.5}, 8, 7, 4)
    assert kept.proposal(7, 4) == Proposal({"q": 0.5}, 4, 7, 0)  # not below: retrains
    kept.keep(Trial(7, {"q": 0.5}, 1, Status.DONE, budget=8, checkpoint_step=None))
    assert kept.proposal(7, 16) == Proposal({"q": 0.5}, 16, 7, 0)  # saved none since


def whole_epochs(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trains epoch by epoch to ``ctx.budget``, which must be a whole number of epochs."""
    assert type(ctx.budget) is int
    loss = 1.0
    for epoch in range(ctx.start_step, ctx.budget):
        ctx.elapse(1.0)
        loss = float(config["q"] + 1 / (epoch + 1))
        ctx.report(epoch + 1, loss=loss)
    return loss


@pytest.mark.parametrize("stopping", [False, True])
def test_asha_on_whole_rungs_runs_range_and_judges_every_rung(stopping: bool) -> None:
    result = pt.tune(
        whole_epochs,
        SPACE,
        metric="loss",
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=100, eta=3, stopping=stopping),
        executor="simulated",
        workers=4,
        max_trials=27 if stopping else 81,  # 81 = 3**4: one trial climbs to the top
        seed=1,
        store=None,
    )
    assert failures(result) == 0
    # Trials end (stopped, or not promoted) at the rungs, 4 and 11 among them, and some
    # reach the top.
    budgets = set(Counter(trial.budget for trial in result.trial_list))
    assert {1, 4, 11, 100} <= budgets <= {1, 4, 11, 33, 100}
    assert stopping or budgets == {1, 4, 11, 33, 100}


def test_fifo_runs_every_trial_at_its_max_budget(tmp_path: Path) -> None:
    result = pt.tune(
        whole_epochs,
        SPACE,
        metric="loss",
        scheduler=FIFO(budget="epochs", max_budget=6),
        executor="simulated",
        workers=2,
        max_trials=5,
        seed=0,
        store=tmp_path / "fifo.db",
    )
    assert failures(result) == 0
    assert [trial.budget for trial in result.trial_list] == [6] * 5
    last = result.reports.groupby("trial_id")["step"].max()
    assert last.tolist() == [6] * 5


def test_one_objective_serves_fifo_and_asha() -> None:
    def run(scheduler: Any) -> pt.TuneResult:
        return pt.tune(
            whole_epochs,
            SPACE,
            metric="loss",
            scheduler=scheduler,
            executor="simulated",
            workers=2,
            max_trials=9,  # 9 at rung 1, 3 at 3, 1 at 9
            seed=0,
            store=None,
        )

    fifo = run({"type": "fifo", "budget": "epochs", "max_budget": 9})
    asha = run({"type": "asha", "budget": "epochs", "max_budget": 9, "eta": 3})
    assert failures(fifo) == failures(asha) == 0
    assert {trial.budget for trial in fifo.trial_list} == {9}
    assert 9 in {trial.budget for trial in asha.trial_list}


def test_fifo_without_a_budget_is_as_it_was() -> None:
    proposal = FIFO().next_job(Suggestions(lambda: {"x": 1}))
    assert proposal is not None and proposal.budget is None
    assert repr(FIFO()) == "FIFO()"
    assert isinstance(make_scheduler("fifo"), FIFO)
    plain = make_scheduler({"type": "fifo"})
    assert isinstance(plain, FIFO) and plain.max_budget is None
    fifo = make_scheduler({"type": "fifo", "budget": "epochs", "max_budget": 64})
    assert repr(fifo) == "FIFO(budget='epochs', max_budget=64)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_budget": 0}, "max_budget must be a number > 0"),
        ({"max_budget": float("inf")}, "max_budget must be finite"),
        ({"max_budget": "64"}, "max_budget must be a number > 0"),
        ({"budget": ""}, "budget must name the budget"),
        ({"eta": 2}, r"scheduler 'fifo': .*'eta'.*its options are type and budget, max_budget"),
    ],
)
def test_fifo_refuses_bad_options_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_scheduler({"type": "fifo", **options})
