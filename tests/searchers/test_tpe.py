"""TPE: the searcher contract, start-up, pending and failed trials, promotions, determinism,
resume and search quality (its models: test_tpe_model.py; conditional spaces:
test_tpe_conditions.py)."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.schedulers import ASHA
from paratune.searchers import TPE, Searcher, make_searcher
from paratune.space import Choice, Float, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config, Status, Trial

from ._problems import BRANIN, BRANIN_MIN, MIXED, branin, done, drive, failed, mixed_loss

# ----------------------------------------------------------------------------- the contract


class TestTPE(SearcherContract):
    def make_searcher(self) -> Searcher:
        return TPE()


class TestTPEUnivariate(SearcherContract):
    def make_searcher(self) -> Searcher:
        return TPE(multivariate=False, candidates=8)


class TestTPEModelFromTheStart(SearcherContract):
    # No start-up: every suggestion comes from the models (the prior and the pending ones).
    def make_searcher(self) -> Searcher:
        return TPE(startup=0)


# ----------------------------------------------------------------------------- helpers


def fitted(searcher: TPE) -> tuple[np.ndarray[Any, np.dtype[np.intp]], np.ndarray[Any, Any]]:
    """The rows the models fit now, and their values (inf for failed trials)."""
    results = searcher._results
    return results.at(results.fidelity(searcher._enough))


def distinct(configs: list[Config]) -> int:
    return len({repr(sorted(config.items())) for config in configs})


def units(space: Space, configs: list[Config]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array([space.encode(config) for config in configs])


# ----------------------------------------------------------------------------- start-up


def test_start_up_is_random_until_enough_trials_have_a_value() -> None:
    space = Space(BRANIN)
    searcher, reference = TPE(startup=3), TPE(startup=1000)
    for tpe in (searcher, reference):
        tpe.setup(space, seed=4, workers=1, max_trials=None)
    # Failed trials do not end the start-up: both stay random, in step.
    for trial_id in range(6):
        config, expected = searcher.suggest(), reference.suggest()
        assert config == expected and config is not None
        searcher.observe(failed(trial_id, config))
        reference.observe(failed(trial_id, config))
    for trial_id in range(6, 9):
        config, expected = searcher.suggest(), reference.suggest()
        assert config == expected and config is not None
        searcher.observe(done(trial_id, config, branin(config)))
        reference.observe(done(trial_id, config, branin(config)))
    # Three values: the model takes over, and the sequences part.
    assert searcher.suggest() != reference.suggest()


# ----------------------------------------------------------------------------- pending trials


@pytest.mark.parametrize("multivariate", [True, False], ids=["multivariate", "univariate"])
@pytest.mark.parametrize("space", [Space(BRANIN), MIXED], ids=["branin", "mixed"])
def test_eight_simultaneous_suggestions_are_distinct_and_spread(
    space: Space, multivariate: bool
) -> None:
    objective = branin if "x1" in space.names else mixed_loss
    searcher = TPE(multivariate=multivariate)
    searcher.setup(space, seed=3, workers=8, max_trials=None)
    for trial_id in range(20):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(done(trial_id, config, objective(config)))
    batch = [searcher.suggest() for _ in range(8)]  # eight idle workers, no new result
    configs = [config for config in batch if config is not None]
    assert len(configs) == 8
    assert distinct(configs) == 8
    for config in configs:
        assert space.validate(config) == config
    # Each pending config is a bad trial to the model: the batch does not pile up.
    points = units(space, configs)
    gaps = np.linalg.norm(points[:, np.newaxis] - points[np.newaxis, :], axis=-1)
    assert gaps[np.triu_indices(8, k=1)].min() > 0.02


def test_pending_configs_are_in_the_bad_model_until_observed() -> None:
    searcher = TPE(startup=2)
    searcher.setup(Space(BRANIN), seed=0, workers=3, max_trials=None)
    first, second = searcher.suggest(), searcher.suggest()
    assert first is not None and second is not None
    assert len(searcher._pending) == 2
    searcher.observe(done(0, first, branin(first)))
    assert len(searcher._pending) == 1
    for _ in range(5):
        searcher.suggest()
    assert len(searcher._pending) == 6
    # Only the `workers` latest pending configs count, as the tuner never runs more: the bad
    # model holds three liars and the prior (the one trial observed is the good one).
    searcher.observe(done(1, second, branin(second)))
    below, above = searcher._split()
    assert below.tolist() == [0] or below.tolist() == [1]
    latest = np.array(list(searcher._pending.values())[-3:])
    bad = searcher._bad_model(above, latest, np.arange(2))
    assert len(bad.log_weights) == 1 + 3 + 1  # the other trial, three liars, the prior
    np.testing.assert_allclose(bad.means[1:4], latest)


# ----------------------------------------------------------------------------- failures


def test_failed_and_cancelled_trials_are_never_proposed_again() -> None:
    space = Space({"n": Int(0, 9), "c": Choice(["a", "b"])})  # a grid of 20 configs
    searcher = TPE(startup=4)
    searcher.setup(space, seed=5, workers=1, max_trials=None)
    seen: list[Config] = []
    for trial_id in range(25):
        config = searcher.suggest()
        if config is None:
            break
        seen.append(config)
        if config["n"] % 3 == 0:
            searcher.observe(failed(trial_id, config))
        elif config["n"] == 4:
            searcher.observe(Trial(trial_id, config, 0, Status.CANCELLED))
        else:
            searcher.observe(done(trial_id, config, float(config["n"])))
    # Every config once, the failed and cancelled ones included, then nothing more to try.
    assert len(seen) == 20
    assert distinct(seen) == 20
    assert searcher.suggest() is None


def test_failed_trials_are_bad_and_cancelled_ones_left_out() -> None:
    searcher = TPE()
    searcher.setup(Space(BRANIN), seed=0, workers=1, max_trials=None)
    configs = [searcher.suggest() for _ in range(4)]
    assert None not in configs
    searcher.observe(done(0, configs[0], 1.0))  # type: ignore[arg-type]
    searcher.observe(failed(1, configs[1]))  # type: ignore[arg-type]
    searcher.observe(Trial(2, configs[2], 0, Status.CANCELLED))  # type: ignore[arg-type]
    searcher.observe(Trial(3, configs[3], 0, Status.PRUNED))  # type: ignore[arg-type]
    assert searcher._n == 2 and searcher._results.valued == 1
    below, above = searcher._split()
    assert below.tolist() == [0] and above.tolist() == [1]
    assert fitted(searcher)[1].tolist() == [1.0, math.inf]


def test_failures_through_the_tuner_steer_the_search_away() -> None:
    def objective(config: Config) -> float:
        if config["x1"] > 7.5:  # a sixth of the range of x1
            raise RuntimeError("diverged")
        return branin(config)

    late_failures = 0
    for seed in range(4):
        result = pt.tune(
            objective,
            BRANIN,
            searcher="tpe",
            executor="simulated",
            workers=4,
            max_trials=60,
            seed=seed,
            store=None,
        )
        configs = [trial.config for trial in result.trial_list]
        assert distinct(configs) == len(configs) == 60
        late_failures += sum(t.status is pt.Status.FAILED for t in result.trial_list[30:])
    # Random search would fail about 20 of these 120 trials.
    assert late_failures <= 10


# ----------------------------------------------------------------------------- promotions


def test_a_promotion_replaces_the_value_and_keeps_the_running_suggestion_pending() -> None:
    space = Space({"x": Float(0, 1)})
    searcher = TPE(startup=2)
    searcher.setup(space, seed=0, workers=4, max_trials=None)
    first, second = searcher.suggest(), searcher.suggest()
    assert first is not None and second is not None
    searcher.observe(done(0, first, 5.0, budget=1))
    searcher.observe(done(1, second, 4.0, budget=1))
    running = searcher.suggest()  # trial 2: still running below
    assert running is not None
    searcher.observe(done(0, first, 0.5, budget=3))  # trial 0 promoted: a better value
    assert fitted(searcher)[1].tolist() == [0.5, 4.0]
    assert list(searcher._pending) == [searcher._layout.key(running)]
    # A promotion that failed leaves the value as it was, and marks nothing failed.
    searcher.observe(Trial(0, first, 0, Status.FAILED, error="boom", budget=9))
    assert fitted(searcher)[1].tolist() == [0.5, 4.0]
    assert searcher._results.valued == 2
    assert list(searcher._pending) == [searcher._layout.key(running)]


def test_a_stored_trial_replayed_after_a_suggestion_takes_its_place() -> None:
    searcher = TPE()
    searcher.setup(Space({"x": Float(0, 1)}), seed=2, workers=2, max_trials=None)
    assert searcher.suggest() is not None
    searcher.observe(done(0, {"x": 0.123}, 1.0))
    assert searcher._pending == {}


def test_asha_run_with_tpe_is_reproducible() -> None:
    def trains(config: dict[str, Any], ctx: pt.Context) -> float:
        assert ctx.budget is not None
        ctx.elapse(float(ctx.budget))
        return float((config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2 + 1 / ctx.budget)

    def run() -> pt.TuneResult:
        return pt.tune(
            trains,
            {"x": pt.Float(0, 1), "y": pt.Float(0, 1)},
            scheduler=ASHA(budget="epochs", min_budget=1, max_budget=27, eta=3),
            searcher="tpe",
            executor="simulated",
            workers=4,
            max_trials=50,
            seed=0,
            store=None,
        )

    first, second = run(), run()
    assert any(t.budget is not None and t.budget > 1 for t in first.trial_list)
    assert [(t.config, t.value) for t in first.trial_list] == [
        (t.config, t.value) for t in second.trial_list
    ]
    assert distinct([t.config for t in first.trial_list]) == 50


# ----------------------------------------------------------------------------- determinism


def test_same_seed_and_observations_give_same_suggestions() -> None:
    first = drive(TPE(), MIXED, mixed_loss, 30, seed=9)
    assert drive(TPE(), MIXED, mixed_loss, 30, seed=9) == first
    assert drive(TPE(), MIXED, mixed_loss, 30, seed=10) != first


def test_tune_with_eight_simulated_workers_is_reproducible() -> None:
    def run() -> pt.TuneResult:
        return pt.tune(
            branin,
            BRANIN,
            searcher="tpe",
            executor="simulated",
            workers=8,
            max_trials=80,
            seed=2,
            store=None,
        )

    first, second = run(), run()
    assert len(first.trial_list) == 80
    assert [(t.config, t.value) for t in first.trial_list] == [
        (t.config, t.value) for t in second.trial_list
    ]
    assert first.best_value is not None and first.best_value < 1.5


def test_resumed_run_goes_on_without_repeating_configs(tmp_path: Path) -> None:
    def run(max_trials: int, resume: bool) -> pt.TuneResult:
        return pt.tune(
            branin,
            BRANIN,
            searcher="tpe",
            executor="simulated",
            workers=4,
            max_trials=max_trials,
            seed=0,
            store=tmp_path / "tpe.db",
            name="branin",
            resume=resume,
        )

    first = run(30, resume=False)
    second = run(60, resume=True)
    assert [t.config for t in second.trial_list[:30]] == [t.config for t in first.trial_list]
    assert distinct([t.config for t in second.trial_list]) == 60
    assert second.best_value is not None and second.best_value <= first.best_value  # type: ignore[operator]


# ----------------------------------------------------------------------------- quality


def test_branin_beats_random_search() -> None:
    def median_best(searcher: str) -> float:
        bests = []
        for seed in range(5):
            result = pt.tune(
                branin,
                BRANIN,
                searcher=searcher,
                executor="simulated",
                workers=1,
                max_trials=60,
                seed=seed,
                store=None,
            )
            assert result.best_value is not None
            bests.append(result.best_value)
        return statistics.median(bests)

    tpe, random = median_best("tpe"), median_best("random")
    assert BRANIN_MIN <= tpe < 1.0
    assert tpe < random


@pytest.mark.parametrize("multivariate", [True, False], ids=["multivariate", "univariate"])
def test_choice_int_and_log_parameters_are_learned(multivariate: bool) -> None:
    configs = drive(TPE(multivariate=multivariate), MIXED, mixed_loss, 60, seed=1)
    model_phase = configs[20:]
    good = sum(config["kind"] == "good" for config in model_phase)
    assert good >= 0.6 * len(model_phase)
    best = min(configs, key=mixed_loss)
    assert best["kind"] == "good"
    assert mixed_loss(best) < 0.15
    assert all(isinstance(config["n"], int) for config in configs)


def test_mode_max_is_maximised() -> None:
    result = pt.tune(
        lambda config: -branin(config),
        BRANIN,
        mode="max",
        searcher="tpe",
        executor="simulated",
        workers=2,
        max_trials=60,
        seed=0,
        store=None,
    )
    assert result.best_value is not None and result.best_value > -1.5


# ----------------------------------------------------------------------------- small spaces


def test_a_small_discrete_space_is_used_up_after_the_model_takes_over() -> None:
    space = Space({"n": Int(1, 5), "c": Choice([True, 1, "one"])})  # 15 configs
    searcher = TPE(startup=3)
    searcher.setup(space, seed=0, workers=1, max_trials=None)
    seen = []
    for trial_id in range(20):
        config = searcher.suggest()
        if config is None:
            break
        seen.append(config)
        searcher.observe(done(trial_id, config, float(config["n"])))
    assert distinct(seen) == len(seen) == 15
    assert {type(config["c"]) for config in seen} == {bool, int, str}


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"startup": -1}, r"^startup must be a non-negative integer, got -1$"),
        ({"startup": 2.5}, r"^startup must be a non-negative integer, got 2.5$"),
        ({"gamma": 0}, r"^gamma must be a number in \(0, 1\], got 0$"),
        ({"gamma": 1.5}, r"^gamma must be a number in \(0, 1\], got 1.5$"),
        ({"gamma": True}, r"^gamma must be a number in \(0, 1\], got True$"),
        ({"candidates": 0}, r"^candidates must be a positive integer, got 0$"),
        ({"prior_weight": 0.0}, r"^prior_weight must be a positive number, got 0.0$"),
        ({"prior_weight": math.inf}, r"^prior_weight must be a positive number, got inf$"),
        ({"multivariate": 1}, r"^multivariate must be True or False, got 1$"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        TPE(**kwargs)


def test_make_searcher_knows_tpe() -> None:
    first, second = make_searcher("tpe"), make_searcher("TPE")
    assert type(first) is TPE and first is not second
    assert repr(first) == (
        "TPE(startup=10, gamma=0.1, candidates=24, prior_weight=1.0, multivariate=True)"
    )
    assert pt.searchers.TPE is TPE


def test_suggest_or_observe_before_setup_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"call setup\(\) before suggest\(\)"):
        TPE().suggest()
    with pytest.raises(RuntimeError, match=r"call setup\(\) before observe\(\)"):
        TPE().observe(done(0, {"x": 0.5}, 1.0))
