"""TPE's parts: a suggestion's cost as observations grow, the subsampled bad model, the rows
configs are written as, and the Parzen estimators."""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import numpy as np
import pytest
from scipy.stats import truncnorm

from paratune.searchers import TPE
from paratune.searchers._parzen import Mixture, draw, fit, log_pdf, sample
from paratune.searchers._tpe import _age_weights
from paratune.searchers._tpelayout import Layout
from paratune.space import Choice, Float, Int, Space

from ._problems import MIXED, done
from .test_tpe import units

# ----------------------------------------------------------------------------- speed


def fed(space: Space, count: int) -> TPE:
    """A TPE that has observed ``count`` random configs of ``space``."""
    searcher = TPE()
    searcher.setup(space, seed=0, workers=8, max_trials=None)
    rng = np.random.default_rng(0)
    for trial_id, config in enumerate(space.sample_many(rng, count)):
        x = np.array(list(config.values()))  # every parameter is a Float(0, 1)
        searcher.observe(done(trial_id, config, float(((x - 0.3) ** 2).sum())))
    return searcher


def test_suggestion_with_10000_observations_in_10_dimensions_is_fast() -> None:
    space = Space({f"x{i}": Float(0, 1) for i in range(10)})
    searcher = fed(space, 10_000)
    seconds = []
    for trial_id in range(10_000, 10_015):
        start = time.perf_counter()
        config = searcher.suggest()
        seconds.append(time.perf_counter() - start)
        assert config is not None
        searcher.observe(done(trial_id, config, 1.0))
    # About 3 ms on an idle core; the bound leaves room for a busy machine.
    assert statistics.median(seconds) < 0.05


def test_the_bad_model_is_subsampled_and_keeps_its_weight() -> None:
    space = Space({"x": Float(0, 1), "y": Float(0, 1)})
    searcher = fed(space, 3000)
    below, above = searcher._split()
    assert len(below) == 25 and len(above) == 2975
    bad = searcher._bad_model(above, np.empty((0, 2)), np.arange(2))
    assert len(bad.log_weights) <= 1001  # at most 1,000 trials and the prior
    # The prior's share is what it would be with every trial as a kernel.
    full = _age_weights(2975).sum()
    assert math.exp(bad.log_weights[-1]) == pytest.approx(1.0 / (full + 1.0))
    # The narrowest bandwidth is that of 2,975 kernels: 1 / min(100, 2,975 + 2).
    assert bad.sigmas.min() == pytest.approx(0.01)


# ----------------------------------------------------------------------------- the layout


def test_rows_are_the_unit_cube_points_and_choice_indices() -> None:
    layout = Layout(MIXED)
    rng = np.random.default_rng(0)
    for config in MIXED.sample_many(rng, 50):
        row, u = layout.row(config), MIXED.encode(config)
        kind = MIXED.domains["kind"]
        assert isinstance(kind, Choice)
        assert row[3] == kind.values.index(config["kind"])
        np.testing.assert_allclose(row[:3], u[:3], atol=1e-12)
        assert layout.config(MIXED, row) == config
        assert layout.key(config) == layout.key(dict(config))
    assert np.isnan(layout.row({"lr": 1e-3})[1:]).all()  # a config lacking parameters
    assert layout.key({"lr": 1e-3}) == (1e-3, None, None, None)


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
def test_snapping_moves_an_int_to_the_centre_of_its_cell(log: bool) -> None:
    space = Space({"x": Float(0, 1), "n": Int(1, 40, log=log)})
    layout = Layout(space)
    points = np.random.default_rng(1).random((200, 2))
    snapped = layout.snap(points.copy(), np.array([0, 1]))
    assert (snapped[:, 0] == points[:, 0]).all()
    expected = units(space, space.decode_many(points))[:, 1]
    np.testing.assert_allclose(snapped[:, 1], expected, atol=1e-12)


# ----------------------------------------------------------------------------- Parzen estimators


