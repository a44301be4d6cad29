"""GP with several metrics and constraints (`GP.aim`): the ParEGO scalarisation, batches of
pending suggestions, infeasible results, "max" metrics, and plain objectives left as they
were."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pytest

import paratune as pt
from paratune.objectives import Objectives
from paratune.pareto import hypervolume
from paratune.searchers import GP, Random, Searcher
from paratune.searchers._gpobjectives import AUGMENTATION, Goals, scalarise
from paratune.space import Float, Space
from paratune.trial import Config, Status, Trial

from ._problems import branin, done, failed

Metrics = Callable[[Config], dict[str, float]]

CUBE = Space({f"x{i}": Float(0, 1) for i in range(3)})
TWO = Objectives.of(["f1", "f2"])


def zdt1(config: Config) -> dict[str, float]:
    """ZDT1 on three variables: f1 = x0, g = 1 + 9/2 (x1 + x2), f2 = g (1 - sqrt(f1 / g));
    the Pareto front is x1 = x2 = 0, f2 = 1 - sqrt(f1)."""
    f1 = config["x0"]
    g = 1.0 + 4.5 * (config["x1"] + config["x2"])
    return {"f1": f1, "f2": g * (1.0 - math.sqrt(f1 / g))}


def outcome(
    trial_id: int, config: Config, metrics: Mapping[str, float], goals: Objectives
) -> Trial:
    """A DONE trial as the tuner hands it to searchers: the primary loss as its value,
    None when it breaks a constraint, and every metric."""
    losses, violation = goals.losses(metrics), goals.violation(metrics)
    assert losses is not None and violation is not None
    value = losses[0] if violation == 0 else None
    return Trial(trial_id, config, trial_id, Status.DONE, value, metrics=dict(metrics))


def drive(
    searcher: Searcher, goals: Objectives, metrics_of: Metrics, n: int, *, seed: int
) -> list[tuple[Config, dict[str, float]]]:
    """Aim, then suggest and observe ``n`` trials one at a time (one worker)."""
    searcher.aim(goals)  # type: ignore[attr-defined]
    searcher.setup(CUBE, seed=seed, workers=1, max_trials=None)
    return go_on(searcher, goals, metrics_of, range(n))


def go_on(
    searcher: Searcher, goals: Objectives, metrics_of: Metrics, trial_ids: range
) -> list[tuple[Config, dict[str, float]]]:
    """Suggest and observe a trial for each of ``trial_ids``, one at a time."""
    seen = []
    for trial_id in trial_ids:
        config = searcher.suggest()
        assert config is not None
        metrics = metrics_of(config)
        searcher.observe(outcome(trial_id, config, metrics, goals))
        seen.append((config, metrics))
    return seen


def losses_of(seen: Sequence[tuple[Config, Mapping[str, float]]], goals: Objectives) -> np.ndarray:
    return np.array([goals.losses(metrics) for _, metrics in seen], dtype=np.float64)


# ----------------------------------------------------------------------------- scalarisation


def test_feasible_results_are_the_augmented_chebyshev_of_min_max_scaled_losses() -> None:
    losses = np.array([[0.0, 10.0], [1.0, 30.0], [2.0, 20.0]])
    weights = np.array([0.25, 0.75])
    values = scalarise(losses, np.zeros(3), weights)
    scaled = np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 0.5]]) * weights
    expected = scaled.max(axis=1) + AUGMENTATION * scaled.sum(axis=1)
    assert np.allclose(values, expected)
    # Each metric's own units do not matter: it is scaled by its range.
    rescaled = losses * np.array([1000.0, 0.001]) + np.array([-5.0, 7.0])
    assert np.allclose(scalarise(rescaled, np.zeros(3), weights), values)


def test_infeasible_results_are_behind_every_feasible_one_and_ordered_by_violation() -> None:
    losses = np.array([[0.0, 1.0], [1.0, 0.0], [-9.0, -9.0], [-9.0, -9.0], [0.5, 0.5]])
    violations = np.array([0.0, 0.0, 300.0, 3.0, 0.0])
    values = scalarise(losses, violations, np.array([0.5, 0.5]))
    worst = values[[0, 1, 4]].max()
    assert values[3] > worst and values[2] > values[3]
    assert values[2] == pytest.approx(worst + 1.0)  # the largest violation: one above
    assert values[3] == pytest.approx(worst + 0.01)
    # With nothing feasible yet, the violation itself is fitted.
    assert scalarise(losses, violations + 1.0, np.array([0.5, 0.5])).tolist() == [
        1.0,
        1.0,
        301.0,
        4.0,
        1.0,
    ]


def test_weights_are_drawn_on_the_simplex_and_one_metric_needs_none() -> None:
    goals = Goals(Objectives.of(["a", "b", "c"]))
    rng = np.random.default_rng(0)
    drawn = []
    for _ in range(3):
        goals.scalars([(1.0, 2.0, 3.0, 0.0), (3.0, 2.0, 1.0, 0.0)], rng)
        assert goals.weights is not None
        drawn.append(goals.weights)
    for weights in drawn:
        assert weights.shape == (3,) and weights.min() >= 0 and weights.sum() == pytest.approx(1)
    assert all(not np.allclose(a, b) for a, b in combinations(drawn, 2))
    single = Goals(Objectives.of("loss", "max", {"c": ("<=", 1.0)}))
    state = np.random.default_rng(0).bit_generator.state
    rng = np.random.default_rng(0)
    assert single.scalars([(-3.0, 0.0), (-1.0, 0.0), (-2.0, 0.5)], rng) == [0.0, 1.05, 2.05]
    assert rng.bit_generator.state == state


# ----------------------------------------------------------------------------- plain objectives


def test_aim_with_plain_objectives_changes_no_suggestion() -> None:
    def run(aimed: bool) -> list[Config]:
        searcher = GP(candidates=100, init_size=5)
        if aimed:
            searcher.aim(Objectives.of("loss", "max"))  # the tuner negates: still plain
        space = Space({"x1": Float(-5, 10), "x2": Float(0, 15)})
        searcher.setup(space, seed=3, workers=2, max_trials=None)
        configs, running = [], []
        for trial_id in range(16):
            config = searcher.suggest()
            assert config is not None
            configs.append(config)
            running.append((trial_id, config))
            if len(running) == 2:  # two workers: one result for each new suggestion
                ended, finished = running.pop(0)
                if finished["x1"] > 8:
                    searcher.observe(failed(ended, finished))
                else:
                    searcher.observe(done(ended, finished, branin(finished)))
        return configs

    assert run(aimed=True) == run(aimed=False)


# ----------------------------------------------------------------------------- several metrics


def test_on_zdt1_the_gp_front_has_a_far_larger_hypervolume_than_random_search() -> None:
    for seed in (0, 1):
        gp = drive(GP(candidates=200), TWO, zdt1, 40, seed=seed)
        drawn = drive(Random(), TWO, zdt1, 40, seed=seed)
        gp_volume = hypervolume(losses_of(gp, TWO), [1.1, 1.1])
        random_volume = hypervolume(losses_of(drawn, TWO), [1.1, 1.1])
        # The true front's is 1.21 - 1/3 = 0.877; on seeds 0-11 the GP's ranged over
        # 0.79-0.84 and random search's over 0-0.31.
        assert gp_volume > 0.7
        assert gp_volume > random_volume + 0.4


def test_suggestions_for_idle_workers_are_distinct_and_under_different_weights() -> None:
    searcher = GP(candidates=200, init_size=10)
    searcher.aim(TWO)
    searcher.setup(CUBE, seed=5, workers=4, max_trials=None)
    for trial_id in range(10):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(outcome(trial_id, config, zdt1(config), TWO))
    batch, weights = [], []
    for _ in range(4):  # four idle workers, nothing ends in between
        config = searcher.suggest()
        assert config is not None and searcher._goals.weights is not None
        batch.append(np.array([config[name] for name in CUBE.names]))
        weights.append(searcher._goals.weights.copy())
    assert len(searcher._pending) == 4
    assert all(np.abs(a - b).max() > 1e-3 for a, b in combinations(batch, 2))
    assert all(not np.allclose(a, b) for a, b in combinations(weights, 2))
    # Different weights aim at different parts of the front: f1 = x0 spreads.
    assert np.ptp([point[0] for point in batch]) > 0.1


def test_the_same_seed_gives_the_same_suggestions() -> None:
    first = drive(GP(candidates=100), TWO, zdt1, 16, seed=7)
    again = drive(GP(candidates=100), TWO, zdt1, 16, seed=7)
    assert first == again


def test_max_metrics_are_searched_as_their_negated_min_twins() -> None:
    def negated(config: Config) -> dict[str, float]:
        return {name: -value for name, value in zdt1(config).items()}

    as_min = drive(GP(candidates=100), TWO, zdt1, 16, seed=4)
    as_max = drive(GP(candidates=100), Objectives.of(["f1", "f2"], "max"), negated, 16, seed=4)
    assert [config for config, _ in as_max] == [config for config, _ in as_min]
    mixed = Objectives.of(["f1", "f2"], ["min", "max"])

    def half(config: Config) -> dict[str, float]:
        metrics = zdt1(config)
        return {"f1": metrics["f1"], "f2": -metrics["f2"]}

    as_mixed = drive(GP(candidates=100), mixed, half, 16, seed=4)
    assert [config for config, _ in as_mixed] == [config for config, _ in as_min]


def test_a_promoted_trials_result_keeps_the_running_suggestion_pending() -> None:
    searcher = GP(candidates=200, init_size=4)
    searcher.aim(TWO)
    searcher.setup(CUBE, seed=0, workers=4, max_trials=None)
    design = []
    for trial_id in range(4):
        config = searcher.suggest()
        assert config is not None
        metrics = zdt1(config)
        searcher.observe(outcome(trial_id, config, metrics, TWO)._replace(budget=1))
        design.append((config, metrics))
    running = searcher.suggest()  # trial 4, still running
    assert running is not None
    config, metrics = design[0]
    searcher.observe(outcome(0, config, metrics, TWO)._replace(budget=3))  # trial 0, promoted
    assert searcher.suggest() is not None
    assert len(searcher._pending) == 2


# ----------------------------------------------------------------------------- constraints


def in_disk(centre: tuple[float, float], radius: float) -> Metrics:
    """ZDT1 and ``c``: the distance of (x0, x1) from ``centre``, to keep within ``radius``."""

    def metrics(config: Config) -> dict[str, float]:
        return {
            **zdt1(config),
            "c": math.hypot(config["x0"] - centre[0], config["x1"] - centre[1]),
        }

    return metrics


def test_constraints_lead_the_suggestions_into_the_feasible_region() -> None:
    goals = Objectives.of(["f1", "f2"], "min", {"c": ("<=", 0.2)})  # 13% of the cube
    for seed in (1,):
        seen = drive(GP(candidates=200), goals, in_disk((0.5, 0.5), 0.2), 30, seed=seed)
        feasible = [goals.violation(metrics) == 0 for _, metrics in seen]
        # After the design of 10, most suggestions are feasible (13 to 19 of 20 on seeds
        # 0-5; random search drew 1 to 6 of 30).
        assert sum(feasible[10:]) >= 12


def test_before_any_feasible_result_the_violation_is_fitted_and_leads_to_feasibility() -> None:
    goals = Objectives.of(["f1", "f2"], "min", {"c": ("<=", 0.06)})  # 1.1% of the cube
    metrics_of = in_disk((0.7, 0.2), 0.06)
    for seed in (0, 1):
        searcher = GP(candidates=200)
        design = drive(searcher, goals, metrics_of, 10, seed=seed)
        assert all((goals.violation(metrics) or 0) > 0 for _, metrics in design)
        assert searcher._observations.failed == []  # infeasible, not failed
        after = go_on(searcher, goals, metrics_of, range(10, 11))
        # The model's first suggestion fitted the violations themselves.
        assert searcher._done_y == [goals.violation(metrics) for _, metrics in design]
        after += go_on(searcher, goals, metrics_of, range(11, 20))
        # On seeds 0-5 the first feasible trial came by the fourth model suggestion;
        # ten random draws find one in 10% of runs.
        assert any(goals.violation(metrics) == 0 for _, metrics in after)


def test_one_constrained_metric_to_maximise_nears_the_optimum_on_the_boundary() -> None:
    # score = x0 + x1, the most where x0^2 + x1^2 <= 0.5 is 1, at x0 = x1 = 0.5.
    goals = Objectives.of("score", "max", {"radius2": ("<=", 0.5)})

    def metrics_of(config: Config) -> dict[str, float]:
        return {
            "score": config["x0"] + config["x1"],
            "radius2": config["x0"] ** 2 + config["x1"] ** 2,
        }

    seen = drive(GP(candidates=200), goals, metrics_of, 20, seed=0)
    feasible = [metrics["score"] for _, metrics in seen if goals.violation(metrics) == 0]
    assert max(feasible) > 0.9
    twin = Objectives.of("loss", "min", {"radius2": ("<=", 0.5)})

    def negated(config: Config) -> dict[str, float]:
        metrics = metrics_of(config)
        return {"loss": -metrics["score"], "radius2": metrics["radius2"]}

    assert [c for c, _ in drive(GP(candidates=200), twin, negated, 20, seed=0)] == [
        c for c, _ in seen
    ]


# ----------------------------------------------------------------------------- through tune


def test_tune_with_two_metrics_and_a_constraint_finds_feasible_trade_offs() -> None:
    def objective(config: Config) -> dict[str, float]:
        metrics = in_disk((0.5, 0.5), 0.2)(config)
        return {"f1": metrics["f1"], "score": -metrics["f2"], "c": metrics["c"]}

    result = pt.tune(
        objective,
        {name: pt.Float(0, 1) for name in CUBE.names},
        metric=["f1", "score"],
        mode={"f1": "min", "score": "max"},
        constraints={"c": ("<=", 0.2)},
        searcher="gp",
        store=None,
        executor="simulated",
        workers=4,
        max_trials=16,
        seed=1,
    )
    trials = result.trial_list
    assert [trial.status for trial in trials] == [Status.DONE] * 16
    feasible = [trial.metrics["c"] <= 0.2 for trial in trials]
    assert [trial.value is not None for trial in trials] == feasible
    # The design (10 configs) hit the disk of 13% twice; the model's suggestions mostly.
    assert sum(feasible[:10]) == 2 and sum(feasible[10:]) >= 4
    front = result.pareto_front
    assert len(front) >= 2 and (front["metric.c"] <= 0.2).all()
