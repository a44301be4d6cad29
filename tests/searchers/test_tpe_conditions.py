"""TPE on conditional spaces: configs hold only their active parameters, each group of
parameters is modelled on the trials where it is active, and runs repeat."""

from __future__ import annotations

import numpy as np
import pytest

import paratune as pt
from paratune.searchers import TPE

from ._problems import branch_loss, branches, drive
from .test_tpe import distinct

# ----------------------------------------------------------------------------- conditions


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
