"""A result or report the store cannot hold fails its own trial, is not retried, never
stops the run, and leaves the experiment resumable."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune._storable import MAX_RESULT_BYTES, unstorable


def circular() -> dict[str, Any]:
    inner: dict[str, Any] = {}
    inner["me"] = inner
    return {"loss": 1.0, "inner": inner}


def list_cycle() -> dict[str, Any]:
    items: list[Any] = []
    items.append(items)
    return {"loss": 1.0, "items": items}


def nested(levels: int) -> list[Any]:
    deep: list[Any] = []
    for _ in range(levels):
        deep = [deep]
    return deep


POISONS: dict[str, Any] = {
    "non-string key": {"loss": 1.0, (1, 2): 3},
    "int key": {"loss": 1.0, 7: 3},
    "nested non-string key": {"loss": 1.0, "by_class": {1: 0.5}},
    "cycle": circular(),
    "list cycle": list_cycle(),
    "too large for a float": {"loss": 10**400},
    "object": {"loss": 1.0, "model": object()},
    "megabytes": {"loss": 1.0, "blob": "x" * (MAX_RESULT_BYTES + 1)},
    "deep": {"loss": 1.0, "deep": nested(100)},
}
KEPT: dict[str, Any] = {
    "nul in a string": {"loss": 1.0, "note": "a\x00b"},
    "numpy": {"loss": np.float32(0.5), "curve": np.arange(3), "best": np.int64(2)},
    "huge int metric": {"loss": 1.0, "count": 10**30},
    "nan metric": {"loss": 1.0, "other": float("nan")},
}


def test_unstorable_names_the_metric_and_the_reason() -> None:
    assert unstorable(POISONS["non-string key"]) == "metric name (1, 2) is a tuple, not a string"
    assert unstorable(POISONS["cycle"]) == "metric 'inner' contains itself"
    assert unstorable(POISONS["object"]) == "metric 'model' is a object, which a store cannot keep"
    assert "bytes as JSON" in str(unstorable(POISONS["megabytes"]))
    assert "levels deep" in str(unstorable(POISONS["deep"]))
    assert all(unstorable(result) is None for result in KEPT.values())


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_poison_fails_only_its_trial_and_the_store_stays_resumable(
    tmp_path: Path, executor: str
) -> None:
    cases = list(POISONS.items()) + list(KEPT.items())
    if executor == "processes":  # an object of no importable class would not pickle back
        cases = [(name, result) for name, result in cases if name != "object"]

    def objective(config: dict[str, Any]) -> Any:
        return cases[config["case"]][1]

    space = {"case": pt.Choice(list(range(len(cases))))}
    store = tmp_path / "runs.db"
    workers = 2 if executor == "processes" else None
    result = pt.tune(objective, space, metric="loss", searcher="grid", executor=executor,
                     workers=workers, retries=2, store=store, name="poison")  # fmt: skip
    assert result.stop_reason is pt.StopReason.EXHAUSTED
    by_case = {cases[t.config["case"]][0]: t for t in result.trial_list}
    for name in POISONS:
        if name in by_case:
            trial = by_case[name]
            assert trial.status is pt.Status.FAILED, name
            assert trial.attempts == 1, name  # not retried: it would come back the same
            assert (trial.error is not None and "cannot be stored" in trial.error) or (
                name == "too large for a float" and "too large for a float" in str(trial.error)
            ), (name, trial.error)
    for name in KEPT:
        assert by_case[name].status is pt.Status.DONE, (name, by_case[name].error)
    assert by_case["nul in a string"].metrics["note"] == "a\x00b"

    stored = pt.load(store, "poison")
    assert [(t.trial_id, t.status) for t in stored.trial_list] == [
        (t.trial_id, t.status) for t in result.trial_list
    ]
    again = pt.tune(objective, space, metric="loss", searcher="grid", store=store,
                    name="poison", resume=True)  # fmt: skip
    assert len(again.trial_list) == len(cases)


def reports_poison(config: dict[str, Any], ctx: pt.Context) -> float:
    kind = config["kind"]
    ctx.report(1, loss=1.0)
    if kind == "key":
        ctx.report(2, loss=1.0, extra={(1, 2): 3})
    elif kind == "object":
        ctx.report(2, loss=1.0, model=object())
    elif kind == "step":
        ctx.report(2**63, loss=1.0)
    return 0.5


def reports_a_huge_loss(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.report(1, loss=10**400)  # kept as it is, but no scheduler can judge it
    return 0.5


def test_a_report_too_large_for_a_float_is_kept_and_the_trial_goes_on(tmp_path: Path) -> None:
    result = pt.tune(reports_a_huge_loss, {"x": pt.Float(0, 1)}, metric="loss", max_trials=2,
                     scheduler="asha", store=tmp_path / "runs.db", name="huge")  # fmt: skip
    assert [t.status for t in result.trial_list] == [pt.Status.DONE] * 2
    assert result.report_list[0].metrics["loss"] == 10**400


@pytest.mark.parametrize("kind", ["key", "object", "step"])
def test_a_report_the_store_cannot_hold_fails_its_trial(tmp_path: Path, kind: str) -> None:
    store = tmp_path / "runs.db"
    result = pt.tune(reports_poison, {"kind": kind, "x": pt.Float(0, 1)}, metric="loss",
                     max_trials=3, retries=1, store=store, name="r")  # fmt: skip
    assert len(result.trial_list) == 3
    for trial in result.trial_list:
        assert trial.status is pt.Status.FAILED
        assert (
            "step" in str(trial.error)
            if kind == "step"
            else "cannot be stored" in str(trial.error)
        )
    assert {(r.trial_id, r.step) for r in pt.load(store, "r").report_list} == {
        (0, 1), (1, 1), (2, 1)
    }  # fmt: skip


COMMITTED_FIRST = """
import sqlite3

