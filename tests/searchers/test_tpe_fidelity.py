"""TPE under multi-fidelity schedulers (BOHB-style): the models fit the trials that reached
the highest budget that enough trials reached, at their latest values; runs without budgets
suggest what they did before budgets were modelled."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.schedulers import ASHA, FIFO, Hyperband
from paratune.searchers import TPE
from paratune.searchers._tpebudgets import ResultsByBudget
from paratune.space import Float, Space
from paratune.trial import Config

from ._problems import BRANIN, MIXED, branin, done, drive, mixed_loss
from .test_tpe import fitted

# ----------------------------------------------------------------------------- the results


def test_results_count_the_trials_that_reached_each_budget() -> None:
    results = ResultsByBudget()
    assert results.fidelity(1) is None and results.valued == 0
    assert [part.tolist() for part in results.at(None)] == [[], []]
    for row in range(6):
        results.add(row, 1.0, 10.0 + row)
    results.add(6, 1.0, math.inf)  # failed: a row that reached no budget
    for row in (0, 1, 2):
        results.add(row, 3.0, 5.0 + row)  # promoted
    results.add(0, 9.0, 1.0)
    assert results.budgets == [1.0, 3.0, 9.0] and results.valued == 6
    # The highest budget that `enough` trials reached, else the lowest.
    assert [results.fidelity(enough) for enough in (1, 2, 3, 4, 7)] == [2, 1, 1, 0, 0]
    # Each trial at its latest value; failed ones at every budget, as inf.
    assert [part.tolist() for part in results.at(1)] == [[0, 1, 2, 6], [1.0, 6.0, 7.0, math.inf]]
    assert results.at(0)[1].tolist() == [1.0, 6.0, 7.0, 13.0, 14.0, 15.0, math.inf]
    results.add(0, 3.0, 99.0)  # below the highest budget it reached: ignored
    results.add(0, 9.0, 0.5)  # at it: replaces
    assert [part.tolist() for part in results.at(2)] == [[0, 6], [0.5, math.inf]]


def test_a_budget_first_seen_between_others_counts_the_trials_above_it() -> None:
    results = ResultsByBudget()
    for row, budget in enumerate([1.0, 9.0, 1.0, 3.0]):
        results.add(row, budget, float(row))
    # Hyperband starts brackets at higher rungs: a trial first seen at 27 reached them all.
    results.add(4, 27.0, 4.0)
    results.add(2, 5.0, 2.5)  # promoted from 1 to a budget new between 3 and 9
    assert results.budgets == [1.0, 3.0, 5.0, 9.0, 27.0]
    assert results.valued == 5
    # 5 trials reached 1, 4 reached 3, 3 reached 5, 2 reached 9 and 1 reached 27.
    fitted_at = [results.budgets[results.fidelity(enough) or 0] for enough in (5, 4, 3, 2, 1)]
    assert fitted_at == [1.0, 3.0, 5.0, 9.0, 27.0]
    assert [part.tolist() for part in results.at(2)] == [[1, 2, 4], [1.0, 2.5, 4.0]]
    results.add(5, 1.0, math.inf)  # failed, then a value after all: no longer failed
    results.add(5, 3.0, 0.25)
    assert results.valued == 6 and results.at(1)[0].tolist() == [1, 2, 3, 4, 5]


# ----------------------------------------------------------------------------- the searcher


def test_the_models_fit_the_highest_budget_that_enough_trials_reached() -> None:
    searcher = TPE(startup=1)  # one parameter: a budget needs max(2 * 1, 1 + 2) = 3 trials
    searcher.setup(Space({"x": Float(0, 1)}), seed=0, workers=2, max_trials=None)
    configs = [searcher.suggest() for _ in range(6)]
    for trial_id, config in enumerate(configs):
        assert config is not None
        searcher.observe(done(trial_id, config, 10.0 - trial_id, budget=1))
    searcher.observe(done(0, configs[0], 3.0, budget=3))  # type: ignore[arg-type]
    searcher.observe(done(1, configs[1], 2.0, budget=3))  # type: ignore[arg-type]
    # Two trials reached 3: the models still fit every trial, promoted ones at 3.
    rows, values = fitted(searcher)
    assert rows.tolist() == [0, 1, 2, 3, 4, 5]
    assert values.tolist() == [3.0, 2.0, 8.0, 7.0, 6.0, 5.0]
    searcher.observe(done(2, configs[2], 4.0, budget=3))  # type: ignore[arg-type]
    rows, values = fitted(searcher)
    assert rows.tolist() == [0, 1, 2] and values.tolist() == [3.0, 2.0, 4.0]
    below, above = searcher._split()
    assert below.tolist() == [1] and above.tolist() == [0, 2]
    # Pending configs are still liars in the bad model, whatever budget the models fit.
    pending = [searcher.suggest(), searcher.suggest()]
    assert None not in pending and len(searcher._pending) == 2


def test_start_up_counts_values_at_any_budget() -> None:
    searcher = TPE(startup=3)
    searcher.setup(Space({"x": Float(0, 1)}), seed=0, workers=1, max_trials=None)
    first = searcher.suggest()
    assert first is not None
    searcher.observe(done(0, first, 1.0, budget=27))  # a trial started at the top rung
    for trial_id in (1, 2):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(done(trial_id, config, 2.0, budget=1))
    assert searcher._results.valued == 3
    assert fitted(searcher)[0].tolist() == [0, 1, 2]  # no budget above 1 has 3 trials


# ----------------------------------------------------------------------------- flat runs

# What TPE suggested before it modelled budgets (the last three configs of each run): runs
# without budgets, or with one budget for all (FIFO's max_budget), must not change. TUNED
# was taken again when pending trials took Optuna's age weights (the run has 4 workers).
DRIVEN = [
    (0.005709420412, 0.367271884912, 11, "good"),
    (0.013596692961, 0.336959908657, 2, "good"),
    (0.052098951479, 0.468312524984, 2, "good"),
]
TUNED = [
    (2.532552618948, 2.985089540734),
    (-2.525868153061, 1.847996758828),
    (3.86000742502, 3.27199878782),
]


def test_suggestions_without_budgets_are_as_before() -> None:
    configs = drive(TPE(), MIXED, mixed_loss, 40, seed=9)
    assert [
        (round(c["lr"], 12), round(c["x"], 12), c["n"], c["kind"]) for c in configs[-3:]
    ] == DRIVEN


@pytest.mark.parametrize("budget", [None, 5], ids=["no-budget", "fifo-max-budget"])
def test_tuned_runs_without_budgets_are_as_before(budget: int | None) -> None:
    def objective(config: Config) -> float:
        if config["x1"] > 7.5:
            raise RuntimeError("diverged")
        return branin(config)

    scheduler = FIFO() if budget is None else FIFO(budget="epochs", max_budget=budget)
    result = pt.tune(
        objective,
        BRANIN,
        scheduler=scheduler,
        searcher="tpe",
        executor="simulated",
        workers=4,
        max_trials=40,
        seed=3,
        store=None,
    )
    trials = result.trial_list
    assert [(round(t.config["x1"], 12), round(t.config["x2"], 12)) for t in trials[-3:]] == TUNED
    assert sum(t.status is pt.Status.FAILED for t in trials) == 4
    assert {t.budget for t in trials} == {budget}


# ----------------------------------------------------------------------------- runs

CENTRE = np.array([0.3, 0.7, 0.2, 0.6, 0.45])
SPACE = {f"x{i}": pt.Float(0, 1) for i in range(5)}
TOP = 27


def sphere(config: Config) -> float:
    x = np.array([config[f"x{i}"] for i in range(5)])
    return float(((x - CENTRE) ** 2).sum())


def learning_curve(config: dict[str, Any], ctx: pt.Context) -> float:
    """A loss that falls towards a 5-d sphere's as the budget grows; low budgets rank
    configs about as the top budget does."""
    assert ctx.budget is not None
    budget = float(ctx.budget)
    ctx.elapse(budget)
    return sphere(config) + (1.0 + 0.5 * math.sin(7 * config["x0"])) / budget


def schedulers() -> dict[str, Any]:
    return {
        "asha": lambda: ASHA(budget="epochs", min_budget=1, max_budget=TOP, eta=3),
        "hyperband": lambda: Hyperband(budget="epochs", min_budget=1, max_budget=TOP, eta=3),
    }


def tuned(searcher: str | TPE, scheduler: str, seed: int) -> pt.TuneResult:
    return pt.tune(
        learning_curve,
        SPACE,
        scheduler=schedulers()[scheduler](),
        searcher=searcher,
        executor="simulated",
        workers=4,
        max_trials=100,
        seed=seed,
        store=None,
    )


def regret_at_the_top(result: pt.TuneResult) -> float:
    """How far the config that did best at the top budget is from the sphere's minimum."""
    top = [t for t in result.trial_list if t.budget == TOP and t.value is not None]
    return sphere(min(top, key=lambda t: t.value or 0.0).config)


