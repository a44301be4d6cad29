"""The SQLite store: round trips, resume, bad files that stay untouched, readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.store import SCHEMA_VERSION, Experiment, SQLiteStore
from paratune.trial import Status, Trial

SPACE = {"x": pt.Float(0, 1), "k": pt.Int(1, 5), "act": ["relu", "tanh"], "epochs": 3}


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    return {"loss": config["x"] * config["k"], "seed_bits": float(ctx.seed % 1000)}


def rows(path: Path) -> list[tuple[Any, ...]]:
    """Everything a store holds, read without writing."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in sorted(tables) for row in db.execute(f"SELECT * FROM {t}")]
    finally:
        db.close()


def test_a_run_round_trips_through_the_store() -> None:
    result = pt.tune(
        objective, SPACE, metric="loss", max_trials=12, store="runs.db", name="a", seed=5
    )
    loaded = pt.load("runs.db", "a")
    assert loaded.trial_list == result.trial_list
    assert loaded.best_config == result.best_config and loaded.best_value == result.best_value
    assert loaded.wall_time == pytest.approx(result.wall_time)
    assert loaded.busy_time == pytest.approx(result.busy_time)
    assert loaded.stop_reason is pt.StopReason.MAX_TRIALS and loaded.name == "a"
    assert loaded.trials.equals(result.trials)
    assert all(t.host and t.pid for t in loaded.trial_list)


def test_default_store_is_a_file_in_the_working_folder() -> None:
    result = pt.tune(objective, SPACE, metric="loss", max_trials=3)
    assert Path("paratune.db").exists()
    assert pt.load("paratune.db").trial_list == result.trial_list  # the latest experiment
    pt.tune(objective, SPACE, metric="loss", max_trials=3, store=None)
    pt.tune(objective, SPACE, metric="loss", max_trials=3, store=":memory:")
    assert len(SQLiteStore("paratune.db", readonly=True).names()) == 1


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be() -> None:
    pt.tune(objective, SPACE, metric="loss", max_trials=7, store="runs.db", name="r", seed=9)
    resumed = pt.tune(
        objective,
        SPACE,
        metric="loss",
        max_trials=20,
        store="runs.db",
        name="r",
        seed=9,
        resume=True,
    )
    whole = pt.tune(objective, SPACE, metric="loss", max_trials=20, store=None, seed=9)

    def key(r: pt.TuneResult) -> list[tuple[Any, ...]]:
        return [(t.trial_id, t.config, t.seed, t.value, t.status) for t in r.trial_list]

    assert key(resumed) == key(whole)
    assert len(resumed.trial_list) == 20  # max_trials counts the first session's trials


def test_resume_of_a_finished_experiment_runs_nothing_more() -> None:
    first = pt.tune(objective, SPACE, metric="loss", max_trials=5, store="runs.db", name="r")
    again = pt.tune(
        objective, SPACE, metric="loss", max_trials=5, store="runs.db", name="r", resume=True
    )
    assert again.trial_list == first.trial_list
    assert again.stop_reason is pt.StopReason.MAX_TRIALS


def test_a_name_in_use_is_refused_unless_resumed_or_overwritten() -> None:
    pt.tune(objective, SPACE, metric="loss", max_trials=4, store="runs.db", name="e")
    before = rows(Path("runs.db"))
    with pytest.raises(pt.StoreError, match=r"experiment 'e' already exists in runs\.db"):
        pt.tune(objective, SPACE, metric="loss", max_trials=4, store="runs.db", name="e")
    other = {**SPACE, "x": pt.Float(0, 2)}
    with pytest.raises(pt.StoreError, match=r"was run with another setup \(space"):
        pt.tune(
            objective, other, metric="loss", max_trials=4, store="runs.db", name="e", resume=True
        )
    with pytest.raises(pt.StoreError, match="seed 1 \\(stored: 0\\)"):
        pt.tune(
            objective,
            SPACE,
            metric="loss",
            max_trials=4,
            store="runs.db",
            name="e",
            resume=True,
            seed=1,
        )
    assert rows(Path("runs.db")) == before
    replaced = pt.tune(
        objective, other, metric="loss", max_trials=2, store="runs.db", name="e", overwrite=True
    )
    assert pt.load("runs.db", "e").trial_list == replaced.trial_list


def not_a_store(folder: Path) -> Path:
    path = folder / "notes.db"
    path.write_text("these are my notes, not a database\n")
    return path


