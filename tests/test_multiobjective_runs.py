"""Runs that tune several metrics, or one under constraints: what tune, load, resume, specs
and ask-and-tell make of them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.pareto import dominates
from paratune.schedulers import Suggest
from paratune.spec import resolve_run_spec, resume_arguments
from paratune.store import SQLiteStore
from paratune.trial import Proposal

SPACE = {"x": pt.Float(0, 1), "y": pt.Float(0, 1)}


def two(config: dict[str, Any]) -> dict[str, float]:
    """Two objectives in tension (the front is x + y = 1 at y's minimum) and a cost."""
    x, y = config["x"], config["y"]
    return {"error": x + y, "speed": x - y * y, "memory": 100 * y}


def front_by_definition(result: pt.TuneResult, memory_bound: float = np.inf) -> set[int]:
    """The DONE trials no other such feasible trial dominates, minimising error and
    maximising speed, found pair by pair."""
    done = [
        t
        for t in result.trial_list
        if t.status is pt.Status.DONE and t.metrics["memory"] <= memory_bound
    ]
    losses = {t.trial_id: (t.metrics["error"], -t.metrics["speed"]) for t in done}
    return {
        i
        for i, mine in losses.items()
        if not any(dominates(other, mine) for other in losses.values())
    }


def test_the_front_holds_exactly_the_undominated_trials() -> None:
    result = pt.tune(
        two, SPACE, metric=["error", "speed"], mode=["min", "max"], max_trials=60, store=None
    )
    front = result.pareto_front
    assert set(front["trial_id"]) == front_by_definition(result)
    assert [t.trial_id for t in result.best_trials] == sorted(front["trial_id"])
    assert {"metric.error", "metric.speed", "config.x"} <= set(front.columns)
    # value is the primary metric, as returned.
    assert all(t.value == t.metrics["error"] for t in result.trial_list)
    assert "metrics=['error', 'speed']" in repr(result)
    with pytest.raises(ValueError, match=r"no one trial is best.*pareto_front"):
        _ = result.best_config


def test_infeasible_trials_are_kept_but_never_best_nor_on_the_front() -> None:
    result = pt.tune(
        two,
        SPACE,
        metric=["error", "speed"],
        mode={"error": "min", "speed": "max"},
        constraints={"memory": ("<=", 50)},
        max_trials=60,
        store=None,
    )
    infeasible = [t for t in result.trial_list if t.metrics["memory"] > 50]
    assert infeasible and all(t.status is pt.Status.DONE and t.value is None for t in infeasible)
    assert set(result.pareto_front["trial_id"]) == front_by_definition(result, memory_bound=50)


def test_one_metric_under_a_constraint_has_the_best_feasible_trial() -> None:
    result = pt.tune(
        two,
        SPACE,
        metric="error",
        constraints={"memory": ("<=", 30)},
        max_trials=40,
        store=None,
    )
    feasible = [t for t in result.trial_list if t.metrics["memory"] <= 30]
    assert result.best_trial is not None
    assert result.best_trial.trial_id == min(feasible, key=lambda t: t.metrics["error"]).trial_id
    assert set(result.pareto_front["trial_id"]) == {result.best_trial.trial_id}
    assert result.trials["value"].isna().sum() == len(result.trial_list) - len(feasible)


def test_a_result_without_a_tuned_or_constrained_metric_fails_its_trial_alone() -> None:
    def objective(config: dict[str, Any]) -> Any:
        if config["x"] < 0.3:
            return {"error": 1.0}  # no speed
        if config["x"] < 0.6:
            return 2.0  # a number: the primary metric alone
        return two(config)

    result = pt.tune(
        objective,
        SPACE,
        metric=["error", "speed"],
        mode=["min", "max"],
        max_trials=30,
        store=None,
    )
    failed = [t for t in result.trial_list if t.status is pt.Status.FAILED]
    done = [t for t in result.trial_list if t.status is pt.Status.DONE]
    assert failed and done and len(failed) + len(done) == 30
    assert all("no 'speed', a tuned metric" in str(t.error) for t in failed)


class Plain:
    """A scheduler of one metric (it has no aim): the first trials, once each."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        config = suggest()
        return None if config is None else Proposal(config, None)

    def on_result(self, trial: pt.Trial) -> None:
        return None

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        return True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metric": ["error", "speed"], "target": 0.1}, "target needs a single metric"),
        ({"metric": ["error", "speed"], "searcher": "cmaes"}, "searcher 'cmaes' tunes one"),
        ({"metric": ["error", "speed"], "scheduler": "judges one"}, "scheduler Plain tunes one"),
        ({"metric": ["error", "speed"], "mode": ["min"]}, "one entry per metric"),
        ({"constraints": {"memory": ("==", 3)}}, "constraint on 'memory'"),
    ],
)
def test_bad_objectives_are_refused_before_any_trial(
    options: dict[str, Any], message: str, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    if options.get("scheduler") == "judges one":
        options["scheduler"] = Plain()
    with pytest.raises(pt.SpecError, match=message):
        pt.tune(two, SPACE, max_trials=5, store=store, **options)
    assert not store.exists() or not SQLiteStore(store, readonly=True).names()


def test_a_stored_run_loads_and_resumes_with_its_objectives(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    goals: dict[str, Any] = {
        "metric": ["error", "speed"],
        "mode": ["min", "max"],
        "constraints": {"memory": ("<=", 80)},
    }
    first = pt.tune(two, SPACE, max_trials=20, store=store, name="mo", seed=3, **goals)
    loaded = pt.load(store, "mo")
    assert loaded.objectives == first.objectives
    assert loaded.pareto_front["trial_id"].tolist() == first.pareto_front["trial_id"].tolist()
    more = pt.tune(two, SPACE, max_trials=35, store=store, name="mo", seed=3, resume=True, **goals)
    assert len(more.trial_list) == 35
    assert set(more.pareto_front["trial_id"]) == front_by_definition(more, memory_bound=80)
    with pytest.raises(pt.StoreError, match="objectives"):
        pt.tune(
            two,
            SPACE,
            metric=["error", "memory"],
            max_trials=40,
            store=store,
            name="mo",
            seed=3,
            resume=True,
        )


def test_paratune_resume_gets_the_objectives_back(tmp_path: Path) -> None:
    (tmp_path / "mo_objective.py").write_text(
        textwrap.dedent(
            """
            def two(config):
                return {"error": config["x"], "speed": config["y"], "memory": 1.0}
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        from mo_objective import two as stored_two  # type: ignore[import-not-found]

        pt.tune(
            stored_two,
            SPACE,
            metric=["error", "speed"],
            mode=["min", "max"],
            constraints={"memory": ("<=", 2)},
            max_trials=4,
            store=tmp_path / "s.db",
            name="r",
        )
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("mo_objective", None)
    db = SQLiteStore(tmp_path / "s.db", readonly=True)
    db.select("r")
    kwargs = resume_arguments(db.experiment(), source="s.db")
    db.close()
    sys.modules.pop("mo_objective", None)  # resume_arguments imported it again
    assert kwargs["metric"] == ["error", "speed"] and kwargs["mode"] == ["min", "max"]
    assert kwargs["constraints"] == {"memory": ["<=", 2.0]}


def test_a_spec_names_several_metrics_and_constraints(tmp_path: Path) -> None:
    spec = {
        "objective": "tests.test_multiobjective_runs:two",
        "space": {"x": {"type": "float", "low": 0, "high": 1}},
        "metric": ["error", "speed"],
        "mode": {"error": "min", "speed": "max"},
        "constraints": {"memory": ["<=", 50]},
    }
    kwargs = resolve_run_spec(spec, source=tmp_path / "spec.yaml")
    assert kwargs["metric"] == ["error", "speed"]
    assert kwargs["constraints"] == {"memory": ["<=", 50]}


def test_ask_and_tell_takes_several_metrics() -> None:
    study = pt.AskTell(SPACE, metric=["error", "speed"], mode=["min", "max"], store=None)
    for _ in range(6):
        asked = study.ask()
        assert asked is not None
        study.tell(asked, two(asked.config))
    study.close()
    result = study.result()
    assert set(result.pareto_front["trial_id"]) == front_by_definition(result)


def test_the_same_seed_gives_the_same_front() -> None:
    def run() -> list[int]:
        result = pt.tune(
            two,
            SPACE,
            metric=["error", "speed"],
            mode=["min", "max"],
            max_trials=30,
            store=None,
            seed=11,
            executor="simulated",
            workers=4,
        )
        return result.pareto_front["trial_id"].tolist()

    assert run() == run()


def test_the_live_display_counts_the_front_instead_of_a_best() -> None:
    seen: list[pt.Progress] = []
    result = pt.tune(
        two,
        SPACE,
        metric=["error", "speed"],
        mode=["min", "max"],
        max_trials=30,
        store=None,
        progress=seen.append,
    )
    last = seen[-1]
    assert last.finished and last.best_value is None and last.best_config is None
    assert last.front == len(result.pareto_front)
    single: list[pt.Progress] = []
    pt.tune(two, SPACE, metric="error", max_trials=5, store=None, progress=single.append)
    assert single[-1].front is None and single[-1].best_value is not None
