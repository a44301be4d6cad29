"""Reading a store's trials as columns (`SQLiteStore.trial_columns`): the same trials as
`SQLiteStore.trials`, by ranges of ids, from one snapshot while a driver writes."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.store import MemoryStore, SQLiteStore, TrialColumns, _read_columns
from paratune.store._columns import STATUS_CODES, STATUSES, trial_from_row
from paratune.trial import Status, Trial

from .varied import EXPERIMENT, varied_store, varied_trials


def reader(path: Path, name: str = "varied") -> SQLiteStore:
    store = SQLiteStore(path, readonly=True)
    store.select(name)
    return store


def as_stored(trials: list[Trial]) -> list[Trial]:
    """``trials`` as a store gives them back: no metrics is an empty dict."""
    return [trial._replace(metrics=dict(trial.metrics)) for trial in trials]


def test_columns_hold_the_same_trials_as_the_records(tmp_path: Path) -> None:
    store = reader(varied_store(tmp_path / "s.db"))
    columns, records = store.trial_columns(), store.trials()
    store.close()
    # repr: the same values of the same types (4 and 4.0, None and NaN), keys in order.
    assert repr(columns.trials()) == repr(records) == repr(as_stored(varied_trials()))
    assert repr(TrialColumns.from_trials(records).trials()) == repr(records)
    assert columns.trial_id.tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert [STATUSES[code] for code in columns.status.tolist()] == [t.status for t in records]
    assert list(columns.config.values) == ["x", "opt", "mom", "layers", "tags", "n", "flag", "ü"]
    assert columns.config.values["mom"][:3] == [0.9, None, None]  # absent, and a stored None
    assert columns.pid.tolist() == [11, 12, None, None, None, None, 11, None, 13]
    assert columns.error == [None, "ValueError: too big", *[None] * 7]
    assert repr(columns.trial(7)) == repr(records[7])


def test_a_range_of_ids_reads_those_trials_only(tmp_path: Path) -> None:
    store = reader(varied_store(tmp_path / "s.db"))
    every = store.trial_columns().trials()
    assert repr(store.trial_columns(after=2, before=8).trials()) == repr(every[3:7])
    assert repr(store.trial_columns(after=6).trials()) == repr(every[7:])
    assert repr(store.trial_columns(before=1).trials()) == repr(every[:1])
    empty = store.trial_columns(after=9)
    store.close()
    assert len(empty) == 0 and empty.trials() == [] and empty.config.values == {}


def test_a_live_view_reads_what_changed_since_its_last_reading(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "s.db")
    writer.open(EXPERIMENT, resume=False, overwrite=False)
    first = varied_trials()[:5]  # trial 4 is still running
    writer.save(first)
    view = reader(tmp_path / "s.db")
    seen = {t.trial_id: t for t in view.trial_columns().trials()}
    running = min(i for i, t in seen.items() if t.status is Status.RUNNING)
    ended = first[4]._replace(status=Status.DONE, value=0.4, finished=4.5)
    writer.save([ended, *varied_trials()[5:]])
    changed = view.trial_columns(after=running - 1).trials()
    assert [t.trial_id for t in changed] == [4, 5, 6, 8, 9] and changed[0] == ended
    seen.update((t.trial_id, t) for t in changed)
    assert repr(list(seen.values())) == repr(view.trials())
    view.close()
    writer.close()


def test_a_snapshot_keeps_what_it_planned_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = varied_store(tmp_path / "s.db")
    read_dense = _read_columns._read_dense

    def commit_between(*args: Any) -> tuple[dict[str, Any], int]:
        # Another connection commits between the plan and the rows it plans for.
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("UPDATE trials SET host = 'c', error = 'late' WHERE trial_id = 0")
        other.execute("DELETE FROM trials WHERE trial_id = 9")
        other.close()
        return read_dense(*args)

    store = reader(path)
    monkeypatch.setattr(_read_columns, "_read_dense", commit_between)
    columns = store.trial_columns()
    assert repr(columns.trials()) == repr(
        as_stored(varied_trials())
    )  # as it was when the reading began
    monkeypatch.setattr(_read_columns, "_read_dense", read_dense)
    after = store.trial_columns()
    store.close()
    assert len(after) == 8 and after.host[0] == "c" and after.error[0] == "late"


def test_columns_of_a_schema_2_store_read_as_the_records_do(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=4, store=path, name="old")
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE trials DROP COLUMN moved")
    for column in ("lease", "heartbeat", "lost_time"):
        db.execute(f"ALTER TABLE experiments DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    store = reader(path, "old")
    columns, records = store.trial_columns(), store.trials()
    store.close()
    assert repr(columns.trials()) == repr(records) and columns.moved.tolist() == [0] * 4


def test_columns_of_the_same_value_everywhere_are_filled_not_read(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.open(EXPERIMENT, resume=False, overwrite=False)
    same = Trial(0, {"x": 1, "k": "a"}, 5, Status.DONE, 1.0, {}, host="h", pid=9, worker=0)
    store.save([same._replace(trial_id=i, started=i / 3) for i in range(3, 8)])
    sql = dict(zip(Trial._fields, store._columns.split(", "), strict=True))
    plans, span = _read_columns._plans(store._db, sql, "experiment = ?", ["varied"])
    columns = store.trial_columns()
    store.close()
    assert span == 5 and plans["trial_id"] == ("range", 3) and plans["host"] == ("same", "h")
    assert plans["metrics"] == ("same", "{}") and plans["pid"] == ("same", 9)
    assert plans["started"] == ("dense", False) and plans["error"] == ("same", None)
    assert plans["config"] == ("dense", False)  # configs vary in any run: read, not planned
    assert columns.trial_id.tolist() == [3, 4, 5, 6, 7] and columns.metrics.values == {}
    assert columns.config.values == {"x": [1] * 5, "k": ["a"] * 5}
    assert columns.host == ["h"] * 5 and columns.pid.tolist() == [9] * 5
    assert np.isnan(columns.value).sum() == 0 and columns.status.tolist() == [1] * 5
    assert STATUS_CODES[Status.DONE] == 1


@pytest.mark.parametrize(
    "changes",
    [
        {1: {"host": "b"}},  # the second trial: seen without a scan
        {9: {"pid": 3}},  # the last one
        {5: {"error": "boom"}},  # the middle one: the scan stops there
        {4: {"attempts": 2}, 7: {"host": "b"}, 8: {"pid": None}},  # others after that one
    ],
)
def test_a_field_that_differs_in_one_trial_is_read_wherever_that_trial_is(
    tmp_path: Path, changes: dict[int, dict[str, Any]]
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.open(EXPERIMENT, resume=False, overwrite=False)
    same = Trial(0, {"x": 1}, 5, Status.DONE, 1.0, {}, host="h", pid=9, worker=0)
    trials = [same._replace(trial_id=i, **changes.get(i, {})) for i in range(10)]
    store.save(trials)
    sql = dict(zip(Trial._fields, store._columns.split(", "), strict=True))
    plans, _ = _read_columns._plans(store._db, sql, "experiment = ?", ["varied"])
    columns = store.trial_columns()
    store.close()
    changed = {name for change in changes.values() for name in change}
    assert {name for name in changed if plans[name][0] == "same"} == set()
    assert plans["status"] == ("same", "done") and plans["worker"] == ("same", 0)
    assert repr(columns.trials()) == repr(trials)


def test_best_valued_is_the_earliest_best_of_any_status(tmp_path: Path) -> None:
    store = reader(varied_store(tmp_path / "s.db"))
    assert repr(store.best_valued()) == repr(varied_trials()[2])  # pruned, at 0.0
    store.close()
    done = Trial(0, {"x": 1}, 5, Status.DONE, 2.0)
    writer = SQLiteStore(tmp_path / "max.db")
    writer.open(replace(EXPERIMENT, mode="max"), resume=False, overwrite=False)
    assert writer.best_valued() is None
    writer.save([done, done._replace(trial_id=1, value=3.0), done._replace(trial_id=2, value=3.0)])
    best = writer.best_valued()
    writer.close()
    assert best is not None and best.trial_id == 1


def test_a_row_becomes_a_trial_with_a_whole_budget_as_an_int() -> None:
    row = (3, '{"x":1}', 5, "done", 1.0, "{}", 1, 4.0, *[None] * 9, None, None, None, 0)
    trial = trial_from_row(row)
    assert trial.budget == 4 and type(trial.budget) is int and trial.status is Status.DONE


def test_save_takes_the_write_lock_before_it_reads(tmp_path: Path) -> None:
    # A save that read the lease first and wrote after another connection's commit (the
    # heartbeat's) failed at once as busy, whatever the busy timeout.
    store = SQLiteStore(tmp_path / "s.db")
    store.open(EXPERIMENT, resume=False, overwrite=False)
    check_lease = store._check_lease
    refused = []

    def heartbeat_after_the_read(name: str) -> None:
        check_lease(name)
        other = sqlite3.connect(tmp_path / "s.db", timeout=0, isolation_level=None)
        try:
            other.execute("UPDATE experiments SET heartbeat = 1.0")
        except sqlite3.OperationalError as exc:  # the save holds the write lock
            refused.append(str(exc))
        finally:
            other.close()

    store._check_lease = heartbeat_after_the_read  # type: ignore[method-assign]
    store.save([Trial(0, {"x": 1}, 5, Status.DONE, 1.0)])
    assert refused == ["database is locked"]
    assert [t.trial_id for t in store.trials()] == [0]
    store.close()


def test_memory_reads_the_same_columns_as_a_file(tmp_path: Path) -> None:
    memory = MemoryStore()
    memory.open(EXPERIMENT, resume=False, overwrite=False)
    memory.save(varied_trials())
    store = reader(varied_store(tmp_path / "s.db"))
    for bounds in ({}, {"after": 2}, {"after": 2, "before": 8}, {"before": 0}):
        from_file = store.trial_columns(**bounds).trials()
        assert repr(memory.trial_columns(**bounds).trials()) == repr(from_file)
    store.close()


def test_ids_with_gaps_are_read_with_their_rows(tmp_path: Path) -> None:
    # The columns are sized by the span of the ids (a count would cost a scan): trials taken
    # out of a store leave gaps, and the rows' ends must not be read as trials.
    store = SQLiteStore(tmp_path / "s.db")
    store.open(EXPERIMENT, resume=False, overwrite=False)
    ids = [0, 1, 2, 5, 9]
    store.save([Trial(i, {"x": i}, i, Status.DONE, i / 10, {}, started=i) for i in ids])
    every, middle = store.trial_columns(), store.trial_columns(after=0, before=9)
    records = store.trials()
    store.close()
    assert every.trial_id.tolist() == ids and every.config.values == {"x": ids}
    assert every.value.tolist() == [i / 10 for i in ids] and len(every) == 5
    assert middle.trial_id.tolist() == [1, 2, 5] and middle.seed.tolist() == [1, 2, 5]
    assert repr(every.trials()) == repr(records)