def objective(config, ctx):
    seen = []
    for step in range(1, 4):
        ctx.report(step, loss=1.0 / step)
        db = sqlite3.connect(f"file:{config['store']}?mode=ro", uri=True)
        found = db.execute(
            "SELECT count(*) FROM reports WHERE trial_id = ? AND step = ?", (ctx.trial_id, step)
        ).fetchone()[0]
        db.close()
        seen.append(found)
    return {"loss": 1.0, "committed": sum(seen)}
"""


def test_a_report_is_committed_before_its_trial_goes_on(tmp_path: Path) -> None:
    """So a checkpoint saved after a report is never ahead of the store."""
    (tmp_path / "committed_first.py").write_text(COMMITTED_FIRST)
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        from committed_first import objective  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    store = tmp_path / "runs.db"
    result = pt.tune(objective, {"store": str(store), "x": pt.Float(0, 1)}, metric="loss",
                     executor="processes", workers=2, max_trials=4, store=store)  # fmt: skip
    assert [t.metrics["committed"] for t in result.trial_list] == [3] * 4


def test_a_full_result_table_never_reaches_sqlite_unchecked(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    pt.tune(lambda c: {"loss": 1.0, 1: 2}, {"x": pt.Float(0, 1)}, metric="loss", max_trials=2,
            store=store, name="n")  # fmt: skip
    db = sqlite3.connect(store)
    assert db.execute("SELECT metrics FROM trials").fetchall() == [("{}",), ("{}",)]
    db.close()


class Unreadable(dict):  # type: ignore[type-arg]
    """A mapping whose own code raises when it is read."""

    def keys(self) -> Any:
        raise RuntimeError("no keys today")

    def __iter__(self) -> Any:
        raise RuntimeError("no keys today")

    def items(self) -> Any:
        raise RuntimeError("no items today")


class Unfloatable(float):
    def __float__(self) -> float:
        raise ValueError("not today")


@pytest.mark.parametrize(
    "result", [Unreadable(loss=1.0), {"loss": Unfloatable(1.0)}], ids=["mapping", "number"]
)
def test_a_result_whose_own_code_raises_fails_only_its_trial(result: Any) -> None:
    outcome = pt.tune(lambda c: result if c["x"] < 0.5 else c["x"], {"x": pt.Float(0, 1)},
                      metric="loss", max_trials=10, store=None, seed=1)  # fmt: skip
    statuses = {t.status for t in outcome.trial_list}
    assert statuses == {pt.Status.FAILED, pt.Status.DONE}
    failed = [t for t in outcome.trial_list if t.status is pt.Status.FAILED]
    assert all("could not be read" in str(t.error) for t in failed), failed[0].error


def reports_unreadable(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.report(1, loss=1.0, extra=Unreadable(a=1))
    return 0.5


def test_a_report_whose_own_code_raises_fails_only_its_trial() -> None:
    outcome = pt.tune(reports_unreadable, {"x": pt.Float(0, 1)}, metric="loss", max_trials=2,
                      store=None)  # fmt: skip
    assert [t.status for t in outcome.trial_list] == [pt.Status.FAILED] * 2
    assert "could not be read" in str(outcome.trial_list[0].error)
