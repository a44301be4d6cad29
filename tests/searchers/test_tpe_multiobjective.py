"""TPE with several objectives and with constraints (MOTPE): the good trials are the first in
Pareto order, infeasible ones only when too few are feasible; one metric without
constraints is as before."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.objectives import Objectives
from paratune.pareto import hypervolume, pareto_order, pareto_ranks
from paratune.schedulers import ASHA
from paratune.searchers import TPE, Searcher, make_searcher
from paratune.searchers._tpesplit import good_positions, good_weights, pareto_best, scores
from paratune.space import Float, Space
from paratune.trial import Config, Status, Trial

from ._problems import MIXED, drive, failed, mixed_loss
from .test_tpe import distinct, units

Metrics = Mapping[str, float]

ZDT1_SPACE = Space({f"x{i}": Float(0.0, 1.0) for i in range(5)})
TWO = Objectives.of(["f1", "f2"])


def zdt1(config: Config) -> dict[str, float]:
    """ZDT1 (Zitzler, Deb and Thiele 2000) in five parameters: ``f1 = x0``, ``g = 1 + 9 *
    mean(x1..x4)``, ``f2 = g * (1 - sqrt(f1 / g))``; its front, ``f2 = 1 - sqrt(f1)``, is
    where x1..x4 are 0."""
    x = np.array([config[f"x{i}"] for i in range(5)])
    g = 1.0 + 9.0 * float(x[1:].mean())
    return {"f1": float(x[0]), "f2": g * (1.0 - math.sqrt(float(x[0]) / g))}


def measured(
    trial_id: int,
    config: Config,
    metrics: Metrics,
    goals: Objectives,
    budget: float | None = None,
    status: Status = Status.DONE,
) -> Trial:
    """A trial as the tuner hands it to a searcher: its value the primary loss, None when
    it breaks a constraint."""
    losses, violation = goals.losses(metrics), goals.violation(metrics)
    feasible = losses is not None and violation == 0.0
    value = losses[0] if losses is not None and feasible else None
    return Trial(trial_id, config, trial_id, status, value=value, metrics=metrics, budget=budget)


def run(
    searcher: Searcher,
    goals: Objectives | None,
    space: Space,
    objective: Callable[[Config], Metrics],
    steps: int,
    seed: int,
) -> tuple[list[Config], list[Metrics]]:
    """Suggest and observe ``steps`` trials one at a time; aim first when ``goals``."""
    if goals is not None:
        assert isinstance(searcher, TPE)
        searcher.aim(goals)
    searcher.setup(space, seed=seed, workers=1, max_trials=steps)
    configs, results = [], []
    for trial_id in range(steps):
        config = searcher.suggest()
        assert config is not None
        metrics = objective(config)
        searcher.observe(measured(trial_id, config, metrics, goals or TWO))
        configs.append(config)
        results.append(metrics)
    return configs, results


def zdt1_hypervolume(results: list[Metrics], goals: Objectives = TWO) -> float:
    losses = np.array([goals.losses(metrics) for metrics in results])
    return hypervolume(losses, reference=[1.1, 1.1])


def mo_tpe(goals: Objectives = TWO, **kwargs: Any) -> TPE:
    searcher = TPE(**kwargs)
    searcher.aim(goals)
    return searcher


# ----------------------------------------------------------------------------- one metric


@pytest.mark.parametrize("mode", ["min", "max"])
def test_aim_with_one_metric_and_no_constraint_changes_nothing(mode: str) -> None:
    plain = drive(TPE(), MIXED, mixed_loss, 30, seed=9)
    aimed = TPE()
    aimed.aim(Objectives.of("loss", mode))
    assert drive(aimed, MIXED, mixed_loss, 30, seed=9) == plain
    # Kept across setup: a second run of the same searcher is the same run again.
    assert drive(aimed, MIXED, mixed_loss, 30, seed=9) == plain


# ----------------------------------------------------------------------------- the split


def test_a_trial_counts_as_its_violation_and_its_losses() -> None:
    goals = Objectives.of(["f1", "f2"], ["min", "max"], {"c": ("<=", 1.0)})
    metrics = {"f1": 1.0, "f2": 2.0, "c": 3.0}
    assert scores(measured(0, {}, metrics, goals), goals).tolist() == [2.0, 1.0, -2.0]
    pruned = measured(1, {}, {**metrics, "c": 0.5}, goals, status=Status.PRUNED)
    assert scores(pruned, goals).tolist() == [0.0, 1.0, -2.0]
    # Failed, or done without the metrics: bad. Cancelled, or pruned without them: left out.
    for trial, expected in [
        (failed(2, {}), math.inf),
        (Trial(3, {}, 3, Status.DONE, value=1.0), math.inf),
        (Trial(4, {}, 4, Status.CANCELLED), math.nan),
        (Trial(5, {}, 5, Status.PRUNED, metrics={"f1": 1.0}), math.nan),
    ]:
        np.testing.assert_array_equal(scores(trial, goals), np.full(3, expected))


@pytest.mark.parametrize("objectives", [1, 2, 3, 4])
@pytest.mark.parametrize("points", [40, 600])
@pytest.mark.parametrize("infeasible", [0.0, 0.5, 0.97])
def test_the_best_points_are_the_head_of_pareto_order(
    objectives: int, points: int, infeasible: float
) -> None:
    rng = np.random.default_rng(objectives * points)
    # Rounded: equal losses and equal violations, whose order the tie-breaks decide.
    losses = rng.random((points, objectives)).round(1 if objectives < 3 else 2)
    violations = np.where(rng.random(points) < infeasible, rng.integers(1, 5, points) / 2, 0.0)
    order = pareto_order(losses, violations)
    ranks = pareto_ranks(losses, violations)
    for count in (1, 5, 25):
        best = pareto_best(losses, violations, count)
        if objectives < 3 or np.count_nonzero(violations == 0) < count:
            assert best.tolist() == order[:count].tolist()
        else:
            # The same fronts; the last one cut by hypervolume contribution, not crowding.
            assert sorted(ranks[best]) == sorted(ranks[order[:count]])


def test_with_three_metrics_a_cut_front_keeps_the_largest_contributions() -> None:
    """Of a front too large for the good trials, those kept add the most volume: not the
    extremes that crowding keeps first, each far out on the other metrics."""
    front = np.array(
        [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.3, 0.3, 0.3], [0.35, 0.3, 0.25]]
    )
    kept = pareto_best(front, np.zeros(len(front)), 2).tolist()
    assert sorted(kept) == [3, 4]
    assert set(pareto_order(front)[:2].tolist()) <= {0, 1, 2}  # crowding: the extremes


def test_the_good_trials_are_the_first_in_pareto_order_and_failed_ones_never() -> None:
    inf = math.inf
    values = np.array(
        [
            [0.0, 3.0, 3.0],  # dominated
            [inf, inf, inf],  # failed
            [0.0, 1.0, 4.0],  # front
            [2.0, 0.0, 0.0],  # infeasible
            [0.0, 4.0, 1.0],  # front
            [0.0, 2.0, 2.0],  # front, between the two others: least crowded last
            [0.5, 0.0, 0.0],  # infeasible, less so
        ]
    )
    # Six with a result: ceil(gamma * 6) good.
    assert good_positions(values, 0.3).tolist() == [2, 4]
    assert good_positions(values, 0.5).tolist() == [2, 4, 5]
    assert good_positions(values, 0.6).tolist() == [0, 2, 4, 5]
    # Infeasible trials only once every feasible one is good, the least violating first.
    assert good_positions(values, 0.8).tolist() == [0, 2, 4, 5, 6]
    assert good_positions(values, 1.0).tolist() == [0, 2, 3, 4, 5, 6]
    assert good_positions(values[[1, 3, 6]], 0.5).tolist() == [2]


def test_with_one_metric_and_a_constraint_feasible_trials_come_first_then_by_violation() -> None:
    goals = Objectives.of("loss", constraints={"c": ("<=", 0.0)})
    searcher = mo_tpe(goals, startup=1, gamma=0.5)
    searcher.setup(Space({"x": Float(0.0, 1.0)}), seed=0, workers=1, max_trials=None)
    results = [(0.9, 0.0), (0.1, 2.0), (0.5, 0.0), (0.0, 1.0), (0.7, 0.0), (0.2, 3.0)]
    for trial_id, (loss, excess) in enumerate(results):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(measured(trial_id, config, {"loss": loss, "c": excess}, goals))
    below, above = searcher._split()
    # Every feasible trial, though the infeasible ones have lower losses.
    assert below.tolist() == [0, 2, 4] and above.tolist() == [1, 3, 5]
    searcher.gamma = 0.6
    below, above = searcher._split()
    assert below.tolist() == [0, 2, 3, 4] and above.tolist() == [1, 5]  # the least violating


def test_a_best_point_that_many_points_dominate_is_kept() -> None:
    # 24 points on a front, all dominating one point, and many points behind them all: the
    # 25 best are the front and that point, though 24 points dominate it.
    rng = np.random.default_rng(0)
    front = rng.dirichlet(np.ones(3), size=200)
    front = front[front.max(axis=1) < 0.55][:24]
    behind = 1.0 + rng.random((400, 3))
    losses = np.vstack([behind[:200], front, [[0.6, 0.6, 0.6]], behind[200:]])
    best = pareto_best(losses, np.zeros(len(losses)), 25)
    assert sorted(best.tolist()) == list(range(200, 225))
    assert best.tolist() == pareto_order(losses)[:25].tolist()


# ----------------------------------------------------------------------------- the search


def test_zdt1_hypervolume_beats_random_search() -> None:
    tpe, random = [], []
    for seed in range(3):
        tpe.append(zdt1_hypervolume(run(mo_tpe(), TWO, ZDT1_SPACE, zdt1, 250, seed)[1]))
        random.append(
            zdt1_hypervolume(run(make_searcher("random"), None, ZDT1_SPACE, zdt1, 250, seed)[1])
        )
    # Random search barely reaches the reference box (about 0.02); the front's is 0.88.
    assert all(mine > theirs + 0.1 for mine, theirs in zip(tpe, random, strict=True))
    assert np.mean(tpe) > np.mean(random) + 0.3


def test_maximised_metrics_are_negated() -> None:
    def flipped(config: Config) -> dict[str, float]:
        metrics = zdt1(config)
        return {"f1": metrics["f1"], "f2": -metrics["f2"]}

    goals = Objectives.of(["f1", "f2"], {"f1": "min", "f2": "max"})
    configs = run(mo_tpe(goals), goals, ZDT1_SPACE, flipped, 60, 4)[0]
    # The same losses as ZDT1 minimised: the same search.
    assert configs == run(mo_tpe(), TWO, ZDT1_SPACE, zdt1, 60, 4)[0]
    assert configs != run(mo_tpe(goals), goals, ZDT1_SPACE, zdt1, 60, 4)[0]


SQUARE = Space({"x0": Float(0.0, 1.0), "x1": Float(0.0, 1.0)})


def two_basins(config: Config) -> dict[str, float]:
    """The deeper basin lies where ``c = x0 > 0.5``, half the square."""
    near = (config["x0"] - 0.25) ** 2 + (config["x1"] - 0.3) ** 2
    far = (config["x0"] - 0.8) ** 2 + (config["x1"] - 0.7) ** 2 - 0.05
    return {"loss": min(near, far), "c": config["x0"]}


def zdt1_above_half(config: Config) -> dict[str, float]:
    """ZDT1 where ``c = x0 < 0.5``, half the box, breaks ``c >= 0.5``."""
    return {**zdt1(config), "c": config["x0"]}


@pytest.mark.parametrize(
    ("goals", "space", "objective"),
    [
        (Objectives.of("loss", constraints={"c": ("<=", 0.5)}), SQUARE, two_basins),
        (Objectives.of(["f1", "f2"], constraints={"c": (">=", 0.5)}), ZDT1_SPACE, zdt1_above_half),
    ],
    ids=["one-metric", "two-metrics"],
)
def test_constraints_keep_the_suggestions_feasible(
    goals: Objectives, space: Space, objective: Callable[[Config], Metrics]
) -> None:
    def feasible_share(results: list[Metrics]) -> float:
        return float(np.mean([goals.violation(metrics) == 0.0 for metrics in results[30:]]))

    for seed in range(2):
        tpe = run(mo_tpe(goals), goals, space, objective, 100, seed)[1]
        random = run(make_searcher("random"), None, space, objective, 100, seed)[1]
        assert feasible_share(random) < 0.6 < 0.8 < feasible_share(tpe)
        # The best feasible trial is the constrained optimum, as near as random search gets.
        best = min(metrics[goals.metrics[0]] for metrics in tpe if goals.violation(metrics) == 0)
        assert best <= 0.51 if goals.several else best < 0.01


def test_eight_pending_suggestions_are_distinct_and_spread() -> None:
    searcher = mo_tpe()
    searcher.setup(ZDT1_SPACE, seed=3, workers=8, max_trials=None)
    for trial_id in range(20):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(measured(trial_id, config, zdt1(config), TWO))
    batch = [searcher.suggest() for _ in range(8)]  # eight idle workers, no new result
    configs = [config for config in batch if config is not None]
    assert len(configs) == 8 and distinct(configs) == 8
    assert len(searcher._pending) == 8
    points = units(ZDT1_SPACE, configs)
    gaps = np.linalg.norm(points[:, np.newaxis] - points[np.newaxis, :], axis=-1)
    assert gaps[np.triu_indices(8, k=1)].min() > 0.02


def test_failed_trials_are_bad_and_cancelled_ones_left_out() -> None:
    searcher = mo_tpe(startup=100)
    searcher.setup(ZDT1_SPACE, seed=0, workers=1, max_trials=None)
    ended = []
    for trial_id in range(12):
        config = searcher.suggest()
        assert config is not None
        if trial_id == 3:
            ended.append(failed(trial_id, config))
        elif trial_id == 5:
            ended.append(Trial(trial_id, config, trial_id, Status.CANCELLED))
        else:
            ended.append(measured(trial_id, config, zdt1(config), TWO))
        searcher.observe(ended[-1])
    rows, values = searcher._results.at(searcher._results.fidelity(searcher._enough))
    assert len(rows) == 11  # the cancelled trial is no row
    assert np.isinf(values[3]).all() and np.isfinite(np.delete(values, 3, axis=0)).all()
    below, above = searcher._split()
    assert 3 in above.tolist() and len(below) == 1  # ceil(0.1 * 10 trials with a result)


def test_under_budgets_the_split_is_of_the_trials_at_the_budget_the_models_fit() -> None:
    searcher = mo_tpe(startup=2, gamma=0.5)
    searcher.setup(SQUARE, seed=0, workers=1, max_trials=None)
    assert searcher._enough == 4
    goals = TWO
    configs: list[Config] = []
    for trial_id in range(8):
        config = searcher.suggest()
        assert config is not None
        configs.append(config)
        metrics = {"f1": float(trial_id), "f2": float(8 - trial_id)}  # all on one front
        searcher.observe(measured(trial_id, configs[-1], metrics, goals, budget=1.0))
    # Four promoted: at budget 3, trial 6 dominates the others, 4 and 5 are dominated.
    later = {4: (5.0, 5.0), 5: (4.0, 6.0), 6: (1.0, 1.0), 7: (2.0, 3.0)}
    for trial_id, (f1, f2) in later.items():
        promoted = measured(trial_id, configs[trial_id], {"f1": f1, "f2": f2}, goals, budget=3.0)
        searcher.observe(promoted)
    below, above = searcher._split()
    assert below.tolist() == [6, 7] and above.tolist() == [4, 5]
    # A lower budget's result after a higher one's changes nothing.
    searcher.observe(measured(6, configs[6], {"f1": 9.0, "f2": 9.0}, goals, budget=1.0))
    assert searcher._split()[0].tolist() == [6, 7]


def test_same_seed_and_observations_give_same_suggestions() -> None:
    first = run(mo_tpe(), TWO, ZDT1_SPACE, zdt1, 30, 9)[0]
    assert run(mo_tpe(), TWO, ZDT1_SPACE, zdt1, 30, 9)[0] == first
    assert run(mo_tpe(), TWO, ZDT1_SPACE, zdt1, 30, 10)[0] != first


# ----------------------------------------------------------------------------- through tune


def test_a_run_through_tune_with_two_metrics_and_a_constraint() -> None:
    def objective(config: Config) -> dict[str, float]:
        metrics = zdt1(config)
        return {"f1": metrics["f1"], "f2": -metrics["f2"], "c": config["x0"]}

    def tuned(searcher: str) -> pt.TuneResult:
        return pt.tune(
            objective,
            ZDT1_SPACE,
            metric=["f1", "f2"],
            mode=["min", "max"],
            constraints={"c": (">=", 0.2)},
            searcher=searcher,
            store=None,
            executor="simulated",
            workers=4,
            max_trials=100,
            seed=1,
        )

    def front_volume(result: pt.TuneResult) -> float:
        losses = [(t.metrics["f1"], -t.metrics["f2"]) for t in result.best_trials]
        return hypervolume(np.array(losses).reshape(-1, 2), reference=[1.1, 1.1])

    first, again = tuned("tpe"), tuned("tpe")
    assert [(t.config, dict(t.metrics)) for t in first.trial_list] == [
        (t.config, dict(t.metrics)) for t in again.trial_list
    ]
    assert len(first.trial_list) == 100
    for trial in first.trial_list:
        assert (trial.value is None) == (trial.metrics["c"] < 0.2)
    assert first.best_trials and all(t.metrics["c"] >= 0.2 for t in first.best_trials)
    assert front_volume(first) > front_volume(tuned("random")) + 0.2


class _Fidelities(TPE):
    """TPE noting the budget its models fit at each suggestion."""

    fitted: list[float]

    def _weighed_split(self) -> tuple[Any, Any, Any]:
        results = self._results
        index = results.fidelity(self._enough)
        assert index is not None  # after start-up, some trial has a result
        self.fitted = [*getattr(self, "fitted", []), results.budgets[index]]
        return super()._weighed_split()


def test_under_asha_the_models_move_up_to_the_top_budget() -> None:
    def curve(config: Config, ctx: pt.Context) -> dict[str, float]:
        assert ctx.budget is not None
        ctx.elapse(float(ctx.budget))
        metrics = zdt1(config)
        return {"f1": metrics["f1"], "f2": metrics["f2"] + 1.0 / float(ctx.budget)}

    searcher = _Fidelities()
    result = pt.tune(
        curve,
        ZDT1_SPACE,
        metric=["f1", "f2"],
        searcher=searcher,
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=9, eta=3),
        store=None,
        executor="simulated",
        workers=4,
        max_trials=80,
        seed=0,
    )
    assert {trial.budget for trial in result.trial_list} == {1, 3, 9}
    assert searcher.fitted[0] == 1.0 and searcher.fitted[-1] == 9.0


def test_good_weights_by_hypervolume_contribution() -> None:
    """A good trial's kernel weighs its share of the good front's volume over the largest
    share; a dominated or infeasible good trial weighs next to nothing."""
    results = np.array(
        [
            [0.0, 0.0, 1.0],  # on the front, at one end
            [0.0, 1.0, 0.0],  # the other end
            [0.0, 0.5, 0.5],  # the middle
            [0.0, 0.6, 0.6],  # dominated by the middle
            [2.0, 0.0, 0.0],  # infeasible
        ]
    )
    weights = good_weights(results)
    # Reference 1.1 times the worst losses of the feasible ones: (1.1, 1.1). The ends add
    # 0.5 * 0.1 each, the middle 0.5 * 0.5.
    assert weights[:3] == pytest.approx([0.2, 0.2, 1.0])
    assert weights[3] < 1e-9 and weights[4] < 1e-9


def test_good_model_follows_the_front_not_a_dominated_good_trial() -> None:
    """Of two good trials, one on the front and one that it dominates, suggestions come
    from the one on the front: the dominated one's kernel weighs next to nothing."""
    space = Space({"x": Float(0.0, 1.0)})
    near: list[float] = []
    for seed in range(20):
        tpe = TPE(startup=5)
        tpe.aim(TWO)
        tpe.setup(space, seed=seed, workers=1, max_trials=None)
        # 18 bad trials in the middle; good ones at 0.05 (the front) and 0.95 (dominated).
        xs = [*np.linspace(0.3, 0.7, 18), 0.05, 0.95]
        for trial_id, x in enumerate(xs):
            f = {"f1": 0.0, "f2": 0.0} if x == 0.05 else {"f1": 0.5, "f2": 0.5}
            f = f if x in (0.05, 0.95) else {"f1": 2.0, "f2": 2.0}
            tpe.observe(measured(trial_id, {"x": float(x)}, f, TWO))
        config = tpe.suggest()
        assert config is not None
        near.append(config["x"])
    assert sum(x < 0.5 for x in near) >= 17, near