@pytest.mark.parametrize("scheduler", ["asha", "hyperband"])
def test_bohb_style_finds_better_final_values_than_random_search(scheduler: str) -> None:
    def median_best(searcher: str) -> float:
        return statistics.median(
            regret_at_the_top(tuned(searcher, scheduler, seed)) for seed in range(5)
        )

    # Median regrets of 0.056 against 0.099 under ASHA, 0.021 against 0.096 under Hyperband.
    tpe, random = median_best("tpe"), median_best("random")
    assert tpe < 0.7 * random, (tpe, random)


class _Fidelities(TPE):
    """A TPE that records the budget its models fit at each model-made suggestion."""

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        super().setup(space, seed=seed, workers=workers, max_trials=max_trials)
        self.fidelities: list[float] = []

    def suggest(self) -> Config | None:
        results = self._results
        index = results.fidelity(self._enough)
        if index is not None and results.valued >= self.startup:
            self.fidelities.append(results.budgets[index])
        return super().suggest()


@pytest.mark.parametrize("scheduler", ["asha", "hyperband"])
def test_the_models_move_up_the_rungs_and_runs_repeat(scheduler: str) -> None:
    searcher = _Fidelities()
    first, second = tuned(searcher, scheduler, seed=1), tuned("tpe", scheduler, seed=1)
    assert searcher.fidelities[0] == 1
    assert searcher.fidelities == sorted(searcher.fidelities)  # rungs only fill up
    assert searcher.fidelities[-1] >= 9
    assert [(t.config, t.budget, t.value) for t in first.trial_list] == [
        (t.config, t.budget, t.value) for t in second.trial_list
    ]
