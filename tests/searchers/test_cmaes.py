"""CMA-ES: the searcher contract, generations, failures, convergence and determinism."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.errors import SpaceError, SpecError
from paratune.searchers import CMAES, Converging, Random, Searcher, has_converged, make_searcher
from paratune.space import Choice, Float, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config, Status, Trial

SPACE = Space(
    {
        "lr": Float(1e-4, 1e-1, log=True),
        "dropout": Float(0.0, 0.5),
        "units": Int(8, 512, log=True),
        "layers": Int(1, 4),
        "epochs": 10,
    }
)


def loss(config: Config) -> float:
    """A smooth objective of every tunable parameter of SPACE, best inside the ranges."""
    return float(
        (math.log10(config["lr"]) + 2.5) ** 2
        + (config["dropout"] - 0.2) ** 2
        + (math.log2(config["units"]) - 6) ** 2
        + (config["layers"] - 2) ** 2
    )


def done(trial_id: int, config: Config, value: float) -> Trial:
    return Trial(trial_id, config, 0, Status.DONE, value=value)


def generation(searcher: CMAES) -> list[Config]:
    """Every candidate of the current generation, which must then wait for results."""
    configs = [searcher.suggest() for _ in range(searcher.population_size)]
    assert searcher.suggest() is None
    return [config for config in configs if config is not None]


def observe_all(searcher: Searcher, configs: list[Config], first_id: int = 0) -> None:
    for trial_id, config in enumerate(configs, first_id):
        searcher.observe(done(trial_id, config, loss(config)))


def history(result: pt.TuneResult) -> list[tuple[int, Any, Any, pt.Status]]:
    return [(t.trial_id, t.config, t.value, t.status) for t in result.trial_list]


def best(result: pt.TuneResult) -> float:
    assert result.best_value is not None
    return result.best_value


def sphere(config: Config) -> float:
    return float(sum((value - 0.3) ** 2 for value in config.values()))


def rosenbrock(config: Config) -> float:
    x = list(config.values())
    return float(sum(100 * (b - a * a) ** 2 + (1 - a) ** 2 for a, b in itertools.pairwise(x)))


def box(dimension: int, low: float = -2.0, high: float = 2.0) -> dict[str, Float]:
    return {f"x{i}": Float(low, high) for i in range(dimension)}


# ----------------------------------------------------------------------------- the contract


class TestCMAES(SearcherContract):
    """The shared contract. CMA-ES hands out one generation, then waits for its results:
    `suggestions` observes each generation as it runs out, so the checks span several."""

    def make_searcher(self) -> Searcher:
        return CMAES()

    def make_space(self) -> Space:
        return SPACE

    def suggestions(
        self, searcher: Searcher, space: Space, *, seed: int, draws: int | None = None
    ) -> list[Config]:
        count = self.draws if draws is None else draws
        searcher.setup(space, seed=seed, workers=4, max_trials=count)
        configs: list[Config] = []
        outstanding: list[Config] = []
        while len(configs) < count:
            config = searcher.suggest()
            if config is None:
                assert outstanding, "suggest() returned None with nothing left to observe"
                observe_all(searcher, outstanding)
                outstanding = []
                continue
            configs.append(config)
            outstanding.append(config)
        return configs


def test_contract_spans_several_generations() -> None:
    searcher = CMAES()
    TestCMAES().suggestions(searcher, SPACE, seed=0)
    assert searcher.population_size == 8  # 4 + floor(3 ln 4), already a multiple of 4
    assert searcher.generation == 40 // 8 - 1


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma0": 0}, r"^sigma0 must be a finite number above 0, got 0$"),
        ({"sigma0": -0.1}, r"^sigma0 must be a finite number above 0, got -0.1$"),
        ({"sigma0": math.nan}, r"^sigma0 must be a finite number above 0, got nan$"),
        ({"sigma0": "0.3"}, r"^sigma0 must be a number, got '0.3'$"),
        ({"sigma0": True}, r"^sigma0 must be a number, got True$"),
        ({"popsize": 3}, r"^popsize must be an integer >= 4, got 3$"),
        ({"popsize": 8.0}, r"^popsize must be an integer >= 4, got 8.0$"),
        ({"popsize": True}, r"^popsize must be an integer >= 4, got True$"),
        ({"tolfun": -1e-9}, r"^tolfun must be a finite number >= 0, got -1e-09$"),
        ({"tolfun": math.inf}, r"^tolfun must be a finite number >= 0, got inf$"),
        ({"tolfun": "1e-9"}, r"^tolfun must be a number, got '1e-9'$"),
        ({"tolx": math.nan}, r"^tolx must be a finite number >= 0, got nan$"),
        ({"tolx": False}, r"^tolx must be a number, got False$"),
        ({"restarts": -1}, r"^restarts must be None or an integer >= 0, got -1$"),
        ({"restarts": 1.0}, r"^restarts must be None or an integer >= 0, got 1.0$"),
        ({"restarts": True}, r"^restarts must be None or an integer >= 0, got True$"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        CMAES(**kwargs)


def test_by_name_and_repr() -> None:
    searcher = make_searcher("CMAES")
    assert type(searcher) is CMAES and searcher is not make_searcher("cmaes")
    assert repr(searcher) == (
        "CMAES(sigma0=0.3, popsize=None, tolfun=1e-11, tolx=1e-11, restarts=0)"
    )
    assert repr(CMAES(sigma0=0.5, popsize=12, tolfun=0, tolx=1e-3, restarts=None)) == (
        "CMAES(sigma0=0.5, popsize=12, tolfun=0.0, tolx=0.001, restarts=None)"
    )


def test_suggest_before_setup_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"call setup\(\) before suggest\(\)"):
        CMAES().suggest()


def test_a_choice_is_refused_at_setup() -> None:
    space = Space({"x": Float(0, 1), "act": Choice(["relu", "tanh"])})
    with pytest.raises(
        SpaceError,
        match=(
            r"^parameter 'act' is a Choice; CMA-ES needs Float and Int ranges: "
            r"use searcher 'random', 'sobol' or 'lhs' for a space with choices$"
        ),
    ):
        CMAES().setup(space, seed=0, workers=1, max_trials=None)
    with pytest.raises(SpaceError, match="parameter 'act' is a Choice"):
        pt.tune(
            sphere,
            {"x": Float(0, 1), "act": ["a", "b"]},
            searcher="cmaes",
            max_trials=2,
            store=None,
        )


def test_constants_only_space_gives_one_config() -> None:
    searcher = CMAES()
    searcher.setup(SPACE, seed=0, workers=4, max_trials=None)
    for seed in (0, 1):
        searcher.setup(Space({"a": 1, "b": "x"}), seed=seed, workers=4, max_trials=None)
        assert [searcher.suggest() for _ in range(3)] == [{"a": 1, "b": "x"}, None, None]
        assert searcher.population_size == 0
    result = pt.tune(lambda c: 1.0, {"a": 1}, searcher="cmaes", max_trials=2, store=None)
    assert len(result.trial_list) == 1 and result.stop_reason is pt.StopReason.EXHAUSTED


# ----------------------------------------------------------------------------- generations


@pytest.mark.parametrize(
    ("dimension", "workers", "popsize", "expected"),
    [
        (1, 1, None, 4),  # CMA's default, 4 + floor(3 ln d)
        (2, 1, None, 6),
        (10, 1, None, 10),
        (2, 4, None, 8),  # rounded up to a multiple of the workers
        (5, 3, None, 9),
        (10, 8, None, 16),
        (2, 64, None, 64),
        (2, 4, 10, 10),  # as given
        (3, 1, 4, 4),
    ],
)
def test_a_generation_has_popsize_distinct_candidates(
    dimension: int, workers: int, popsize: int | None, expected: int
) -> None:
    searcher = CMAES(popsize=popsize)
    searcher.setup(Space(box(dimension)), seed=0, workers=workers, max_trials=None)
    assert searcher.population_size == expected
    if popsize is None:
        assert expected % workers == 0 and expected >= 4 + math.floor(3 * math.log(dimension))
    configs = generation(searcher)
    assert len(configs) == expected
    assert len({tuple(config.values()) for config in configs}) == expected


def test_the_next_generation_waits_for_the_last_result() -> None:
    searcher = CMAES()
    searcher.setup(SPACE, seed=0, workers=2, max_trials=None)
    first = generation(searcher)
    observe_all(searcher, first[:-1])
    assert searcher.suggest() is None and searcher.generation == 0
    observe_all(searcher, first[-1:])
    assert searcher.generation == 1
    second = generation(searcher)
    assert len(second) == len(first) and not set(map(str, second)) & set(map(str, first))


def test_the_order_of_results_does_not_matter() -> None:
    def second_generation(order: slice) -> list[Config]:
        searcher = CMAES()
        searcher.setup(SPACE, seed=4, workers=3, max_trials=None)
        first = generation(searcher)
        observe_all(searcher, first[order])
        return generation(searcher)

    assert second_generation(slice(None)) == second_generation(slice(None, None, -1))


def test_proposals_stay_within_bounds() -> None:
    # The optimum is at a corner of the box, so CMA keeps sampling across its edges.
    space = Space({"a": Float(-5, 5), "b": Float(1e-3, 1.0, log=True), "n": Int(1, 100)})
    searcher = CMAES(sigma0=0.8)
    searcher.setup(space, seed=1, workers=4, max_trials=None)
    seen: list[Config] = []
    for _ in range(20):
        configs = generation(searcher)
        for config in configs:
            assert space.validate(config) == config
        for trial_id, config in enumerate(configs, len(seen)):
            searcher.observe(done(trial_id, config, config["a"] + config["b"] - config["n"]))
        seen += configs
    best = min(seen, key=lambda c: c["a"] + c["b"] - c["n"])
    assert best["a"] < -4.5 and best["b"] < 0.01 and best["n"] == 100


def test_equal_configs_in_a_generation_are_each_observed() -> None:
    # Integers: many candidates of a generation round to the same config.
    result = pt.tune(
        lambda c: (c["n"] - 1) ** 2,
        {"n": Int(0, 2)},
        searcher="cmaes",
        executor="simulated",
        workers=4,
        max_trials=60,
        store=None,
    )
    assert len(result.trial_list) == 60 and result.stop_reason is pt.StopReason.MAX_TRIALS
    assert result.best_value == 0


def test_trials_it_did_not_suggest_are_ignored() -> None:
    searcher = CMAES()
    searcher.setup(SPACE, seed=0, workers=1, max_trials=None)
    first = generation(searcher)
    searcher.observe(done(100, {"lr": 0.01, "dropout": 0.1, "units": 8, "layers": 1}, 0.0))
    searcher.observe(done(101, {"lr": [0.01]}, 0.0))  # unhashable: not one of its configs
    searcher.observe(done(102, first[0], 1.0))
    searcher.observe(done(103, first[0], 1.0))  # observed already
    assert searcher.suggest() is None and searcher.generation == 0
    result = pt.tune(
        sphere,
        box(2),
        searcher="cmaes",
        points_to_evaluate=[{"x0": 0.0, "x1": 0.0}],
        executor="simulated",
        workers=2,
        max_trials=30,
        store=None,
    )
    assert len(result.trial_list) == 30


# ----------------------------------------------------------------------------- failures


def test_failed_and_cancelled_trials_count_as_the_generations_worst() -> None:
    def next_generation(fail: bool) -> list[Config]:
        searcher = CMAES()
        searcher.setup(SPACE, seed=2, workers=4, max_trials=None)
        configs = generation(searcher)
        values = [loss(config) for config in configs]
        worst = max(values[2:])
        for trial_id, (config, value) in enumerate(zip(configs, values, strict=True)):
            if trial_id == 0:
                trial = Trial(trial_id, config, 0, Status.FAILED, error="ValueError: x")
            elif trial_id == 1:
                trial = Trial(trial_id, config, 0, Status.CANCELLED)
            else:
                trial = done(trial_id, config, value)
            searcher.observe(trial if fail or trial_id > 1 else done(trial_id, config, worst))
        assert searcher.generation == 1
        return generation(searcher)

    assert next_generation(fail=True) == next_generation(fail=False)


def test_a_generation_that_all_failed_is_drawn_again() -> None:
    searcher = CMAES()
    searcher.setup(SPACE, seed=0, workers=1, max_trials=None)
    first = generation(searcher)
    for trial_id, config in enumerate(first):
        searcher.observe(Trial(trial_id, config, 0, Status.FAILED, error="boom"))
    again = generation(searcher)
    assert searcher.generation == 0 and again != first


def test_failing_trials_do_not_stall_the_search() -> None:
    def objective(config: Config) -> float:
        if config["x0"] > 0.5:
            raise ValueError("diverged")
        return sphere(config)

    result = pt.tune(
        objective,
        box(3),
        searcher="cmaes",
        executor="simulated",
        workers=4,
        max_trials=400,
        store=None,
    )
    statuses = result.trials["status"].value_counts()
    assert statuses["failed"] > 0 and len(result.trial_list) == 400
    assert result.stop_reason is pt.StopReason.MAX_TRIALS
    assert best(result) < 1e-3


@pytest.mark.parametrize(("trials", "population"), [(70, 4), (150, 8), (250, 16)])
def test_it_restarts_with_a_larger_population_once_converged(trials: int, population: int) -> None:
    # A flat objective: the values of the last 10 + ceil(30 d / popsize) generations are
    # all equal after 18 generations of 4 (72 trials), then after 14 of 8 (112 more).
    result = pt.tune(
        lambda c: 1.0,
        box(1),
        searcher=(searcher := CMAES(restarts=None)),
        executor="simulated",
        workers=2,
        max_trials=trials,
        store=None,
    )
    assert len(result.trial_list) == trials
    assert searcher.population_size == population


# ----------------------------------------------------------------------------- through tune


@pytest.mark.parametrize(
    ("objective", "dimension", "trials", "threshold"),
    [(sphere, 5, 400, 1e-5), (rosenbrock, 2, 600, 1e-6)],
)
@pytest.mark.parametrize("seed", range(3))
def test_converges(
    objective: Any, dimension: int, trials: int, threshold: float, seed: int
) -> None:
    result = pt.tune(
        objective,
        box(dimension),
        searcher="cmaes",
        executor="simulated",
        workers=4,
        max_trials=trials,
        seed=seed,
        store=None,
    )
    assert best(result) < threshold, result.best_value


def test_maximises_with_mode_max() -> None:
    result = pt.tune(
        lambda c: -sphere(c),
        box(2),
        mode="max",
        searcher="cmaes",
        executor="simulated",
        workers=4,
        max_trials=200,
        store=None,
    )
    assert best(result) > -1e-6


def timed_rosenbrock(config: Config, ctx: pt.Context) -> float:
    # Durations differ by config, so the trials end in a different order on 1 and 8 workers.
    ctx.elapse(1.0 + (config["x0"] + 2.0) * 3.7)
    return rosenbrock(config)


def test_same_seed_same_trials_whatever_the_workers() -> None:
    runs = [
        pt.tune(
            timed_rosenbrock,
            box(3),
            searcher=CMAES(popsize=8),
            executor="simulated",
            workers=workers,
            max_trials=80,
            seed=5,
            store=None,
        )
        for workers in (1, 8, 8, 3)
    ]
    baseline = history(runs[0])
    assert len(baseline) == 80 and runs[1].wall_time < runs[0].wall_time / 4
    for result in runs[1:]:
        assert history(result) == baseline
    other_seed = pt.tune(
        rosenbrock, box(3), searcher=CMAES(popsize=8), max_trials=8, seed=6, store=None
    )
    assert history(other_seed) != baseline[:8]


def test_a_resumed_run_goes_on_as_one_run_would() -> None:
    def run(max_trials: int, *, resume: bool) -> pt.TuneResult:
        return pt.tune(
            rosenbrock,
            box(2),
            searcher=CMAES(popsize=6),
            executor="simulated",
            workers=3,
            max_trials=max_trials,
            seed=1,
            store="runs.db",
            name="resumed" if resume or max_trials == 20 else "whole",
            resume=resume,
        )

    run(20, resume=False)  # stops mid-generation: 20 is not a multiple of 6
    resumed = run(50, resume=True)
    assert history(resumed) == history(run(50, resume=False))


def test_searcher_config_values_are_plain_numbers() -> None:
    searcher = CMAES()
    searcher.setup(SPACE, seed=0, workers=1, max_trials=None)
    values = [value for config in generation(searcher) for value in config.values()]
    assert values and {type(value) for value in values} <= {float, int}
    assert not any(isinstance(value, np.generic) for value in values)


# ----------------------------------------------------------------------------- convergence


def test_tolerances_have_pycmas_defaults_and_one_cma_run() -> None:
    searcher = CMAES()
    assert (searcher.tolfun, searcher.tolx, searcher.restarts) == (1e-11, 1e-11, 0)
    assert isinstance(searcher, Converging) and not searcher.converged()
    assert not isinstance(Random(), Converging) and not has_converged(Random())


def sphere_run(
    searcher: CMAES, *, seed: int = 0, workers: int = 4, **kwargs: Any
) -> pt.TuneResult:
    return pt.tune(
        sphere,
        box(2),
        searcher=searcher,
        executor="simulated",
        workers=workers,
        max_trials=3000,
        seed=seed,
        store=None,
        **kwargs,
    )


@pytest.mark.parametrize("seed", range(3))
def test_a_quadratic_converges_and_the_run_stops(seed: int) -> None:
    searcher = CMAES()
    result = sphere_run(searcher, seed=seed)
    assert result.stop_reason is pt.StopReason.CONVERGED
    assert len(result.trial_list) < 800  # of 3000 allowed
    assert best(result) < 1e-14
    assert searcher.converged() and searcher.restarted == 0
    assert searcher.suggest() is None and searcher.suggest() is None  # for good
    # The last generation's values lie within tolfun of each other.
    values = [t.value for t in result.trial_list[-searcher.population_size :]]
    assert all(v is not None for v in values)
    assert max(values) - min(values) < 1e-11  # type: ignore[type-var,operator]


def test_a_looser_tolerance_stops_sooner() -> None:
    default = sphere_run(CMAES())
    loose = sphere_run(CMAES(tolfun=1e-4))
    coarse = sphere_run(CMAES(tolfun=0, tolx=1e-3))  # only the step size can stop it
    assert loose.stop_reason is coarse.stop_reason is pt.StopReason.CONVERGED
    assert len(loose.trial_list) < 0.6 * len(default.trial_list)
    assert len(coarse.trial_list) < 0.6 * len(default.trial_list)
    assert 1e-12 < best(loose) < 1e-3 and best(coarse) < 1e-4


def test_no_tolerance_and_unlimited_restarts_run_to_max_trials() -> None:
    searcher = CMAES(restarts=None)
    result = sphere_run(searcher)
    assert result.stop_reason is pt.StopReason.MAX_TRIALS and len(result.trial_list) == 3000
    assert searcher.restarted >= 1 and not searcher.converged()


def test_restarts_double_the_population_then_the_search_ends() -> None:
    # Flat: each CMA run ends after 18 generations of 4, 14 of 8 and 12 of 16.
    searcher = CMAES(restarts=2)
    result = pt.tune(
        lambda c: 1.0,
        box(1),
        searcher=searcher,
        executor="simulated",
        workers=2,
        max_trials=1000,
        store=None,
    )
    assert len(result.trial_list) == 18 * 4 + 14 * 8 + 12 * 16
    assert result.stop_reason is pt.StopReason.CONVERGED
    assert searcher.restarted == 2 and searcher.population_size == 16


def test_convergence_is_reproducible_whatever_the_workers() -> None:
    runs = [sphere_run(CMAES(popsize=8), seed=2, workers=workers) for workers in (1, 8, 3)]
    assert runs[0].stop_reason is pt.StopReason.CONVERGED
    for result in runs[1:]:
        assert history(result) == history(runs[0])
        assert result.stop_reason is pt.StopReason.CONVERGED


def test_convergence_after_points_to_evaluate() -> None:
    result = sphere_run(CMAES(), points_to_evaluate=[{"x0": 0.0, "x1": 0.0}])
    assert result.stop_reason is pt.StopReason.CONVERGED
    assert result.trial_list[0].config == {"x0": 0.0, "x1": 0.0}


def test_a_converged_run_is_stored_so_and_resumes_to_nothing_more(tmp_path: Any) -> None:
    def run(max_trials: int, resume: bool) -> pt.TuneResult:
        return pt.tune(
            sphere,
            box(2),
            searcher=CMAES(),
            executor="simulated",
            workers=2,
            max_trials=max_trials,
            store=tmp_path / "runs.db",
            name="fit",
            resume=resume,
        )

    first = run(3000, resume=False)
    assert first.stop_reason is pt.StopReason.CONVERGED
    assert pt.load(tmp_path / "runs.db", "fit").stop_reason is pt.StopReason.CONVERGED
    again = run(5000, resume=True)
    assert again.stop_reason is pt.StopReason.CONVERGED
    assert history(again) == history(first)