def reference_density(mixture: Mixture, points: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The mixture's density, kernel by kernel, with SciPy's truncated normal."""
    total = np.zeros(len(points))
    weights = np.exp(mixture.log_weights)
    for k, weight in enumerate(weights):
        density = np.full(len(points), weight)
        for d, column in enumerate(mixture.numeric):
            mean, sigma = mixture.means[k, d], mixture.sigmas[k, d]
            density *= truncnorm.pdf(
                points[:, column], -mean / sigma, (1 - mean) / sigma, loc=mean, scale=sigma
            )
        for d, column in enumerate(mixture.categorical):
            own = mixture.values[k, d]
            chosen = points[:, column].astype(int)
            if own < 0:
                density /= mixture.choices[d]
            else:
                density *= np.exp(np.where(chosen == own, mixture.log_hit[d], mixture.log_miss[d]))
        total += density
    return total


def test_log_pdf_is_the_mixture_of_truncated_normals_and_categorical_kernels() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.random(7), rng.random(7), rng.integers(0, 3, 7)])
    choices = np.array([0, 0, 3])
    mixture = fit(points, np.arange(1, 8.0), choices, observed=7, prior_weight=1.0)
    assert np.exp(mixture.log_weights).sum() == pytest.approx(1.0)
    at = np.column_stack([rng.random(20), rng.random(20), rng.integers(0, 3, 20)])
    np.testing.assert_allclose(log_pdf(mixture, at), np.log(reference_density(mixture, at)))


def test_samples_follow_the_mixture() -> None:
    rng = np.random.default_rng(1)
    points = np.array([[0.2, 0.0], [0.8, 2.0]])
    mixture = fit(points, np.ones(2), np.array([0, 4]), observed=2, prior_weight=1.0)
    drawn = sample(mixture, rng, 100_000)
    assert ((drawn[:, 0] >= 0) & (drawn[:, 0] <= 1)).all()
    # A Choice's marginal: each kernel's probabilities, by weight.
    weights = np.exp(mixture.log_weights)
    hit, miss = np.exp(mixture.log_hit[0]), np.exp(mixture.log_miss[0])
    expected = np.array(
        [
            weights[0] * (hit if value == 0 else miss)
            + weights[1] * (hit if value == 2 else miss)
            + weights[2] / 4
            for value in range(4)
        ]
    )
    counts = np.bincount(drawn[:, 1].astype(int), minlength=4) / len(drawn)
    np.testing.assert_allclose(counts, expected, atol=0.01)
    # The numeric marginal's mean: the kernels' truncated means, by weight.
    means = [
        truncnorm.mean(-m / s, (1 - m) / s, loc=m, scale=s)
        for m, s in zip(mixture.means[:, 0], mixture.sigmas[:, 0], strict=True)
    ]
    assert drawn[:, 0].mean() == pytest.approx(float(np.dot(weights, means)), abs=0.01)


def test_bandwidths_are_the_gaps_to_the_neighbours() -> None:
    # Optuna's rule: centres 0.1, 0.3 and 0.9 between the ends 0 and 1, each the larger of
    # its two gaps, the outermost kernels their inner gap; the prior spans the range.
    points = np.array([[0.1, 0.5], [0.3, 0.5], [0.9, 0.5]])
    mixture = fit(points, np.ones(3), np.array([0, 0]), observed=3, prior_weight=1.0)
    np.testing.assert_allclose(mixture.sigmas[:, 0], [0.2, 0.6, 0.6, 1.0])
    # A lone kernel reaches the farther end.
    lone = fit(np.array([[0.3]]), np.ones(1), np.array([0]), observed=1, prior_weight=1.0)
    np.testing.assert_allclose(lone.sigmas[:, 0], [0.7, 1.0])


def test_bandwidths_are_clipped_to_the_range_over_the_kernels() -> None:
    points = np.full((5, 1), 0.5)
    mixture = fit(points, np.ones(5), np.array([0]), observed=5, prior_weight=1.0)
    np.testing.assert_allclose(mixture.sigmas[:5, 0], 1 / 7)  # 1 / min(100, 5 + 1 + 1)


@pytest.mark.parametrize("count", [1, 2, 12, 40])
def test_densities_are_those_of_optunas_parzen_estimator(count: int) -> None:
    optuna = pytest.importorskip("optuna")
    from optuna.samplers._tpe.parzen_estimator import (
        _ParzenEstimator,
        _ParzenEstimatorParameters,
    )

    rng = np.random.default_rng(count)
    points = np.column_stack([rng.random((count, 3)), rng.integers(0, 4, count)])
    names = ("a", "b", "c", "k")
    box = {name: optuna.distributions.FloatDistribution(0, 1) for name in names[:3]}
    space = {**box, "k": optuna.distributions.CategoricalDistribution([0, 1, 2, 3])}
    parameters = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=True,
        consider_endpoints=False,
        weights=optuna.samplers._tpe.sampler.default_weights,
        multivariate=True,
    )
    theirs = _ParzenEstimator(dict(zip(names, points.T, strict=True)), space, parameters)
    mine = fit(points, _age_weights(count), np.array([0, 0, 0, 4]), observed=count,
               prior_weight=1.0)  # fmt: skip
    at = np.column_stack([rng.random((50, 3)), rng.integers(0, 4, 50)])
    expected = theirs.log_pdf(dict(zip(names, at.T, strict=True)))
    np.testing.assert_allclose(log_pdf(mine, at), expected, rtol=1e-10)


def test_age_weights_ramp_up_past_the_latest_25() -> None:
    assert _age_weights(0).tolist() == []
    assert _age_weights(25).tolist() == [1.0] * 25
    weights = _age_weights(35)
    assert weights[0] == pytest.approx(1 / 35)
    assert weights[9] == pytest.approx(1.0)
    assert (np.diff(weights) >= 0).all() and (weights[10:] == 1.0).all()


def test_draw_picks_indices_in_proportion_to_their_weights() -> None:
    rng = np.random.default_rng(2)
    picked = draw(rng, np.array([1.0, 0.0, 3.0, 4.0]), 80_000)
    shares = np.bincount(picked, minlength=4) / len(picked)
    np.testing.assert_allclose(shares, [0.125, 0.0, 0.375, 0.5], atol=0.01)
    assert draw(np.random.default_rng(2), np.array([1.0, 0.0, 3.0, 4.0]), 50).tolist() == (
        picked[:50].tolist()
    )


@pytest.mark.parametrize(("count", "running"), [(20, 7), (30, 7), (60, 0), (60, 7), (190, 7)])
def test_the_acquisition_is_optunas_with_running_trials_in(count: int, running: int) -> None:
    """The whole of a suggestion's scoring against Optuna's TPESampler (multivariate,
    constant liar) given the same trials: the split, the age weights (the running trials
    the newest of the bad ones) and both densities."""
    optuna = pytest.importorskip("optuna")
    from optuna.samplers._tpe.sampler import _split_trials, default_gamma
    from optuna.trial import TrialState, create_trial

    names = ("a", "b", "c")
    space = Space({name: Float(0, 1) for name in names})
    rng = np.random.default_rng(count)
    points = rng.random((count, 3))
    values = ((points - 0.3) ** 2).sum(axis=1)
    searcher = TPE(startup=1)
    searcher.setup(space, seed=count, workers=8, max_trials=None)
    configs = [dict(zip(names, point.tolist(), strict=True)) for point in points]
    for trial_id, (config, value) in enumerate(zip(configs, values, strict=True)):
        searcher.observe(done(trial_id, config, float(value)))
    suggested = []  # pending, as on busy workers
    for _ in range(running):
        asked = searcher.suggest()
        assert asked is not None
        suggested.append(asked)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=0)
    study = optuna.create_study(sampler=sampler)
    box = {name: optuna.distributions.FloatDistribution(0, 1) for name in names}
    for config, value in zip(configs, values, strict=True):
        study.add_trial(create_trial(params=config, distributions=box, value=float(value)))
    for pending_config in suggested:
        study.enqueue_trial(pending_config)
        study.ask(box)  # running, with the suggested config
    trials = study.get_trials(states=[TrialState.COMPLETE, TrialState.RUNNING])
    below, above = _split_trials(study, trials, default_gamma(count))
    good = sampler._build_parzen_estimator(study, box, below, handle_below=True)
    bad = sampler._build_parzen_estimator(study, box, above, handle_below=False)
    at = rng.random((200, 3))
    theirs = good.log_pdf(dict(zip(names, at.T, strict=True)))
    theirs -= bad.log_pdf(dict(zip(names, at.T, strict=True)))

    mine_below, mine_above, weights = searcher._weighed_split()
    pending = np.array([searcher._layout.row(c) for c in suggested]).reshape(-1, 3)
    columns = np.arange(3)
    mine = log_pdf(searcher._good_model(mine_below, weights, columns), at)
    mine -= log_pdf(searcher._bad_model(mine_above, pending, columns), at)
    np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9)
