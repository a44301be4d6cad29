"""Objectives: made from tune's arguments, checked, and reading results as losses and
violations."""

from __future__ import annotations

from typing import Any

import pytest

import paratune as pt
from paratune.objectives import Aimed, Constraint, Objectives, aim
from paratune.searchers import CMAES, Random
from paratune.trial import Status, Trial


def test_one_metric_is_plain() -> None:
    goals = Objectives.of("loss")
    assert goals.plain and not goals.several
    assert goals.losses({"loss": 2}) == (2.0,)


def test_modes_as_one_string_a_list_or_a_mapping() -> None:
    names = ["error", "speed"]
    assert Objectives.of(names, "max").modes == ("max", "max")
    assert Objectives.of(names, ["min", "max"]).modes == ("min", "max")
    assert Objectives.of(names, {"speed": "max", "error": "min"}).modes == ("min", "max")
    goals = Objectives.of(names, ["min", "max"])
    assert goals.several and not goals.plain
    assert goals.losses({"error": 0.5, "speed": 10}) == (0.5, -10.0)
    assert goals.signs.tolist() == [1.0, -1.0]


@pytest.mark.parametrize(
    ("metric", "mode", "constraints", "message"),
    [
        ([], "min", None, "non-empty list of names"),
        (["a", ""], "min", None, "non-empty strings"),
        (["a", "a"], "min", None, "names a metric twice"),
        (["a", "b"], ["min"], None, "one entry per metric: 2 metrics"),
        (["a", "b"], {"a": "min", "c": "max"}, None, "a mode for each metric"),
        (["a", "b"], ["min", "low"], None, "mode of 'b' must be 'min' or 'max'"),
        ("a", 3, None, "mode must be"),
        ("a", "min", ["memory"], "must map metrics to"),
        ("a", "min", {"memory": ("<", 1)}, "constraint on 'memory'"),
        ("a", "min", {"memory": ("<=", float("nan"))}, "finite number"),
        ("a", "min", {"memory": "<= 3"}, "constraint on 'memory'"),
    ],
)
def test_bad_objectives_are_named(metric: Any, mode: Any, constraints: Any, message: str) -> None:
    with pytest.raises(pt.SpecError, match=message):
        Objectives.of(metric, mode, constraints)


def test_violation_sums_the_excess_over_every_bound() -> None:
    goals = Objectives.of("error", "min", {"memory": ("<=", 100), "accuracy": (">=", 0.9)})
    assert goals.violation({"memory": 50, "accuracy": 0.95}) == 0.0
    assert goals.violation({"memory": 150, "accuracy": 0.8}) == pytest.approx(50.1)
    assert goals.violation({"memory": 150}) is None  # a constrained metric missing
    assert str(Constraint("memory", "<=", 100)) == "memory <= 100"


def test_problems_name_the_missing_or_bad_metric() -> None:
    goals = Objectives.of(["error", "latency"], "min", {"memory": ("<=", 1)})
    assert goals.problem({"error": 1, "latency": 2, "memory": 0}) is None
    assert "no 'latency', a tuned metric" in str(goals.problem({"error": 1, "memory": 0}))
    assert "no 'memory', a constrained metric" in str(goals.problem({"error": 1, "latency": 2}))
    assert "'nan' for 'error'" in str(goals.problem({"error": "nan", "latency": 2, "memory": 0}))
    assert goals.losses({"error": float("inf"), "latency": 1}) is None


def test_trials_read_as_losses_and_violations() -> None:
    goals = Objectives.of(["a", "b"], ["min", "max"], {"c": ("<=", 0)})

    def trial(i: int, status: Status, **metrics: float) -> Trial:
        return Trial(trial_id=i, config={}, seed=0, status=status, metrics=metrics)

    trials = [
        trial(0, Status.DONE, a=1, b=2, c=0),
        trial(1, Status.FAILED),
        trial(2, Status.DONE, a=3, b=1, c=5),
        trial(3, Status.DONE, a=3),  # unusable: kept out
    ]
    kept, losses, violations = goals.of_trials(trials)
    assert [t.trial_id for t in kept] == [0, 2]
    assert losses.tolist() == [[1, -2], [3, -1]]
    assert violations.tolist() == [0, 5]
    single = Objectives.of("a")
    assert single.metrics_of(Trial(0, {}, 0, Status.DONE, value=4.0)) == {"a": 4.0}


def test_kept_and_read_back() -> None:
    goals = Objectives.of(["a", "b"], ["min", "max"], {"c": (">=", 2)})
    assert Objectives.from_dict(goals.to_dict()) == goals


class Remembers:
    """A searcher with the hook: remembers what it was told."""

    def __init__(self) -> None:
        self.told: Objectives | None = None

    def aim(self, objectives: Objectives) -> None:
        self.told = objectives


def test_aim_tells_parts_with_the_hook_and_refuses_others_for_several_metrics() -> None:
    several = Objectives.of(["a", "b"])
    part = Remembers()
    assert isinstance(part, Aimed)
    aim(part, several, "searcher")
    assert part.told == several
    aim(CMAES(), Objectives.of("a"), "searcher")  # plain: any part will do
    with pytest.raises(pt.SpecError, match=r"searcher 'cmaes' tunes one metric.*'nsga2'"):
        aim(CMAES(), several, "searcher", "cmaes")
    with pytest.raises(pt.SpecError, match="with constraints use"):
        aim(object(), Objectives.of("a", "min", {"c": ("<=", 1)}), "scheduler")
    aim(Random(), several, "searcher")  # random judges nothing: it takes anything


def test_a_column_of_values_has_the_same_violations_as_each_value() -> None:
    import numpy as np

    for constraint in (Constraint("m", "<=", 2.0), Constraint("m", ">=", 2.0)):
        values = np.array([1.0, 2.0, 3.5])
        expected = [constraint.violation(float(v)) for v in values]
        assert constraint.violations(values).tolist() == expected
        assert np.isnan(constraint.violations(np.array([np.nan]))[0])  # missing stays missing
