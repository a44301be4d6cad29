"""NSGA2: its initial design, its children, its survivors (with constraints, failures,
promotions and a resumed run), and that it finds a better front than random search."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.objectives import Objectives
from paratune.pareto import hypervolume, pareto_order
from paratune.searchers import NSGA2, Random, Searcher, Sobol, make_searcher
from paratune.searchers._nsga2_ops import crossover, mutation, tournament
from paratune.space import Choice, Float, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config, Status, Trial

S = TypeVar("S", bound=Searcher)

TWO = Objectives.of(["f1", "f2"])
ZDT1_SPACE = Space({f"x{i}": Float(0.0, 1.0) for i in range(5)})
MIXED = Space(
    {
        "lr": Float(1e-5, 1e-1, log=True),
        "units": Int(8, 512, log=True),
        "layers": Int(1, 4),
        "act": Choice(["relu", "tanh", "gelu"]),
        "optimizer": Choice(["sgd", "adam"], branches={"sgd": {"momentum": Float(0.0, 0.99)}}),
        "epochs": 10,
    }
)


class TestNSGA2(SearcherContract):
    def make_searcher(self) -> Searcher:
        return NSGA2(population=8)


def zdt1(config: Config) -> dict[str, float]:
    """ZDT1 (Zitzler, Deb and Thiele 2000): f1 = x0, g = 1 + 9 * mean(x1..x4),
    f2 = g * (1 - sqrt(f1 / g)); the front is f2 = 1 - sqrt(f1), at x1..x4 = 0."""
    x = [config[f"x{i}"] for i in range(5)]
    g = 1.0 + 9.0 * sum(x[1:]) / 4.0
    return {"f1": x[0], "f2": g * (1.0 - math.sqrt(x[0] / g))}


def done(trial_id: int, config: Config, metrics: dict[str, float]) -> Trial:
    first = next(iter(metrics.values()))
    return Trial(trial_id, config, trial_id, Status.DONE, value=first, metrics=metrics)


def started(
    searcher: S, space: Space, *, seed: int = 0, workers: int = 1, goals: Objectives = TWO
) -> S:
    if isinstance(searcher, NSGA2):
        searcher.aim(goals)
    searcher.setup(space, seed=seed, workers=workers, max_trials=None)
    return searcher


def ask(searcher: Searcher) -> Config:
    config = searcher.suggest()
    assert config is not None
    return config


def loop(
    searcher: Searcher, space: Space, objective: Callable[[Config], dict[str, float]], n: int
) -> list[tuple[Config, dict[str, float]]]:
    """Suggest, evaluate and observe ``n`` times, as a one-worker run does."""
    seen = []
    for trial_id in range(n):
        config = ask(searcher)
        metrics = objective(config)
        searcher.observe(done(trial_id, config, metrics))
        seen.append((config, metrics))
    return seen


def noise(seed: int) -> Callable[[Config], dict[str, float]]:
    """An objective of two random metrics."""
    rng = np.random.default_rng(seed)
    return lambda _: {"f1": float(rng.random()), "f2": float(rng.random())}


def front_volume(seen: list[tuple[Config, dict[str, float]]]) -> float:
    losses = np.array([[metrics["f1"], metrics["f2"]] for _, metrics in seen])
    return hypervolume(losses, reference=[1.1, 1.1])


# ----------------------------------------------------------------------------- the sequence


def test_the_same_seed_and_calls_give_the_same_suggestions_and_another_seed_others() -> None:
    runs = [
        loop(started(NSGA2(population=8), ZDT1_SPACE, seed=s), ZDT1_SPACE, zdt1, 40)
        for s in (3, 3, 4)
    ]
    assert runs[0] == runs[1]
    assert [config for config, _ in runs[0]] != [config for config, _ in runs[2]]


def test_sobols_points_until_population_results_then_children() -> None:
    searcher = started(NSGA2(population=8), ZDT1_SPACE, seed=5, workers=12)
    sobol = Sobol()
    sobol.setup(ZDT1_SPACE, seed=5, workers=12, max_trials=None)
    design = [sobol.suggest() for _ in range(20)]
    # Twelve workers busy before any result: the design goes on past the population.
    first = [ask(searcher) for _ in range(12)]
    assert first == design[:12]
    for trial_id, config in enumerate(first[:7]):
        searcher.observe(done(trial_id, config, zdt1(config)))
    assert searcher.suggest() == design[12]  # 7 results of 8: still the design
    searcher.observe(done(7, first[7], zdt1(first[7])))
    child = searcher.suggest()
    assert child is not None and child not in design


def test_children_move_towards_the_best_of_one_metric() -> None:
    space = Space({"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)})
    searcher = started(NSGA2(population=8), space, seed=2, goals=Objectives.of("loss"))

    def bowl(config: Config) -> dict[str, float]:
        return {"loss": (config["x"] - 0.5) ** 2 + (config["y"] + 0.25) ** 2}

    seen = loop(searcher, space, bowl, 160)
    design = np.mean([metrics["loss"] for _, metrics in seen[:8]])
    late = np.mean([metrics["loss"] for _, metrics in seen[-40:]])
    assert late < design / 20


def test_without_aim_the_value_is_the_loss() -> None:
    searcher = NSGA2(population=4)
    searcher.setup(ZDT1_SPACE, seed=0, workers=1, max_trials=None)
    configs = [ask(searcher) for _ in range(6)]
    for trial_id, config in enumerate(configs):
        value = [5.0, 3.0, 4.0, 0.5, 1.0, 2.0][trial_id]
        searcher.observe(Trial(trial_id, config, 0, Status.DONE, value=value))
    assert searcher.survivors() == [3, 4, 5, 1]


@pytest.mark.parametrize("space", [MIXED, ZDT1_SPACE], ids=["mixed", "floats"])
def test_children_stay_in_the_space(space: Space) -> None:
    searcher = started(NSGA2(population=8), space, seed=1)
    seen = loop(searcher, space, noise(0), 120)
    for config, _ in seen:
        assert space.validate(config) == config  # values in range, only active parameters
        assert space.active(config) == config
    if space is MIXED:
        children = [config for config, _ in seen[8:]]
        assert all(
            type(config["units"]) is int and 8 <= config["units"] <= 512 for config in children
        )
        assert all(1e-5 <= config["lr"] <= 1e-1 for config in children)
        assert {config["act"] for config in children} <= {"relu", "tanh", "gelu"}
        assert {"momentum" in config for config, _ in seen} == {True, False}


def test_a_space_of_constants_gets_its_config_once() -> None:
    searcher = started(NSGA2(), Space({"k": 3}), seed=0)
    assert searcher.suggest() == {"k": 3}
    assert searcher.suggest() is None


# ----------------------------------------------------------------------------- ZDT1


def test_on_zdt1_the_front_beats_random_search() -> None:
    # Over seeds 0-19, NSGA2's hypervolume was 0.56 to 0.81 and random search's 0 to 0.17;
    # without crossover NSGA2 got 0.20 to 0.56 (0.42 with seed 0).
    nsga2 = front_volume(loop(started(NSGA2(), ZDT1_SPACE, seed=0), ZDT1_SPACE, zdt1, 400))
    random = front_volume(loop(started(Random(), ZDT1_SPACE, seed=0), ZDT1_SPACE, zdt1, 400))
    assert nsga2 > 0.5
    assert nsga2 > random + 0.35


# ----------------------------------------------------------------------------- survivors


def test_infeasible_trials_never_survive_over_feasible_ones() -> None:
    goals = Objectives.of(["f1", "f2"], "min", {"memory": ("<=", 1.0)})
    searcher = started(NSGA2(population=4), ZDT1_SPACE, seed=0, goals=goals)
    configs = [ask(searcher) for _ in range(8)]
    for trial_id, config in enumerate(configs):
        broken = trial_id % 2 == 0  # the best losses of all, beyond the bound
        metrics = {
            "f1": 0.0 if broken else 1.0 + trial_id,
            "f2": 0.0 if broken else 10.0 - trial_id,
            "memory": 2.0 + trial_id if broken else 0.5,
        }
        searcher.observe(done(trial_id, config, metrics))
        survivors = searcher.survivors()
        feasible = [t for t in range(trial_id + 1) if t % 2]
        infeasible = [t for t in range(trial_id + 1) if t % 2 == 0]
        # Every feasible one first (in order of crowding); then the infeasible ones, the
        # smaller violation first.
        assert sorted(survivors[: len(feasible)]) == feasible[:4]
        assert survivors[len(feasible) :] == infeasible[: 4 - len(feasible)]


def test_one_constrained_metric_orders_by_feasibility_then_loss() -> None:
    goals = Objectives.of("loss", "max", {"memory": ("<=", 1.0)})
    searcher = started(NSGA2(population=3), ZDT1_SPACE, seed=0, goals=goals)
    rows = [(1.0, 0.5), (9.0, 3.0), (2.0, 0.0), (8.0, 2.0), (3.0, 1.0)]
    for trial_id, (loss, memory) in enumerate(rows):
        config = ask(searcher)
        searcher.observe(done(trial_id, config, {"loss": loss, "memory": memory}))
    assert searcher.survivors() == [4, 2, 0]  # feasible, the largest "loss" first


def test_failed_and_cancelled_trials_are_never_parents_nor_count_as_results() -> None:
    searcher = started(NSGA2(population=4), ZDT1_SPACE, seed=0)
    sobol = Sobol()
    sobol.setup(ZDT1_SPACE, seed=0, workers=1, max_trials=None)
    for trial_id in range(8):
        config = ask(searcher)
        assert config == sobol.suggest()  # fewer than 4 results: the design goes on
        if trial_id % 2:
            trial = Trial(trial_id, config, 0, Status.FAILED, error="RuntimeError: x")
        elif trial_id == 4:
            trial = Trial(trial_id, config, 0, Status.CANCELLED)
        else:
            trial = done(trial_id, config, {"f1": 0.0, "f2": 0.0})
        searcher.observe(trial)
    assert sorted(searcher.survivors()) == [0, 2, 6]


def test_a_promotion_replaces_the_earlier_result() -> None:
    searcher = started(NSGA2(population=2), ZDT1_SPACE, seed=0)
    configs = [ask(searcher) for _ in range(3)]
    for trial_id, config in enumerate(configs):
        searcher.observe(done(trial_id, config, {"f1": 1.0 + trial_id, "f2": 1.0 + trial_id}))
    assert searcher.survivors() == [0, 1]
    promoted = done(2, configs[2], {"f1": 0.0, "f2": 0.0})
    searcher.observe(promoted._replace(budget=9.0))
    searcher.observe(Trial(0, configs[0], 0, Status.FAILED, error="lost"))  # kept as was
    assert searcher.survivors() == [2, 0]


def test_a_resumed_run_rebuilds_the_survivors() -> None:
    earlier = started(NSGA2(population=6), ZDT1_SPACE, seed=4, workers=3)
    stored: list[Trial] = []
    pending = [ask(earlier) for _ in range(3)]
    for trial_id in range(30):  # results arrive out of id order, three workers busy
        config = pending.pop(int(trial_id * 7 % len(pending)))
        stored.append(done(len(stored), config, zdt1(config)))
        earlier.observe(stored[-1])
        pending.append(ask(earlier))
    resumed = started(NSGA2(population=6), ZDT1_SPACE, seed=4, workers=3)
    for trial in stored:  # as the tuner replays: a suggestion, then the stored trial
        resumed.suggest()
        resumed.observe(trial)
    losses = np.array([[t.metrics["f1"], t.metrics["f2"]] for t in stored])
    assert resumed.survivors() == pareto_order(losses)[:6].tolist()
    assert resumed.survivors() == earlier.survivors()
    after = [resumed.suggest() for _ in range(3)]
    assert all(ZDT1_SPACE.validate(config) == config for config in after if config)
    assert not {str(config) for config in after} & {str(t.config) for t in stored}


def test_a_trial_it_did_not_suggest_is_a_parent_too() -> None:
    searcher = started(NSGA2(population=2), MIXED, seed=0)
    adam = {"lr": 0.01, "units": 64, "layers": 2, "act": "relu", "optimizer": "adam", "epochs": 10}
    searcher.observe(done(0, adam, {"f1": 0.0, "f2": 0.0}))  # momentum is inactive
    config = ask(searcher)
    searcher.observe(done(1, config, {"f1": 1.0, "f2": 1.0}))
    assert searcher.survivors() == [0, 1]
    children = [searcher.suggest() for _ in range(20)]
    assert all(MIXED.validate(child) == child for child in children if child)


# ----------------------------------------------------------------------------- suggestions


def test_eight_suggestions_before_any_result_are_distinct() -> None:
    space = Space({"n": Int(0, 9), "c": Choice(["a", "b", "c", "d"])})  # 40 configs
    searcher = started(NSGA2(population=8), space, seed=0, workers=8)
    design = [ask(searcher) for _ in range(8)]
    assert len({str(config) for config in design}) == 8
    for trial_id, config in enumerate(design):
        searcher.observe(done(trial_id, config, {"f1": config["n"], "f2": -config["n"]}))
    children = [searcher.suggest() for _ in range(8)]
    assert len({str(config) for config in design + children}) == 16


# ----------------------------------------------------------------------------- arguments


def test_the_default_population_is_24_or_twice_the_workers_made_even() -> None:
    for workers, size in [(1, 24), (12, 24), (13, 26), (20, 40)]:
        searcher = started(NSGA2(), ZDT1_SPACE, seed=0, workers=workers)
        loop(searcher, ZDT1_SPACE, noise(0), 45)
        assert len(searcher.survivors()) == size
    assert NSGA2(population=7).population == 7


@pytest.mark.parametrize("population", [0, 1, 2.5, True, "8", -4])
def test_a_bad_population_is_refused_by_name(population: Any) -> None:
    with pytest.raises(SpecError, match="population"):
        NSGA2(population=population)


@pytest.mark.parametrize("name", ["nsga2", "NSGA2", "Nsga2"])
def test_made_by_name(name: str) -> None:
    searcher = make_searcher(name)
    assert isinstance(searcher, NSGA2) and searcher.population is None
    assert repr(searcher) == "NSGA2(population=None)"


def test_survivors_before_setup_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="setup"):
        NSGA2().survivors()


# ----------------------------------------------------------------------------- in a run


def test_a_run_of_two_metrics_and_a_constraint_is_reproducible_and_breeds() -> None:
    def objective(config: Config) -> dict[str, float]:
        # Feasible needs x1 >= 0.5, where ZDT1's front is not (x1 = 0).
        return {**zdt1(config), "memory": 1.0 - config["x1"]}

    def run() -> list[Trial]:
        result = pt.tune(
            objective,
            ZDT1_SPACE,
            metric=["f1", "f2"],
            constraints={"memory": ("<=", 0.5)},
            searcher=NSGA2(population=8),
            max_trials=40,
            workers=4,
            executor="simulated",
            store=None,
            seed=7,
        )
        assert set(result.pareto_front["trial_id"]) <= {
            t.trial_id for t in result.trial_list if t.metrics["memory"] <= 0.5
        }
        return result.trial_list

    first, second = run(), run()
    assert [t.config for t in first] == [t.config for t in second]
    assert len(first) == 40 and all(t.status is Status.DONE for t in first)
    sobol = Sobol()
    sobol.setup(ZDT1_SPACE, seed=7, workers=4, max_trials=None)
    design = [sobol.suggest() for _ in range(40)]
    assert [t.config for t in first[:8]] == design[:8]
    assert [t.config for t in first[12:]] != design[12:]  # children once 8 ended
    # Children come from feasible parents: nearly all are feasible (95% to 100% over seeds
    # 0-7), against half the design's.
    assert np.mean([t.metrics["memory"] <= 0.5 for t in first[20:]]) > 0.85


def test_made_by_name_in_tune() -> None:
    result = pt.tune(
        lambda config: zdt1(config),
        ZDT1_SPACE,
        metric=["f1", "f2"],
        searcher="nsga2",
        max_trials=30,
        workers=4,
        executor="simulated",
        store=None,
    )
    assert len(result.trial_list) == 30 and len(result.pareto_front) >= 1


# ----------------------------------------------------------------------------- the operators


def test_a_tournament_favours_the_survivors_placed_first() -> None:
    rng = np.random.default_rng(0)
    wins = np.bincount([tournament(4, rng) for _ in range(8000)], minlength=4) / 8000
    # The better of two drawn with replacement: 7/16, 5/16, 3/16, 1/16.
    assert np.allclose(wins, [7 / 16, 5 / 16, 3 / 16, 1 / 16], atol=0.02)


def test_crossover_spreads_children_around_the_parents_within_the_cube() -> None:
    rng = np.random.default_rng(0)
    first, second = np.array([0.2, 0.5, 0.999]), np.array([0.4, 0.5, 0.001])
    children = np.array(
        [crossover(first, second, rng, eta=15.0, probability=0.9) for _ in range(2000)]
    )
    assert ((children >= 0.0) & (children <= 1.0)).all()
    assert (children[:, 1] == 0.5).all()  # equal parents: nothing to cross
    untouched = (children == first).all(axis=1).mean()
    # No crossover (0.1), or neither unequal coordinate crossed (0.9 / 4): 0.325.
    assert 0.29 < untouched < 0.36
    near = np.minimum(abs(children[:, 0] - 0.2), abs(children[:, 0] - 0.4))
    assert np.median(near) < 0.02 and near.max() > 0.05  # mostly near a parent, not always
    assert children[:, 0].min() < 0.2 and children[:, 0].max() > 0.4
    once = crossover(first, second, np.random.default_rng(0), eta=15.0, probability=0.0)
    assert (once == first).all()


def test_mutation_moves_a_coordinate_a_little_within_the_cube() -> None:
    rng = np.random.default_rng(0)
    point = np.array([0.0, 0.5, 1.0])
    mutated = np.array([mutation(point, rng, eta=20.0, probability=1.0) for _ in range(2000)])
    assert ((mutated >= 0.0) & (mutated <= 1.0)).all()
    steps = abs(mutated - point)
    assert (steps[:, 1] > 0).all() and np.median(steps[:, 1]) < 0.05 and steps.max() > 0.1
    # At a bound, half the moves would leave the cube: they stay; the others go inwards.
    assert 0.45 < (steps[:, 0] > 0).mean() < 0.55 and 0.45 < (steps[:, 2] > 0).mean() < 0.55
    assert (mutation(point, rng, eta=20.0, probability=0.0) == point).all()
