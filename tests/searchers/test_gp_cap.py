"""The GP fits at most ``max_observations`` results: the best half and a seeded sample of the
rest, with the latest failed configs, so a long run's suggestions cost the same."""

from __future__ import annotations

import numpy as np
import pytest

from paratune.searchers import GP
from paratune.searchers._gpdata import kept_rows
from paratune.space import Float, Space
from paratune.trial import Config

from ._problems import done, failed

SPACE = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def _loss(config: Config) -> float:
    return float((config["x"] - 0.3) ** 2 + (config["y"] - 0.6) ** 2)


def _observed(count: int, max_observations: int | None, failures: int = 0) -> GP:
    """A GP that observed ``count`` random results and ``failures`` failed configs."""
    searcher = GP(init_size=2, max_observations=max_observations)
    searcher.setup(SPACE, seed=3, workers=1, max_trials=None)
    design = [searcher.suggest(), searcher.suggest()]  # then the model suggests
    points = np.random.default_rng(0).random((count + failures - 2, 2)).tolist()
    configs = [config for config in design if config is not None]
    configs += [{"x": x, "y": y} for x, y in points]
    for trial_id, config in enumerate(configs):
        trial = done(trial_id, config, _loss(config)) if trial_id < count else None
        searcher.observe(trial or failed(trial_id, config))
    searcher._refresh()  # what a suggestion does first
    return searcher


def test_kept_rows_keep_everything_up_to_the_limit() -> None:
    values = np.array([3.0, 1.0, 2.0])
    assert kept_rows(values, 3, seed=0).tolist() == [0, 1, 2]
    assert kept_rows(values, 10, seed=0).tolist() == [0, 1, 2]


def test_kept_rows_past_the_limit_are_the_best_half_and_a_seeded_sample() -> None:
    values = np.random.default_rng(1).random(1_000)
    kept = kept_rows(values, 100, seed=7)
    assert len(kept) == 100 and len(set(kept.tolist())) == 100
    assert kept.tolist() == sorted(kept.tolist())
    best = set(np.argsort(values)[:50].tolist())
    assert best <= set(kept.tolist())
    assert kept.tolist() == kept_rows(values, 100, seed=7).tolist()
    assert kept.tolist() != kept_rows(values, 100, seed=8).tolist()


def test_the_model_fits_at_most_max_observations_results() -> None:
    capped = _observed(120, max_observations=40, failures=30)
    model = capped._model()
    # 40 results and the latest 10 failed configs (a quarter as many), no pending one.
    assert len(model._posterior.x) == 50
    assert len(_observed(120, max_observations=None)._model()._posterior.x) == 120


def test_a_capped_gp_suggests_the_same_for_the_same_seed_and_still_converges() -> None:
    first, second = _observed(150, 30), _observed(150, 30)
    suggestions = [first.suggest(), second.suggest()]
    assert suggestions[0] == suggestions[1]
    config = suggestions[0]
    assert config is not None
    # Near the optimum (0.3, 0.6) that the best half of the results surrounds.
    assert _loss(config) < 0.01


@pytest.mark.parametrize("limit", [None, 10, 500])
def test_max_observations_is_kept_as_given(limit: int | None) -> None:
    assert GP(max_observations=limit).max_observations == limit
