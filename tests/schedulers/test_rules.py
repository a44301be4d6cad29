"""The schedulers' rules, driven directly: promotion order, the 1/eta rule, the stopping
rule, Hyperband's deal, synchronous rungs, and bad arguments."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.schedulers import ASHA, FIFO, Hyperband, SuccessiveHalving, Suggestions
from paratune.schedulers._ladder import Ladder, rung_budgets
from paratune.trial import Config, Proposal, Status, Trial


def configs(first_id: int = 0) -> Suggestions:
    """Endless configurations: trial k gets ``{"i": k}``."""
    ids = itertools.count(first_id)
    return Suggestions(lambda: {"i": next(ids)}, first_id)


def pool(*configs: Config) -> Suggestions:
    """These configurations, then None."""
    return Suggestions(functools.partial(next, iter(configs), None))


def take(scheduler: Any, source: Suggestions) -> Proposal | None:
    return scheduler.next_job(source)  # type: ignore[no-any-return]


def done(trial_id: int, budget: float, loss: float, checkpoint: int | None = None) -> Trial:
    return Trial(
        trial_id, {"i": trial_id}, 0, Status.DONE, loss, budget=budget, checkpoint_step=checkpoint
    )


def test_rung_budgets_and_their_errors() -> None:
    assert rung_budgets(1, 64, 2) == [1, 2, 4, 8, 16, 32, 64]
    assert rung_budgets(1, 81, 3) == [1, 3, 9, 27, 81]
    assert rung_budgets(0.5, 2.0, 2) == [0.5, 1.0, 2.0]
    assert rung_budgets(4, 4, 2) == [4]
    for args, message in [
        ((0, 8, 2), "min_budget must be a number > 0"),
        ((1, float("inf"), 2), "max_budget must be finite"),
        ((8, 4, 2), r"max_budget \(4\) must be >= min_budget \(8\)"),
        ((1, 8, 1), "eta must be a number > 1"),
        ((1, 8, True), "eta must be a number > 1"),
    ]:
        with pytest.raises(ValueError, match=message):
            rung_budgets(*args)


def test_bad_scheduler_arguments_name_the_argument_through_tune() -> None:
    with pytest.raises(ValueError, match="budget must name the budget"):
        ASHA(budget="")
    with pytest.raises(ValueError, match="brackets must be at most the number of rungs"):
        Hyperband(min_budget=1, max_budget=4, eta=2, brackets=5)
    with pytest.raises(ValueError, match="candidates must be an integer >= 1"):
        SuccessiveHalving(candidates=0)
    with pytest.raises(pt.SpecError, match="scheduler: unknown scheduler 'asha2'"):
        pt.tune(lambda c: 0.0, {"x": pt.Float(0, 1)}, scheduler="asha2", max_trials=1)


def test_asha_promotes_from_the_highest_rung_first_and_the_best_first() -> None:
    asha, source = ASHA(min_budget=1, max_budget=8, eta=2), configs()
    proposals = [take(asha, source) for _ in range(6)]
    assert [p.budget for p in proposals if p] == [1] * 6  # nothing to promote yet
    for trial_id, loss in enumerate([0.6, 0.5, 0.4, 0.3, 0.2, 0.1]):
        asha.on_result(done(trial_id, 1, loss))
    # Rung 0 has 6 results: its top 3 (5, 4, 3) are promotable, best first.
    first = take(asha, source)
    assert first == Proposal({"i": 5}, 2, 5, 0)
    asha.on_result(done(5, 2, 0.05))
    second = take(asha, source)
    assert second is not None and (second.trial_id, second.budget) == (4, 2)
    asha.on_result(done(4, 2, 0.06))
    # Rung 1 now has 2 results: its best (5) goes to rung 2 before rung 0's last promotion.
    third = take(asha, source)
    assert third is not None and (third.trial_id, third.budget) == (5, 4)
    fourth = take(asha, source)
    assert fourth is not None and (fourth.trial_id, fourth.budget) == (3, 2)
    # Rung 0's top 3 are taken: a new trial starts at the bottom.
    fifth = take(asha, source)
    assert fifth is not None and (fifth.trial_id, fifth.budget) == (None, 1)


def test_asha_never_promotes_a_running_trial_and_resumes_from_checkpoints() -> None:
    asha, source = ASHA(min_budget=1, max_budget=4, eta=2), configs()
    for _ in range(2):
        take(asha, source)
    asha.on_result(done(0, 1, 0.1, checkpoint=1))
    asha.on_result(done(1, 1, 0.2, checkpoint=1))
    promotion = take(asha, source)
    assert promotion == Proposal({"i": 0}, 2, 0, 1)  # from its checkpoint at step 1
    # A report of trial 0 at rung 1 while it still runs does not make it promotable.
    assert asha.on_report(0, 2, 0.05)
    asha.on_result(done(2, 1, 0.3))  # a third result at rung 0: nothing more in its top 1
    after = take(asha, source)
    assert after is not None and after.trial_id is None


def test_a_finite_pool_ends_when_nothing_is_promotable() -> None:
    asha = ASHA(min_budget=1, max_budget=2, eta=2)
    source = pool({"i": 0}, {"i": 1})
    assert take(asha, source) is not None and take(asha, source) is not None
    assert take(asha, source) is None  # both running, no config left
    asha.on_result(done(0, 1, 0.5))
    asha.on_result(done(1, 1, 0.7))
    promoted = take(asha, source)
    assert promoted is not None and promoted.trial_id == 0
    assert take(asha, source) is None


def test_the_stopping_rule_keeps_the_top_fraction_of_each_rung() -> None:
    asha = ASHA(min_budget=1, max_budget=8, eta=2, stopping=True)
    source = configs()
    proposal = take(asha, source)
    assert proposal is not None and proposal.budget == 8  # straight to the top budget
    assert asha.on_report(0, 1, 0.5)  # the first at a rung always goes on
    assert not asha.on_report(1, 1, 0.6)  # n=2: only the best goes on
    assert asha.on_report(2, 1, 0.4)  # better than all
    assert not asha.on_report(3, 1, 0.55)  # n=4: top 2 are 0.4, 0.5
    assert asha.on_report(4, 1, 0.45)  # n=5: top 2 are 0.4, 0.45
    assert asha.on_report(0, 3, 0.1)  # not a rung step: no decision
    assert asha.on_report(0, 8, 0.9)  # the top rung: never stopped


def test_hyperband_deals_trials_to_brackets_in_its_proportions() -> None:
    hyperband = Hyperband(min_budget=1, max_budget=8, eta=2)  # rungs 1, 2, 4, 8
    assert hyperband.brackets == 3
    source = configs()
    starts = [p.budget for p in (take(hyperband, source) for _ in range(40)) if p]
    # Bracket sizes ceil(4/4*8)=8, ceil(4/3*4)=6, ceil(4/2*2)=4: 18 trials a cycle.
    cycle = starts[:18]
    assert (cycle.count(1), cycle.count(2), cycle.count(4)) == (8, 6, 4)
    assert starts[18:36] == cycle  # the same deal every cycle
    assert [hyperband.bracket_of(i) for i in range(18)] == [
        {1: 0, 2: 1, 4: 2}[int(b or 0)] for b in cycle
    ]


def test_hyperband_promotes_to_the_highest_budget_across_brackets() -> None:
    hyperband = Hyperband(min_budget=1, max_budget=8, eta=2)
    source = configs()
    by_bracket: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for trial_id in range(18):
        take(hyperband, source)
        by_bracket[hyperband.bracket_of(trial_id)].append(trial_id)
    for bracket, budget in ((0, 1), (1, 2), (2, 4)):
        for rank, trial_id in enumerate(by_bracket[bracket]):
            hyperband.on_result(done(trial_id, budget, 0.1 * rank))
    first = take(hyperband, source)
    assert first is not None and first.trial_id == by_bracket[2][0] and first.budget == 8
    second = take(hyperband, source)
    assert second is not None and second.trial_id == by_bracket[2][1]
    third = take(hyperband, source)
    assert third is not None and third.budget == 4 and third.trial_id == by_bracket[1][0]


def test_synchronous_halving_waits_for_the_whole_rung() -> None:
    halving = SuccessiveHalving(min_budget=1, max_budget=4, eta=2, candidates=4)
    source = configs()
    firsts = [take(halving, source) for _ in range(4)]
    assert [p.budget for p in firsts if p] == [1, 1, 1, 1]
    assert take(halving, source) is None  # the rung is full, not finished
    for trial_id, loss in enumerate([0.4, 0.1, 0.3, 0.2]):
        halving.on_result(done(trial_id, 1, loss))
        if trial_id < 3:
            assert take(halving, source) is None  # still waiting for the rung
    promoted = [take(halving, source), take(halving, source)]
    assert [(p.trial_id, p.budget) for p in promoted if p] == [(1, 2), (3, 2)]
    assert take(halving, source) is None
    halving.on_result(done(1, 2, 0.05))
    halving.on_result(done(3, 2, 0.15))
    top = take(halving, source)
    assert top is not None and (top.trial_id, top.budget) == (1, 4)
    halving.on_result(done(1, 4, 0.01))
    again = take(halving, source)  # a new round, with new configurations
    assert again is not None and again.trial_id is None and again.budget == 1


def test_fifo_lets_every_trial_go_on() -> None:
    assert FIFO().on_report(0, 1, 0.5)


def test_ladder_ranks_and_ignores_repeats() -> None:
    ladder = Ladder([1, 2], 2)
    ladder.record(0, 7, 0.5)
    ladder.record(0, 7, 0.1)  # a repeat (a report, then the job's end): the first counts
    ladder.record(0, 8, 0.3)
    assert ladder.results[0] == [(0.3, 8), (0.5, 7)]
    assert ladder.rank(0, 0.4) == 1 and ladder.best_fraction(0) == 1
    ladder.record(1, 8, 0.2)
    assert 8 in ladder.promoted[0]


def test_schedulers_from_names_and_spec_dicts() -> None:
    from paratune.schedulers import make_scheduler

    assert isinstance(make_scheduler("asha"), ASHA)
    assert isinstance(make_scheduler({"type": "fifo"}), FIFO)
    made = make_scheduler({"type": "hyperband", "min_budget": 1, "max_budget": 9, "eta": 3})
    assert isinstance(made, Hyperband) and made.budgets == [1, 3, 9]
    with pytest.raises(ValueError, match="a scheduler dict needs 'type'"):
        make_scheduler({"min_budget": 1})
    with pytest.raises(ValueError, match=r"scheduler 'asha': .*'rungs'.*its options are type"):
        make_scheduler({"type": "asha", "rungs": 3})


def test_a_spec_runs_asha_from_a_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "curves.py").write_text(
        "def objective(config, ctx):\n"
        "    for epoch in range(ctx.start_step, int(ctx.budget)):\n"
        "        ctx.report(epoch + 1, loss=config['q'] + 1 / (epoch + 1))\n"
        "    return config['q'] + 1 / ctx.budget\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "objective: curves:objective\n"
        "space: {q: {type: float, low: 0, high: 1}}\n"
        "metric: loss\n"
        "scheduler: {type: asha, budget: epochs, min_budget: 1, max_budget: 4, stopping: true}\n"
        "executor: simulated\nworkers: 2\nmax_trials: 8\n"
    )
    from paratune.spec import load_run_spec

    result = pt.tune(**load_run_spec(spec), store=None)
    assert {t.status for t in result.trial_list} <= {pt.Status.DONE, pt.Status.PRUNED}
    assert any(t.status is pt.Status.PRUNED for t in result.trial_list)


def test_hyperband_deals_each_new_trial_by_the_id_suggest_gives() -> None:
    for first_id in range(18):
        hyperband = Hyperband(min_budget=1, max_budget=8, eta=2)
        proposal = take(hyperband, configs(first_id))
        start = hyperband.ladders[hyperband.bracket_of(first_id)].budgets[0]
        assert proposal is not None and proposal.budget == start
    first, second = (
        take(Hyperband(min_budget=1, max_budget=8, eta=2), configs(i)) for i in (0, 1)
    )
    assert first is not None and second is not None
    assert first.budget != second.budget  # the first two ids start in different brackets


def test_synchronous_halving_waits_for_the_trials_suggest_numbered() -> None:
    halving = SuccessiveHalving(min_budget=1, max_budget=2, eta=2, candidates=2)
    source = configs(first_id=10)
    assert [p.config for p in (take(halving, source), take(halving, source)) if p] == [
        {"i": 10},
        {"i": 11},
    ]
    halving.on_result(done(10, 1, 0.4))
    assert take(halving, source) is None  # trial 11 has not ended
    halving.on_result(done(11, 1, 0.2))
    promoted = take(halving, source)
    assert promoted is not None and (promoted.trial_id, promoted.budget) == (11, 2)