def other_sqlite(folder: Path) -> Path:
    path = folder / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE mine (a INTEGER)")
    db.execute("INSERT INTO mine VALUES (1)")
    db.commit()
    db.close()
    return path


def newer_store(folder: Path) -> Path:
    path = folder / "newer.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (not_a_store, "notes.db is not an SQLite database, so not a paratune store"),
        (other_sqlite, "other.db is an SQLite database but not a paratune store"),
        (newer_store, "newer.db was written by a newer paratune \\(store schema 5"),
    ],
)
def test_a_bad_store_file_is_refused_and_left_unchanged(make: Any, message: str) -> None:
    path = make(Path.cwd())
    before = path.read_bytes()
    with pytest.raises(pt.StoreError, match=message):
        pt.tune(objective, SPACE, metric="loss", max_trials=2, store=path)
    with pytest.raises(pt.StoreError, match=message):
        pt.load(path)
    assert path.read_bytes() == before
    # A store in WAL mode gets SQLite's sidecar files when read; they must hold no change.
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert {p.name for p in path.parent.iterdir()} <= {path.name, wal.name, f"{path.name}-shm"}


def test_folders_missing_files_and_unknown_names() -> None:
    Path("folder.db").mkdir()
    with pytest.raises(pt.StoreError, match=r"folder\.db is a folder"):
        pt.tune(objective, SPACE, metric="loss", max_trials=2, store="folder.db")
    with pytest.raises(pt.StoreError, match=r"no store at missing\.db"):
        pt.load("missing.db")
    assert not Path("missing.db").exists()
    pt.tune(objective, SPACE, metric="loss", max_trials=2, store="runs.db", name="known")
    with pytest.raises(pt.StoreError, match=r"no experiment 'unknown' in runs\.db .*'known'"):
        pt.load("runs.db", "unknown")


def test_a_space_json_cannot_hold_is_refused_with_a_hint() -> None:
    # Refused before the store file is made, naming the parameter.
    with pytest.raises(pt.SpaceError, match=r"^parameter 'f': .* give store=None"):
        pt.tune(
            objective,
            {"x": pt.Float(0, 1), "f": pt.Choice([len, abs])},
            metric="loss",
            max_trials=1,
            store="runs.db",
        )
    assert not Path("runs.db").exists()
    # The store says so too, for a store object given ready-made.
    with pytest.raises(pt.StoreError, match="use store=None"):
        pt.tune(
            objective,
            {"x": pt.Float(0, 1), "f": pt.Choice([len, abs])},
            metric="loss",
            max_trials=1,
            store=SQLiteStore("other.db"),
        )


def test_a_whole_budget_comes_back_an_int(tmp_path: Path) -> None:
    # A resumed trial's ctx.budget feeds range(ctx.start_step, ctx.budget): 4, not 4.0.
    store = SQLiteStore(tmp_path / "s.db")
    store.open(Experiment("e", {"x": [1]}, "v", "min", 0), resume=False, overwrite=False)
    whole = Trial(0, {"x": 1}, 7, Status.RUNNING, submitted=0.0, budget=4)
    store.save(
        [whole, whole._replace(trial_id=1, budget=1.23), whole._replace(trial_id=2, budget=None)]
    )
    budgets = [trial.budget for trial in store.trials()]
    store.close()
    assert budgets == [4, 1.23, None] and type(budgets[0]) is int


def test_save_is_one_transaction_and_the_last_version_wins(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    store.open(Experiment("e", {"x": [1]}, "v", "min", 0), resume=False, overwrite=False)
    running = Trial(0, {"x": 1}, 7, Status.RUNNING, submitted=0.0)
    done = running._replace(status=Status.DONE, value=1.5, metrics={"v": 1.5}, finished=2.0)
    store.save([running, done])
    assert store.trials() == [done]
    store.close()


def test_readers_see_committed_trials_while_the_writer_is_open(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "s.db")
    writer.open(Experiment("e", {"x": [1]}, "v", "min", 0), resume=False, overwrite=False)
    writer.save([Trial(0, {"x": 1}, 7, Status.DONE, 1.0, {"v": 1.0})])
    reader = pt.load(tmp_path / "s.db", "e")  # the writer's session has not ended
    assert [t.value for t in reader.trial_list] == [1.0]
    assert reader.stop_reason is pt.StopReason.UNFINISHED
    writer.close()
