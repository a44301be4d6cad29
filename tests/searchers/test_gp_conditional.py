"""GP on conditional spaces: inactive coordinates imputed, the acquisition scored at
canonical points, and a search over optimizer-specific branches."""

from __future__ import annotations

import functools
import math
import statistics

import numpy as np
import pytest

import paratune as pt
from paratune.searchers import GP
from paratune.searchers._gpscore import INACTIVE, Layout, impute, one_blas_thread
from paratune.space import Choice, Float, Int, Space
from paratune.trial import Config, Status, Trial

from ._problems import branch_loss, branches

NAN = math.nan


# ----------------------------------------------------------------------------- arrays


def test_impute_puts_inactive_coordinates_below_the_cube() -> None:
    points = np.array([[0.2, NAN, 0.7], [NAN, NAN, 0.0]])
    assert impute(points).tolist() == [[0.2, INACTIVE, 0.7], [INACTIVE, INACTIVE, 0.0]]
    assert INACTIVE < 0.0
    assert impute(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]


def test_features_of_inactive_coordinates() -> None:
    layout = Layout(Space({"x": Float(0, 1), "k": Choice(["a", "b", "c"]), "n": Int(1, 9)}))
    features = layout.features(np.array([[0.5, 0.5, 0.25], [INACTIVE, INACTIVE, 0.25]]))
    assert features.tolist() == [
        [0.5, 0.0, 1.0, 0.0, 0.25],
        [INACTIVE, 0.0, 0.0, 0.0, 0.25],  # an inactive Choice: no value is hot
    ]
    assert not layout.conditional
    points = np.array([[0.3, 0.9, 0.12]])
    assert layout.canonical(points) is points  # nothing to canonicalise


# ----------------------------------------------------------------------------- the space


def test_encoding_imputes_and_canonical_points_are_those_trials_run_at() -> None:
    space = branches()
    layout = Layout(space)
    assert layout.conditional
    config = {"optimizer": "none", "lr": 0.01, "layers": 2}
    u = layout.encode(config)
    assert not np.isnan(u).any()
    assert u[list(space.domains).index("momentum")] == INACTIVE
    assert u[list(space.domains).index("units_3")] == INACTIVE
    points = np.random.default_rng(0).random((200, space.dimension))
    canonical = layout.canonical(points)
    for point, config in zip(canonical, space.decode_many(points), strict=True):
        assert np.array_equal(point, layout.encode(config))
        assert np.array_equal(point, layout.encode(layout.decode(point)))
    assert (canonical == INACTIVE).any(axis=0).sum() == 3  # momentum, beta, units_3


def test_local_searches_end_on_canonical_points() -> None:
    space = branches()
    searcher = GP(init_size=12, candidates=200)
    searcher.setup(space, seed=0, workers=1, max_trials=None)
    for trial_id in range(12):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(Trial(trial_id, config, trial_id, Status.DONE, branch_loss(config)))
    assert not np.isnan(np.array(searcher._done_u)).any()
    layout = searcher._layout
    with one_blas_thread():
        model = searcher._model()
        starts = searcher._candidates()[:8]
        points, values = searcher._polish(model, starts)
    assert np.array_equal(points, layout.canonical(points))
    assert np.all(np.isfinite(values))
    assert np.allclose(values, model.score(layout.features(points)))


# ----------------------------------------------------------------------------- quality


@functools.cache
def best_of(searcher: str, seed: int) -> tuple[float, list[Config]]:
    """The best value of a run of ``searcher`` over `branches`, and its configs."""
    result = pt.tune(
        branch_loss,
        branches(),
        searcher=GP(candidates=500) if searcher == "gp" else searcher,
        executor="simulated",
        workers=2,
        max_trials=45,
        seed=seed,
        store=None,
    )
    assert result.best_value is not None
    return result.best_value, [trial.config for trial in result.trial_list]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gp_never_proposes_an_inactive_parameter(seed: int) -> None:
    space = branches()
    _, configs = best_of("gp", seed)
    assert len({repr(sorted(config.items())) for config in configs}) == len(configs)
    for config in configs:
        assert config == space.active(config)
        space.validate(config)  # refuses an inactive parameter that is given
    assert {config["optimizer"] for config in configs} == {"sgd", "adam", "none"}


def test_gp_on_branches_beats_random_search() -> None:
    gp = [best_of("gp", seed)[0] for seed in range(3)]
    random = [best_of("random", seed)[0] for seed in range(3)]
    assert statistics.median(gp) < statistics.median(random)
    assert statistics.median(gp) < 0.1  # near the optimum: adam, lr 1e-3, beta .95, 3 x 128


def test_a_small_discrete_conditional_space_is_searched_whole_once() -> None:
    space = Space(
        {
            "opt": Choice(["a", "b"], branches={"a": {"k": Int(1, 3)}, "b": {"m": ["x", "y"]}}),
            "n": Int(1, 2),
        }
    )
    searcher = GP(init_size=3)
    searcher.setup(space, seed=0, workers=1, max_trials=None)
    configs: list[Config] = []
    while (config := searcher.suggest()) is not None:
        searcher.observe(Trial(len(configs), config, 0, Status.DONE, float(len(configs) % 3)))
        configs.append(config)
    # Every active combination once: (a, k, n) 3 x 2 and (b, m, n) 2 x 2.
    assert len(configs) == 10
    assert sorted(map(repr, configs)) == sorted(map(repr, space.grid()))
