"""Experiments with several metrics, or with constraints, in the dashboard's API: the front
it sends is `paratune.load(...).pareto_front`, on stores written by real runs and, step by
step, by the store's real writer (a trial that beats the front, one that leaves it); the
summary says the metrics with their modes, the front's size and the infeasible trials; and
the front kept trial by trial is the one found from every trial, whatever the order."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.dashboard._front import Front, front_positions
from paratune.dashboard._reader import Reader
from paratune.objectives import Objectives
from paratune.pareto import non_dominated
from paratune.store import Experiment, SQLiteStore
from paratune.trial import Status, Trial

from .conftest import Page

SPACE = {"x": pt.Float(0, 1), "y": pt.Float(0, 1)}


def three(config: dict[str, Any]) -> dict[str, float]:
    """Three metrics at odds, and a memory that breaks its bound for large y."""
    x, y = config["x"], config["y"]
    return {"error": x, "latency": (1 - x) ** 2 + y, "accuracy": y - x / 2, "memory": 10 * y}


def answer(reader: Reader, name: str, since: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(reader.experiment(name, since))
    return found


def front_of(result: pt.TuneResult) -> list[list[float]]:
    """``result``'s Pareto front as the API gives it: [trial_id, each tuned metric], by
    the first metric as a loss."""
    goals = result.goals
    front = result.pareto_front
    rows = [
        [int(row["trial_id"]), *(float(row[f"metric.{m}"]) for m in goals.metrics)]
        for _, row in front.iterrows()
    ]
    sign = 1 if goals.modes[0] == "min" else -1
    return sorted(rows, key=lambda r: (sign * r[1], r[0]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of three experiments: two metrics (one maximised) with a constraint, three
    metrics, and one metric with a constraint."""
    path = tmp_path_factory.mktemp("front") / "runs.db"
    common: dict[str, Any] = dict(store=str(path), max_trials=40, seed=4, progress=False)
    pt.tune(three, SPACE, metric=["error", "accuracy"], mode=["min", "max"],
            constraints={"memory": ("<=", 6)}, name="two", **common)  # fmt: skip
    pt.tune(three, SPACE, metric=["error", "latency", "accuracy"], mode=["min", "min", "max"],
            name="three", **common)  # fmt: skip
    pt.tune(three, SPACE, metric="latency", constraints={"memory": ("<=", 3)}, name="one",
            **common)  # fmt: skip
    return path


@pytest.fixture
def reader(store: Path) -> Iterator[Reader]:
    found = Reader(store, refresh_every=0, cpu_share=None)
    yield found
    found.close()


@pytest.mark.parametrize("name", ["two", "three"])
def test_the_front_is_the_loaded_results(store: Path, reader: Reader, name: str) -> None:
    result = pt.load(store, name)
    got = answer(reader, name)
    expected = front_of(result)
    assert len(expected) >= 3
    assert got["front"] == expected  # the same numbers: both read the stored JSON
    e = got["experiment"]
    assert e["metrics"] == list(result.goals.metrics) and e["modes"] == list(result.goals.modes)
    assert e["front_size"] == len(expected)


def test_the_summary_counts_infeasible_trials_never_best(store: Path, reader: Reader) -> None:
    result = pt.load(store, "two")
    infeasible = int(((result.trials["metric.memory"] > 6) & result.trials["value"].isna()).sum())
    assert infeasible > 0
    # Not viewed (read from the store as a whole), then viewed (kept trial by trial).
    listed = {e["name"]: e for e in json.loads(reader.experiments())["experiments"]}
    viewed = answer(reader, "two")["experiment"]
    for e in (listed["two"], viewed):
        assert e["constraints"] == [["memory", "<=", 6.0]] and e["infeasible"] == infeasible
        assert e["front_size"] == len(result.pareto_front)
        best = result.trials.set_index("trial_id").loc[e["best_trial_id"]]
        assert best["metric.memory"] <= 6 and e["best_value"] == best["value"]
    one = listed["one"]
    assert one["front_size"] is None and one["infeasible"] > 0
    assert one["metrics"] == ["latency"] and one["constraints"] == [["memory", "<=", 3.0]]
    assert listed["three"]["infeasible"] is None


def test_a_trial_says_which_constraints_it_broke(store: Path, reader: Reader) -> None:
    trials = pt.load(store, "two").trials.set_index("trial_id")
    broken = trials[trials["metric.memory"] > 6].index[0]
    kept = trials[trials["metric.memory"] <= 6].index[0]
    found = json.loads(reader.trial("two", int(broken)))
    assert found["broken"] == ["memory <= 6"] and found["value"] is None
    assert json.loads(reader.trial("two", int(kept)))["broken"] == []
    assert "broken" not in json.loads(reader.trial("three", 0))  # no constraint


def test_a_single_metric_has_no_front(run_store: Path) -> None:
    reader = Reader(run_store, refresh_every=0, cpu_share=None)
    try:
        assert "front" not in answer(reader, "quadratic")
        assert "broken" not in json.loads(reader.trial("quadratic", 0))
    finally:
        reader.close()


