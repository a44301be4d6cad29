"""The model-based searchers on the smallest spaces: constants only, and one choice."""

from __future__ import annotations

import pytest

import paratune as pt
from paratune.searchers import make_searcher
from paratune.space import Space

MODEL_BASED = ["gp", "tpe"]


@pytest.mark.parametrize("name", MODEL_BASED)
def test_constants_only_space_gives_one_config(name: str) -> None:
    searcher = make_searcher(name)
    searcher.setup(Space({"a": 1, "b": "x"}), seed=0, workers=2, max_trials=None)
    assert [searcher.suggest() for _ in range(3)] == [{"a": 1, "b": "x"}, None, None]


@pytest.mark.parametrize("name", MODEL_BASED)
def test_one_choice_space_through_the_tuner(name: str) -> None:
    result = pt.tune(
        lambda config: {"a": 3.0, "b": 1.0, "c": 2.0}[config["c"]],
        {"c": ["a", "b", "c"], "k": 0},
        searcher=name,
        executor="simulated",
        workers=2,
        max_trials=10,
        seed=0,
        store=None,
    )
    assert sorted(trial.config["c"] for trial in result.trial_list) == ["a", "b", "c"]
    assert result.best_config == {"c": "b", "k": 0}
