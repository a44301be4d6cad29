"""GP: the searcher contract, the design, pending and failed trials, and search quality."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.searchers import GP, LatinHypercube, Searcher, Sobol, make_searcher
from paratune.searchers._gpmodel import standardise, warp_outputs
from paratune.space import Choice, Float, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config

from ._problems import BRANIN, BRANIN_MIN, MIXED, branin, done, drive, failed, mixed_loss

# ----------------------------------------------------------------------------- the contract


class TestGP(SearcherContract):
    def make_searcher(self) -> Searcher:
        return GP()


class TestGPSobolLCB(SearcherContract):
    def make_searcher(self) -> Searcher:
        return GP(init_design="sobol", acquisition="lcb", candidates=200)


# ----------------------------------------------------------------------------- helpers


def after_design(space: Space, objective: Callable[[Config], float], workers: int) -> GP:
    """A GP whose initial design has been suggested and observed."""
    searcher = GP(init_size=12)
    searcher.setup(space, seed=3, workers=workers, max_trials=None)
    for trial_id in range(12):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(done(trial_id, config, objective(config)))
    return searcher


def units(space: Space, configs: list[Config]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array([space.encode(config) for config in configs])


def distinct(configs: list[Config]) -> int:
    return len({repr(sorted(config.items())) for config in configs})


# ----------------------------------------------------------------------------- the design


@pytest.mark.parametrize(
    ("dimension", "workers", "init_size", "expected"),
    [(2, 1, None, 10), (12, 4, None, 13), (2, 16, None, 16), (3, 1, 5, 5)],
)
def test_design_size_is_documented_default(
    dimension: int, workers: int, init_size: int | None, expected: int
) -> None:
    # max(10, dimension + 1, workers): a Latin hypercube whose every slice holds one point.
    space = Space({f"x{i}": Float(0, 1) for i in range(dimension)})
    searcher = GP(init_size=init_size)
    searcher.setup(space, seed=1, workers=workers, max_trials=100)
    design = [searcher.suggest() for _ in range(expected)]
    reference = LatinHypercube()
    reference.setup(space, seed=1, workers=workers, max_trials=expected)
    assert design == [reference.suggest() for _ in range(expected)]
    points = units(space, [config for config in design if config is not None])
    for column in points.T:
        assert sorted((column * expected).astype(int).tolist()) == list(range(expected))
    after = searcher.suggest()  # the model's first, or maximin's with no result yet
    assert after is not None and after not in design


def test_sobol_design_is_the_start_of_the_sobol_sequence() -> None:
    space = Space({"x": Float(0, 1), "n": Int(1, 100), "k": "K"})
    searcher = GP(init_design="sobol")
    searcher.setup(space, seed=4, workers=2, max_trials=None)
    reference = Sobol()
    reference.setup(space, seed=4, workers=2, max_trials=None)
    assert [searcher.suggest() for _ in range(10)] == [reference.suggest() for _ in range(10)]


def test_design_is_handed_out_at_once_and_spread() -> None:
    space = Space(BRANIN)
    searcher = GP()
    searcher.setup(space, seed=0, workers=8, max_trials=60)
    configs = [searcher.suggest() for _ in range(10)]  # no result yet: nobody waits
    assert None not in configs
    assert distinct([c for c in configs if c is not None]) == 10


def test_design_drops_duplicates_of_a_small_discrete_space() -> None:
    space = Space({"c": Choice(["a", "b", "c"]), "k": 1})
    searcher = GP()
    searcher.setup(space, seed=0, workers=4, max_trials=None)
    configs = [searcher.suggest() for _ in range(5)]
    assert sorted(config["c"] for config in configs[:3] if config is not None) == ["a", "b", "c"]
    assert configs[3:] == [None, None]


# ----------------------------------------------------------------------------- pending trials


@pytest.mark.parametrize("space", [Space(BRANIN), MIXED], ids=["branin", "mixed"])
def test_pending_trials_get_distinct_spread_suggestions(space: Space) -> None:
    objective = branin if "x1" in space.names else mixed_loss
    searcher = after_design(space, objective, workers=8)
    batch = [searcher.suggest() for _ in range(8)]  # eight idle workers, no new result
    configs = [config for config in batch if config is not None]
    assert len(configs) == 8
    assert distinct(configs) == 8
    for config in configs:
        assert space.validate(config) == config
    # The liar makes the model expect nothing more near a pending point: no pile-up.
    points = units(space, configs)
    gaps = np.linalg.norm(points[:, np.newaxis] - points[np.newaxis, :], axis=-1)
    assert gaps[np.triu_indices(8, k=1)].min() > 0.02


def test_suggestions_without_any_result_are_distinct() -> None:
    searcher = GP(init_size=5)
    searcher.setup(MIXED, seed=2, workers=4, max_trials=None)
    configs = [searcher.suggest() for _ in range(30)]
    assert None not in configs
    assert distinct([c for c in configs if c is not None]) == 30


# ----------------------------------------------------------------------------- failures


def test_failed_trials_are_not_fitted_nor_proposed_again() -> None:
    space = Space({"n": Int(0, 9), "c": Choice(["a", "b"])})  # a grid of 20 configs
    searcher = GP()
    searcher.setup(space, seed=5, workers=1, max_trials=None)
    seen: list[Config] = []
    broken: list[Config] = []
    for trial_id in range(25):
        config = searcher.suggest()
        if config is None:
            break
        seen.append(config)
        if config["n"] % 3 == 0:  # fails: no value, nothing to fit
            broken.append(config)
            searcher.observe(failed(trial_id, config))
        else:
            searcher.observe(done(trial_id, config, float(config["n"])))
    # Every config once, the failed ones included, then nothing more to try.
    assert len(seen) == 20
    assert distinct(seen) == 20
    assert broken
    assert searcher.suggest() is None


def test_failures_through_the_tuner() -> None:
    def objective(config: Config) -> float:
        if config["x1"] > 7.5:  # a sixth of the range of x1
            raise RuntimeError("diverged")
        return branin(config)

    late_failures = 0
    for seed in range(4):
        result = pt.tune(
            objective,
            BRANIN,
            searcher="gp",
            executor="simulated",
            workers=4,
            max_trials=40,
            seed=seed,
            store=None,
        )
        configs = [trial.config for trial in result.trial_list]
        assert distinct(configs) == len(configs) == 40
        assert any(t.status is pt.Status.FAILED for t in result.trial_list)
        late_failures += sum(t.status is pt.Status.FAILED for t in result.trial_list[20:])
        assert result.best_value is not None and result.best_value < 1.0
    # Failures steer the search away: random search would fail about 13 of these 80 trials.
    assert late_failures <= 6


# ----------------------------------------------------------------------------- determinism


def test_same_seed_and_observations_give_same_suggestions() -> None:
    first = drive(GP(), MIXED, mixed_loss, 25, seed=9)
    second = drive(GP(), MIXED, mixed_loss, 25, seed=9)
    assert first == second
    assert drive(GP(), MIXED, mixed_loss, 25, seed=10) != first


def test_tune_with_eight_simulated_workers_is_reproducible() -> None:
    def run() -> pt.TuneResult:
        return pt.tune(
            branin,
            BRANIN,
            searcher="gp",
            executor="simulated",
            workers=8,
            max_trials=60,
            seed=2,
            store=None,
        )

    first, second = run(), run()
    assert len(first.trial_list) == 60
    assert all(trial.status is pt.Status.DONE for trial in first.trial_list)
    assert [(t.config, t.value) for t in first.trial_list] == [
        (t.config, t.value) for t in second.trial_list
    ]
    assert first.best_value is not None and first.best_value < 0.5


def test_points_to_evaluate_come_first() -> None:
    point = {"x1": math.pi, "x2": 2.275}
    result = pt.tune(
        branin,
        BRANIN,
        points_to_evaluate=[point],
        searcher="gp",
        executor="simulated",
        workers=3,
        max_trials=20,
        seed=0,
        store=None,
    )
    assert result.trial_list[0].config == point
    assert distinct([t.config for t in result.trial_list]) == 20
    assert result.best_config == point


def test_mode_max_is_maximised() -> None:
    result = pt.tune(
        lambda config: -branin(config),
        BRANIN,
        mode="max",
        searcher="gp",
        executor="simulated",
        workers=2,
        max_trials=40,
        seed=0,
        store=None,
    )
    assert result.best_value is not None and result.best_value > -0.45


def test_resumed_run_goes_on_without_repeating_configs(tmp_path: Path) -> None:
    def run(max_trials: int, resume: bool) -> pt.TuneResult:
        return pt.tune(
            branin,
            BRANIN,
            searcher="gp",
            executor="simulated",
            workers=4,
            max_trials=max_trials,
            seed=0,
            store=tmp_path / "gp.db",
            name="branin",
            resume=resume,
        )

    first = run(20, resume=False)
    second = run(40, resume=True)
    assert [t.config for t in second.trial_list[:20]] == [t.config for t in first.trial_list]
    assert distinct([t.config for t in second.trial_list]) == 40
    assert second.best_value is not None and second.best_value < 0.5


# ----------------------------------------------------------------------------- quality


def test_branin_beats_random_search() -> None:
    def median_best(searcher: str) -> float:
        bests = []
        for seed in range(3):
            result = pt.tune(
                branin,
                BRANIN,
                searcher=searcher,
                executor="simulated",
                workers=1,
                max_trials=40,
                seed=seed,
                store=None,
            )
            assert result.best_value is not None
            bests.append(result.best_value)
        return statistics.median(bests)

    gp, random = median_best("gp"), median_best("random")
    assert BRANIN_MIN <= gp <= 0.45
    assert gp < random


def test_choice_parameters_are_learned() -> None:
    configs = drive(GP(), MIXED, mixed_loss, 40, seed=1)
    model_phase = configs[10:]  # the design is max(10, 2 * 4, 1) configs
    good = sum(config["kind"] == "good" for config in model_phase)
    assert good >= 0.7 * len(model_phase)
    best = min(configs, key=mixed_loss)
    assert best["kind"] == "good"
    assert mixed_loss(best) < 0.1


def test_lcb_acquisition_searches_too() -> None:
    configs = drive(GP(acquisition="lcb"), Space(BRANIN), branin, 30, seed=0)
    assert min(branin(config) for config in configs) < 1.0


# ----------------------------------------------------------------------------- small spaces


def test_single_value_choice_and_int_space() -> None:
    space = Space({"only": Choice(["x"]), "n": Int(0, 3)})
    searcher = GP()
    searcher.setup(space, seed=0, workers=1, max_trials=None)
    configs = []
    for trial_id in range(6):
        config = searcher.suggest()
        if config is None:
            break
        configs.append(config)
        searcher.observe(done(trial_id, config, float(config["n"])))
    assert sorted(config["n"] for config in configs) == [0, 1, 2, 3]


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init_design": "grid"}, r"^init_design must be 'lhs' or 'sobol', got 'grid'$"),
        ({"acquisition": "pi"}, r"^acquisition must be 'ei' or 'lcb', got 'pi'$"),
        ({"init_size": 0}, r"^init_size must be a positive integer or None, got 0$"),
        ({"init_size": True}, r"^init_size must be a positive integer or None, got True$"),
        ({"candidates": 5}, r"^candidates must be an integer of at least 10, got 5$"),
        (
            {"max_observations": 9},
            r"^max_observations must be an integer of at least 10 or None, got 9$",
        ),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        GP(**kwargs)


def test_make_searcher_knows_gp() -> None:
    first, second = make_searcher("gp"), make_searcher("GP")
    assert type(first) is GP and first is not second
    assert repr(first) == (
        "GP(init_design='lhs', init_size=None, acquisition='ei', candidates=2000, "
        "fidelity='latest', max_observations=300)"
    )


def test_suggest_before_setup_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"call setup\(\) before suggest\(\)"):
        GP().suggest()


# ----------------------------------------------------------------------------- speed


def test_suggestion_with_200_observations_in_10_dimensions_is_fast() -> None:
    space = Space({f"x{i}": Float(0, 1) for i in range(10)})
    searcher = GP()
    searcher.setup(space, seed=0, workers=8, max_trials=None)
    rng = np.random.default_rng(0)
    configs = space.sample_many(rng, 200)
    for trial_id, config in enumerate(configs):
        x = space.encode(config)
        searcher.observe(done(trial_id, config, float(((x - 0.3) ** 2).sum())))
    for _ in range(20):  # the design, which the observations did not cover
        searcher.suggest()
    start = time.perf_counter()
    suggestion = searcher.suggest()  # fits the kernel hyperparameters from scratch
    elapsed = time.perf_counter() - start
    assert suggestion is not None
    assert elapsed < 2.0
    assert len(searcher.suggest_times) == 21
    assert searcher.suggest_times[-1] <= elapsed


def test_suggestion_with_500_observations_in_10_dimensions_is_under_a_second() -> None:
    space = Space({f"x{i}": Float(0, 1) for i in range(10)})
    searcher = GP()
    searcher.setup(space, seed=0, workers=8, max_trials=None)
    configs = space.sample_many(np.random.default_rng(1), 500)
    for trial_id, config in enumerate(configs):
        x = space.encode(config)
        value = float(((x - 0.3) ** 2).sum() + np.sin(9 * x).sum())
        searcher.observe(done(trial_id, config, value))
    for _ in range(20):  # the design
        searcher.suggest()
    for _ in range(3):  # the first fits the hyperparameters from scratch; pending ones grow
        assert searcher.suggest() is not None
    assert max(searcher.suggest_times[20:]) < 1.0


# ----------------------------------------------------------------------------- the model


def test_model_gradients_match_finite_differences() -> None:
    from scipy.optimize import approx_fprime

    from paratune.searchers import _gpmodel

    rng = np.random.default_rng(0)
    x = rng.random((25, 3))
    y = np.sin(4 * x).sum(axis=1)
    y = (y - y.mean()) / y.std()
    squares = (x[:, np.newaxis, :] - x[np.newaxis, :, :]) ** 2
    theta = rng.normal(size=5) * 0.5

    def loss(t: np.ndarray[Any, np.dtype[np.float64]]) -> float:
        return _gpmodel._negative_log_posterior(t, squares, y)[0]

    _, gradient = _gpmodel._negative_log_posterior(theta, squares, y)
    numeric = approx_fprime(theta, loss)
    assert np.allclose(gradient, numeric, rtol=1e-4, atol=1e-4)

    posterior = _gpmodel.Posterior(_gpmodel.fit_theta(x, y, _gpmodel.default_theta(3)), x, y)
    points = rng.random((4, 3))
    mean, variance, d_mean, d_variance = posterior.predict_with_gradient(points)
    assert np.allclose((mean, variance), posterior.predict(points))

    def predicted(p: np.ndarray[Any, np.dtype[np.float64]], which: int) -> float:
        return float(posterior.predict(p[np.newaxis])[which][0])

    for row in range(4):
        for which, gradients in ((0, d_mean), (1, d_variance)):
            numeric = approx_fprime(points[row], predicted, 1e-7, which)
            assert np.allclose(gradients[row], numeric, rtol=1e-3, atol=1e-5)


def test_log_ei_is_the_log_of_ei_and_stays_finite_far_from_the_best() -> None:
    from scipy.stats import norm

    from paratune.searchers._gpmodel import log_ei

    mean = np.array([-1.0, 0.0, 0.5, 2.0])
    variance = np.array([0.5, 1.0, 0.1, 0.3])
    sigma = np.sqrt(variance)
    z = (0.2 - mean) / sigma
    expected = np.log(sigma * (z * norm.cdf(z) + norm.pdf(z)))
    assert np.allclose(log_ei(mean, variance, 0.2)[0], expected)
    # 100 standard deviations off: EI underflows to 0, its logarithm still ranks the points.
    far = log_ei(np.array([100.0, 200.0]), np.array([1.0, 1.0]), 0.0)
    assert np.all(np.isfinite(far[0])) and far[0][0] > far[0][1]
    assert np.all(np.isfinite(far[1])) and np.all(far[1] < 0)


def test_warped_outputs_keep_their_order_and_spread_the_good_ones() -> None:
    from scipy.stats import skew

    # A long tail of bad results, as on Rosenbrock: plainly standardised, the best ten are
    # squeezed together; warped, they spread out and the tail shrinks.
    values = np.exp(np.random.default_rng(4).normal(0.0, 2.0, size=50))
    warped = warp_outputs(values)
    plain = standardise(values)
    assert np.array_equal(np.argsort(warped), np.argsort(values))
    assert abs(warped.mean()) < 1e-9 and abs(warped.std() - 1.0) < 1e-9
    plain_skew, warped_skew = float(skew(plain)), float(skew(warped))
    assert plain_skew > 3 and abs(warped_skew) < plain_skew / 3
    best = np.argsort(values)[:10]
    assert np.ptp(warped[best]) > 5 * np.ptp(plain[best])
    # A long tail of good results (exponent above 1) is left as it is, only standardised.
    good_tail = -values
    assert np.array_equal(warp_outputs(good_tail), standardise(good_tail))
    # Nothing to warp: equal values, or too few to fit an exponent to.
    assert np.array_equal(warp_outputs(np.full(5, 7.0)), np.zeros(5))
    assert np.allclose(warp_outputs(np.array([1.0, 3.0])), [-1.0, 1.0])


def test_map_fit_finds_the_one_relevant_dimension() -> None:
    from paratune.searchers._gpmodel import default_theta, fit_theta

    # 12 points in 6-D where only the first coordinate matters: the prior keeps the
    # irrelevant length scales long instead of letting the fit chase noise in them.
    x = np.random.default_rng(3).random((12, 6))
    y = np.sin(6 * x[:, 0])
    y = (y - y.mean()) / y.std()
    theta = fit_theta(x, y, default_theta(6))
    inverse_squared_lengths = np.exp(theta[:6])
    assert inverse_squared_lengths[0] > 3 * inverse_squared_lengths[1:].max()


def test_pending_configs_are_believed_no_better_than_the_best() -> None:
    space = Space(BRANIN)
    searcher = after_design(space, branin, workers=4)
    pending = [searcher.suggest() for _ in range(3)]
    assert None not in pending
    model = searcher._model()
    mean, variance = model._posterior.predict(
        searcher._layout.features(units(space, [c for c in pending if c is not None]))
    )
    best = warp_outputs(np.array(searcher._done_y)).min()
    # Believed at the best result or above it (up to the fitted noise), and certain there.
    assert np.all(mean >= best - 0.05)
    assert np.all(variance < 1e-2)
