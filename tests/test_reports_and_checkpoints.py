"""The context's reports and checkpoints, per-trial resources, and the store's schema 2."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune._folders import folder_name
from paratune.context import Context
from paratune.store import SCHEMA_VERSION, SQLiteStore


def test_report_checks_its_arguments() -> None:
    ctx = Context(trial_id=0, seed=0)
    for step in (-1, 1.5, True, "3", 2**63):
        with pytest.raises(ValueError, match=r"needs a whole number step in \[0, 2\*\*63\)"):
            ctx.report(step, loss=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs at least one metric"):
        ctx.report(1)
    ctx.report(2, loss=0.5)
    assert ctx.last_report == (2, {"loss": 0.5}) and not ctx.pruned


def test_a_report_told_to_stop_raises_trial_pruned() -> None:
    ctx = Context(trial_id=3, seed=0, reporter=lambda step, metrics: step < 2)
    ctx.report(1, loss=0.5)
    with pytest.raises(pt.TrialPruned, match="trial 3 was stopped at step 2"):
        ctx.report(2, loss=0.4)
    assert ctx.pruned


def test_checkpoints_round_trip_and_set_the_start_step(tmp_path: Path) -> None:
    path = str(tmp_path / "deep" / "trial-0.pkl")
    ctx = Context(trial_id=0, seed=0, budget=4, start_step=2, checkpoint=path)
    assert ctx.load_checkpoint() is None and ctx.start_step == 0  # none saved: start over
    ctx.report(3, loss=0.2)
    ctx.save_checkpoint({"weights": [1, 2]})
    assert ctx.checkpoint_step == 3
    again = Context(trial_id=0, seed=0, budget=8, start_step=4, checkpoint=path)
    assert again.load_checkpoint() == {"weights": [1, 2]} and again.start_step == 3
    again.save_checkpoint("later")  # no report: the step is the budget
    assert again.checkpoint_step == 8
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["trial-0.pkl"]


def test_a_checkpoint_step_is_a_whole_number_kept_as_an_int(tmp_path: Path) -> None:
    ctx = Context(trial_id=0, seed=0, checkpoint=str(tmp_path / "trial-0.pkl"))
    for step in (-1, 2.5, True, "3", 2**63, None.__class__):
        with pytest.raises(ValueError, match=r"needs a whole number step in \[0, 2\*\*63\)"):
            ctx.save_checkpoint("state", step=step)  # type: ignore[arg-type]
    assert not (tmp_path / "trial-0.pkl").exists()  # nothing written for a bad step

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.save_checkpoint(config, step=np.int64(2))  # an epoch from np.arange, say
        return float(config["x"])

    # Stored as an int, SQLite would have kept NumPy's as 8 bytes, which no reader takes.
    store = tmp_path / "runs.db"
    pt.tune(objective, {"x": pt.Float(0, 1)}, max_trials=2, store=store, name="np",
            checkpoint_dir=tmp_path / "checkpoints")  # fmt: skip
    loaded = pt.load(store, "np")
    assert [type(t.checkpoint_step) for t in loaded.trial_list] == [int, int]


def test_saving_a_checkpoint_needs_a_checkpoint_folder() -> None:
    with pytest.raises(pt.ParatuneError, match="keeps no checkpoints"):
        Context(trial_id=0, seed=0).save_checkpoint(1)


def test_a_memory_store_run_keeps_checkpoints_in_a_folder_it_removes() -> None:
    seen: list[str] = []

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.save_checkpoint(config)
        seen.append(ctx._checkpoint or "")
        return 0.0

    pt.tune(objective, {"x": pt.Float(0, 1)}, max_trials=2, store=None)
    assert len(seen) == 2 and not any(Path(p).exists() for p in seen)
    assert not Path(seen[0]).parent.parent.exists()


def test_a_memory_store_run_that_saves_no_checkpoint_makes_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temporary folder of this test's own: tests running beside it make and remove theirs.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=2, store=None)
    assert list(tmp_path.glob("paratune-checkpoints-*")) == []


def test_an_explicit_checkpoint_dir_is_used(tmp_path: Path) -> None:
    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.save_checkpoint(1)
        return 0.0

    pt.tune(objective, {"x": 1}, max_trials=1, name="run/1", checkpoint_dir=tmp_path / "ckpt")
    folder = tmp_path / "ckpt" / folder_name("run/1")  # run_1-<hash>: never a path
    assert sorted(p.name for p in folder.iterdir()) == [".paratune-checkpoints", "trial-0.pkl"]


def busy(config: dict[str, Any]) -> float:
    import numpy as np

    block = np.ones(40_000_000 // 8)  # 40 MB
    total = 0.0
    for _ in range(200_000):
        total += 1.0
    return float(block.sum() * 0 + total * 0)


def test_worker_processes_record_cpu_time_and_peak_memory() -> None:
    result = pt.tune(busy, {"x": pt.Float(0, 1)}, executor="processes", workers=2,
                     max_trials=2, store=None)  # fmt: skip
    for trial in result.trial_list:
        assert trial.cpu_time is not None and trial.cpu_time > 0
        assert trial.peak_memory is not None and trial.peak_memory > 40_000_000
    frame = result.trials
    assert (frame["peak_memory"] > 40_000_000).all() and (frame["cpu_time"] > 0).all()


def test_a_schema_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=3, store=path, name="old")
    db = sqlite3.connect(path)
    for column in ("checkpoint_step", "cpu_time", "peak_memory", "moved"):
        db.execute(f"ALTER TABLE trials DROP COLUMN {column}")
    db.execute("ALTER TABLE reports DROP COLUMN attempt")
    for column in ("lease", "heartbeat", "lost_time"):
        db.execute(f"ALTER TABLE experiments DROP COLUMN {column}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    # A reader of the old file sees the new fields as unknown, and changes nothing.
    old = pt.load(path, "old")
    assert len(old.trial_list) == 3 and old.trial_list[0].cpu_time is None
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    # A writer upgrades it, keeping every trial.
    resumed = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=5, store=path,
                      name="old", resume=True)  # fmt: skip
    assert len(resumed.trial_list) == 5
    store = SQLiteStore(path, readonly=True)
    store.select("old")
    assert [t.trial_id for t in store.trials()] == [0, 1, 2, 3, 4]
    store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_schema_3_store_gains_the_lost_workers_time(tmp_path: Path) -> None:
    path = tmp_path / "three.db"
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=2, store=path, name="three")
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE experiments DROP COLUMN lost_time")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    assert pt.load(path, "three").lost_time == 0.0  # read as none lost, the file unchanged
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 3
    resumed = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=3, store=path,
                      name="three", resume=True)  # fmt: skip
    assert len(resumed.trial_list) == 3 and resumed.lost_time == 0.0
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert pt.load(path, "three").lost_time == 0.0


def test_a_checkpoint_is_private_to_its_owner_whatever_the_umask(tmp_path: Path) -> None:
    ctx = Context(trial_id=0, seed=0, checkpoint=str(tmp_path / "trial-0.pkl"))
    previous = os.umask(0o022)
    try:
        ctx.save_checkpoint({"weights": [1, 2]}, step=1)
    finally:
        os.umask(previous)
    assert (tmp_path / "trial-0.pkl").stat().st_mode & 0o777 == 0o600
