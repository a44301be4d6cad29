"""TPE on conditional spaces: configs hold only their active parameters, each group of
parameters is modelled on the trials where it is active, and runs repeat."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.searchers import TPE
from paratune.space import Space
from paratune.trial import Config

from ._problems import drive
from .test_tpe import distinct

# ----------------------------------------------------------------------------- conditions

CONDITIONS = hasattr(Space, "active")
needs_conditions = pytest.mark.skipif(not CONDITIONS, reason="Space has no conditions yet")


def branches() -> Space:
    """An optimizer with its own parameters, a learning rate for all, and a third layer's
    width that exists only with three layers or more."""
    # The form files use, which takes the branches and conditions.
    params: dict[str, Any] = {
        "optimizer": {
            "type": "choice",
            "values": ["sgd", "adam", "none"],
            "branches": {
                "sgd": {"momentum": {"type": "float", "low": 0.0, "high": 0.99}},
                "adam": {"beta": {"type": "float", "low": 0.8, "high": 0.999}},
            },
        },
        "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "layers": {"type": "int", "low": 1, "high": 4},
        "units_3": {"type": "int", "low": 16, "high": 256, "when": {"layers": {">=": 3}}},
    }
    return Space(params)


def branch_loss(config: Config) -> float:
    """0 at adam, lr=1e-3, beta=0.95, three layers of which the third has 128 units."""
    optimizer, lr = config["optimizer"], math.log10(config["lr"])
    if optimizer == "adam":
        value = (lr + 3) ** 2 + ((config["beta"] - 0.95) / 0.1) ** 2
    elif optimizer == "sgd":
        value = 0.5 + (lr + 1) ** 2 + (config["momentum"] - 0.9) ** 2
    else:
        value = 1.0 + (lr + 2) ** 2
    value += 0.1 * (config["layers"] - 3) ** 2
    value += ((config["units_3"] - 128) / 128) ** 2 if config["layers"] >= 3 else 0.5
    return float(value)


@needs_conditions
@pytest.mark.parametrize("multivariate", [True, False], ids=["multivariate", "univariate"])
def test_conditional_suggestions_hold_only_their_active_parameters(multivariate: bool) -> None:
    space = branches()
    configs = drive(TPE(multivariate=multivariate), space, branch_loss, 60, seed=0)
    for config in configs:
        assert space.validate(config) == config
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        assert ("beta" in config) == (config["optimizer"] == "adam")
        assert ("units_3" in config) == (config["layers"] >= 3)
    assert distinct(configs) == 60
    best = min(configs, key=branch_loss)
    assert best["optimizer"] == "adam" and branch_loss(best) < 1.0


@needs_conditions
def test_conditional_parameters_are_grouped_by_the_trials_they_are_active_in() -> None:
    space = branches()
    searcher = TPE()
    drive(searcher, space, branch_loss, 30, seed=1)
    names = space.tunable
    groups = [sorted(names[j] for j in group) for group in searcher._group_columns()]
    assert sorted(groups) == [["beta"], ["layers", "lr", "optimizer"], ["momentum"], ["units_3"]]
    # Each group is modelled on the trials where it is active.
    everything = np.arange(searcher._n)
    rows = searcher._active_rows(everything, np.array([names.index("momentum")]))
    optimizer = searcher._x[everything, names.index("optimizer")]
    assert rows.tolist() == np.flatnonzero(optimizer == 0).tolist()  # the sgd trials
    assert 0 < len(rows) < searcher._n


@needs_conditions
def test_conditional_search_through_the_tuner_is_reproducible() -> None:
    def run() -> pt.TuneResult:
        return pt.tune(
            branch_loss,
            branches(),
            searcher="tpe",
            executor="simulated",
            workers=4,
            max_trials=40,
            seed=3,
            store=None,
        )

    first, second = run(), run()
    assert [t.config for t in first.trial_list] == [t.config for t in second.trial_list]