# ---- step by step, as a driver writes -----------------------------------------------------

GOALS = {"metrics": ["a", "b"], "modes": ["min", "max"], "constraints": {"c": ["<=", 1]}}


def done(tid: int, a: float, b: float, c: float = 0.0, budget: float | None = None) -> Trial:
    metrics = {"a": a, "b": b, "c": c}
    return Trial(tid, {"x": a}, tid, Status.DONE, a if c <= 1 else None, metrics=metrics,
                 budget=budget, submitted=tid, started=tid, finished=tid + 0.5,
                 worker_time=0.5, worker=0)  # fmt: skip


def test_the_front_follows_the_trials(tmp_path: Path) -> None:
    space = {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": False}}
    settings = {"scheduler": "asha", "workers": 1, "objectives": GOALS}
    writer = SQLiteStore(tmp_path / "runs.db")
    writer.open(Experiment("exp", space, "a", "min", 0, "", settings), resume=False,
                overwrite=False)  # fmt: skip
    reader = Reader(writer.path, refresh_every=0, cpu_share=None)
    page = Page()

    def ask(cursor: str) -> dict[str, Any]:
        return answer(reader, "exp", cursor)

    try:
        writer.save([done(0, 1.0, 1.0), done(1, 2.0, 3.0), done(2, 0.5, 9.0, c=2.0)])
        first = page.poll(ask)
        assert first["front"] == [[0, 1.0, 1.0], [1, 2.0, 3.0]]  # trial 2 is infeasible
        assert first["experiment"]["infeasible"] == 1
        assert "front" not in page.poll(ask)  # nothing changed: no front sent
        writer.save([done(3, 3.0, 2.0)])  # beaten by trial 1: the front stays
        assert "front" not in page.poll(ask)
        writer.save([done(4, 0.5, 5.0)])  # beats both
        assert page.poll(ask)["front"] == [[4, 0.5, 5.0]]
        # Trial 4 is continued: while it runs, the trials it beat are the front again.
        writer.save([done(4, 0.5, 5.0)._replace(status=Status.RUNNING, finished=None)])
        assert page.poll(ask)["front"] == [[0, 1.0, 1.0], [1, 2.0, 3.0]]
        writer.save([done(4, 1.5, 9.0, budget=2)])
        later = page.poll(ask)
        assert later["front"] == [[0, 1.0, 1.0], [4, 1.5, 9.0]]
        assert later["experiment"]["front_size"] == 2
        assert answer(reader, "exp")["front"] == later["front"]  # as a fresh load
    finally:
        reader.close()
        writer.close()


# ---- the front kept trial by trial --------------------------------------------------------


def truth(goals: Objectives, trials: dict[int, tuple[str, dict[str, float]]]) -> list[int]:
    """The front of ``trials`` found from all of them with `paratune.pareto`."""
    ids, losses, violations = [], [], []
    for tid, (status, metrics) in trials.items():
        loss, violation = goals.losses(metrics), goals.violation(metrics)
        if status == "done" and loss is not None and violation is not None:
            ids.append(tid)
            losses.append(loss)
            violations.append(violation)
    if not ids:
        return []
    points = np.array(losses).reshape(len(ids), len(goals.metrics))
    return sorted(np.array(ids)[non_dominated(points, violations)].tolist())


@pytest.mark.parametrize("seed", range(6))
def test_the_front_kept_is_the_front_of_every_trial(seed: int) -> None:
    """Trials end, fail, run again and end again in any order, with ties (metrics of a few
    values), missing metrics and broken constraints."""
    rng = random.Random(seed)
    m = 1 + seed % 4
    names = [f"m{i}" for i in range(m)]
    goals = Objectives.of(names, [rng.choice(["min", "max"]) for _ in names],
                          {"c": ("<=", 1)} if seed % 2 else None)  # fmt: skip
    trials: dict[int, tuple[str, dict[str, float]]] = {}
    front = Front(goals)

    def row(tid: int) -> tuple[Any, ...]:
        status, metrics = trials[tid]
        return (tid, status, metrics.get(names[0]), "{}", json.dumps(metrics))

    for step in range(150):
        tid = rng.randrange(40)
        metrics = {name: float(rng.randrange(4)) for name in [*names, "c"]}
        if rng.random() < 0.05:
            del metrics[names[-1]]
        trials[tid] = (rng.choice(["done", "done", "done", "running", "failed"]), metrics)
        if step == 20:
            front.rebuild([row(t) for t in trials])
        else:
            front.update(row(tid))
        assert sorted(p[0] for p in front.points()) == truth(goals, trials)
    assert front.infeasible == sum(
        1 for s, ms in trials.values() if s == "done" and goals.violation(ms) and
        goals.losses(ms) is not None
    )  # fmt: skip


def test_two_objectives_of_many_points() -> None:
    rng = np.random.default_rng(0)
    points = rng.integers(0, 50, size=(5000, 2)).astype(float)  # many ties
    assert front_positions(points).tolist() == np.flatnonzero(non_dominated(points)).tolist()
