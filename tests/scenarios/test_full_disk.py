"""A store that cannot grow (a full disk) stops the run with one clear message, keeps every
committed trial, and resumes once there is room again."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.store import SQLiteStore


def objective(config: dict[str, Any]) -> dict[str, Any]:
    return {"loss": config["x"], "notes": "n" * 2000}  # about a page of the store a trial


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_a_full_disk_stops_the_run_and_it_resumes_once_there_is_room(
    tmp_path: Path, executor: str
) -> None:
    path = tmp_path / "runs.db"
    space = {"x": pt.Float(0, 1)}
    workers = 2 if executor == "processes" else None
    store = SQLiteStore(path)
    # The file may not grow past its size now plus a few pages: a disk that fills mid-run.
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 12}")
    with pytest.raises(pt.StoreError) as raised:
        pt.tune(objective, space, metric="loss", executor=executor, workers=workers,
                max_trials=200, store=store, name="full")  # fmt: skip
    assert "full" in str(raised.value) and str(path) in str(raised.value)
    store.close()

    kept = pt.load(path, "full")
    done = {t.trial_id: t for t in kept.trial_list if t.status is pt.Status.DONE}
    assert 0 < len(done) < 200
    with pytest.warns(UserWarning, match="taking over"):  # its driver stopped without ending
        resumed = pt.tune(objective, space, metric="loss", executor=executor, workers=workers,
                          max_trials=200, store=path, name="full", resume=True)  # fmt: skip
    assert [t.status for t in resumed.trial_list] == [pt.Status.DONE] * 200
    for trial_id, trial in done.items():
        assert resumed.trial_list[trial_id] == trial
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
