"""A stored run read as columns (`TuneResult.from_store`) gives the same tables, best
trial, status and export files as the same run read as `Trial` records, without building
them."""

from __future__ import annotations

import io
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import paratune as pt
from paratune._csv import write_csv
from paratune._status import format_detail, status_detail
from paratune.export import export_frame, export_trials
from paratune.result import TuneResult, config_values
from paratune.schedulers import ASHA
from paratune.store import SQLiteStore
from paratune.store._columns import TrialColumns
from paratune.tuner import RunOutcome, StopReason

from .store.varied import EXPERIMENT, varied_store

SPACE = {
    "x": pt.Float(0, 1),
    "opt": pt.Choice(["sgd", "adam"]),
    "momentum": pt.Float(0.0, 0.99, when={"opt": "sgd"}),
    "layers": pt.Int(1, 4, when={"opt": "adam"}),
    "mixed": pt.Choice([1, "two", 3.5]),
    "epochs": 8,
}


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    if config["x"] > 0.9:
        raise ValueError("x too big")
    assert ctx.budget is not None  # ASHA gives every job a budget
    for step in range(ctx.start_step, int(ctx.budget)):
        ctx.report(step, loss=config["x"] + 1.0 / (step + 1), acc=0.1 * step)
        ctx.elapse(0.1)
    return {"loss": config["x"] + 1.0 / ctx.budget, "acc": 0.5, "tag": "t", "n": int(ctx.budget)}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """A run with pruned, failed and cancelled trials, conditional parameters, reports,
    budgets and several metrics; the same in max mode; and hand-made trials of every kind."""
    folder = tmp_path_factory.mktemp("stored")
    run = folder / "run.db"
    for name, mode in (("asha", "min"), ("asha-max", "max")):
        pt.tune(objective, SPACE, metric="loss", mode=mode, executor="simulated", workers=4,
                scheduler=ASHA(min_budget=1, max_budget=8, stopping=True), max_trials=60,
                target=0.15 if mode == "min" else 1.5, store=run, name=name, seed=3)  # fmt: skip
    return {
        "asha": (run, "asha"),
        "asha-max": (run, "asha-max"),
        "varied": (varied_store(folder / "varied.db"), "varied"),
    }


def read_new(path: Path, name: str) -> TuneResult:
    db = SQLiteStore(path, readonly=True)
    try:
        db.select(name)
        return TuneResult.from_store(db)
    finally:
        db.close()


def read_old(path: Path, name: str) -> TuneResult:
    """The stored run as it was read before columns: every trial as a `Trial`."""
    db = SQLiteStore(path, readonly=True)
    try:
        db.select(name)
        experiment, totals, trials = db.experiment(), db.totals(), db.trials()
        reports = db.reports()
    finally:
        db.close()
    outcome = RunOutcome(
        trials,
        wall_time=totals.wall_time,
        busy_time=totals.busy_time,
        cancelled_time=totals.cancelled_time,
        workers=totals.workers or int(experiment.settings.get("workers") or 1),
        stop_reason=StopReason(totals.stop_reason or StopReason.UNFINISHED),
        lost_time=totals.lost_time,
    )
    return TuneResult.from_outcome(
        outcome, metric=experiment.metric, mode=experiment.mode, name=name, reports=reports
    )


def built(result: TuneResult) -> bool:
    """Whether ``result`` has built its `Trial` records."""
    return "_trial_list" in result.__dict__


KEYS = ["asha", "asha-max", "varied"]


def test_the_runs_hold_every_kind_of_trial(stores: dict[str, tuple[Path, str]]) -> None:
    statuses = {s for key in KEYS for s in read_old(*stores[key]).trials["status"]}
    assert statuses == {"done", "failed", "pruned", "cancelled", "running", "interrupted"}
    asha = read_old(*stores["asha"])
    assert len(asha.report_list) > 0 and asha.trials["budget"].nunique() > 1
    assert {"config.momentum", "config.layers", "metric.tag"} <= set(asha.trials.columns)


@pytest.mark.parametrize("key", KEYS)
def test_a_stored_run_gives_the_same_tables(stores: dict[str, tuple[Path, str]], key: str) -> None:
    new, old = read_new(*stores[key]), read_old(*stores[key])
    pd.testing.assert_frame_equal(new.trials, old.trials, check_exact=True)
    pd.testing.assert_frame_equal(new.reports, old.reports, check_exact=True)
    assert repr(new.best_trial) == repr(old.best_trial) and new.best_trial is not None
    assert new.best_config == old.best_config and new.best_value == old.best_value
    assert repr(new) == repr(old)
    for name in [str(c)[7:] for c in old.trials if str(c).startswith("config.")]:
        assert config_values(new, name) == config_values(old, name)
    assert not built(new)  # none of these built a Trial per row
    assert repr(new.trial_list) == repr(old.trial_list) and new == old
    assert built(new) and new.trial_list is new.trial_list


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_a_stored_run_exports_the_same_files(
    stores: dict[str, tuple[Path, str]], key: str, file_format: str, tmp_path: Path
) -> None:
    new, old = read_new(*stores[key]), read_old(*stores[key])
    written = export_trials(new, tmp_path / f"new.{file_format}")
    before = export_trials(old, tmp_path / f"old.{file_format}")
    assert written.read_bytes() == before.read_bytes()
    if file_format == "csv":  # and as pandas' own writer writes the table
        export_frame(old).to_csv(tmp_path / "pandas.csv", index=False)
        assert written.read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    assert not built(new)


def old_best(trials: list[pt.Trial], mode: str) -> pt.Trial | None:
    """How ``paratune status NAME`` found the best trial before: any status, with a value."""
    sign = 1.0 if mode == "min" else -1.0
    done = [t for t in trials if t.value is not None]
    return min(done, key=lambda t: sign * t.value) if done else None  # type: ignore[operator]


@pytest.mark.parametrize("key", KEYS)
def test_status_shows_the_same_best_trial(stores: dict[str, tuple[Path, str]], key: str) -> None:
    path, name = stores[key]
    db = SQLiteStore(path, readonly=True)
    try:
        counts = db.counts()
        db.select(name)
        detail = status_detail(db, counts[name])
        best = old_best(db.trials(), db.experiment().mode)
    finally:
        db.close()
    assert best is not None and detail["best_value"] == best.value
    assert detail["best_config"] == best.config
    assert list(detail["best_config"]) == list(best.config)
    assert f"best       {best.value:.6g}  " in format_detail(detail)


def test_a_run_still_writing_is_read_as_far_as_committed(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "s.db")
    writer.open(replace(EXPERIMENT, mode="max"), resume=False, overwrite=False)
    trials = TrialColumns.from_trials(
        read_old(varied_store(tmp_path / "v.db"), "varied").trial_list
    )
    writer.save(trials.take([0, 1, 2]).trials())
    running = read_new(tmp_path / "s.db", "varied")
    writer.close()
    assert running.stop_reason is StopReason.UNFINISHED and len(running.trials) == 3
    assert running.best_trial is not None and running.best_trial.trial_id == 0
    assert not built(running)


def test_an_experiment_without_trials_reads_as_empty_tables(tmp_path: Path) -> None:
    writer = SQLiteStore(tmp_path / "s.db")
    writer.open(EXPERIMENT, resume=False, overwrite=False)
    new, old = read_new(tmp_path / "s.db", "varied"), read_old(tmp_path / "s.db", "varied")
    writer.close()
    pd.testing.assert_frame_equal(new.trials, old.trials)
    assert new.best_trial is None and new.trial_list == [] and old.trial_list == []
    assert repr(new).startswith("TuneResult(trials=0, best_value=None, best_config=None")


def csv_of(frame: pd.DataFrame, tmp_path: Path) -> tuple[bytes, bytes]:
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    write_csv(frame, ours)
    frame.to_csv(theirs, index=False)
    return ours.read_bytes(), theirs.read_bytes()


TEXTS = ["a,b", 'say "hi"', "two\nlines", "cr\rhere", "", "plain", None]


def test_csv_is_written_as_pandas_writes_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    floats = rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000)
    floats[:8] = [1e16, 1e15, 1e-4, 1e-5, -0.0, math.inf, math.nan, 123.0]
    frame = pd.DataFrame(
        {
            "float": floats,
            "int": rng.integers(-(2**62), 2**62, 2000),
            "nullable": pd.array([None if i % 3 else i for i in range(2000)], dtype="Int64"),
            "bool": rng.random(2000) > 0.5,
            "text": [TEXTS[i % 7] for i in range(2000)],
            "mixed": np.array([[None, 1, 2.5, True, "x;y"][i % 5] for i in range(2000)], object),
            "quoted, name": ["é"] * 2000,
        }
    )
    ours, theirs = csv_of(frame, tmp_path)
    assert ours == theirs and b'"a,b"' in ours and b'"quoted, name"' in ours
    assert csv_of(frame.iloc[:0], tmp_path)[0] == csv_of(frame.iloc[:0], tmp_path)[1]


def test_csv_columns_with_the_same_bits_share_their_fields_and_no_more(tmp_path: Path) -> None:
    # A float column equal to one written before reuses its fields: only where every bit is
    # the same (-0.0 equals 0.0, yet is written "-0.0").
    values = np.linspace(-1.0, 1.0, 9)
    signed = values.copy()
    signed[4] = -0.0  # linspace gives 0.0 there
    frame = pd.DataFrame({"value": values, "metric": values.copy(), "signed": signed})
    ours, theirs = csv_of(frame, tmp_path)
    assert ours == theirs and b"\n0.0,0.0,-0.0\n" in ours
    # Values that recur across columns in other rows (a start is the end before it), and a
    # NaN of another bit pattern: each written as pandas writes it.
    ends = np.cumsum(np.random.default_rng(1).random(60_000))
    payload = np.array([0x7FF8000000000001], dtype=np.int64).view(np.float64)[0]
    starts = np.concatenate([[0.0], ends[:-1]])
    starts[7] = payload
    frame = pd.DataFrame({"started": starts, "finished": ends, "again": ends[::-1].copy()})
    ours, theirs = csv_of(frame, tmp_path)
    assert ours == theirs and b"\n," in ours  # the NaN: an empty field


def test_csv_leaves_other_column_types_to_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "kind": pd.Categorical(["a", "b"])}
    )
    ours, theirs = csv_of(frame, tmp_path)
    assert ours == theirs == b"when,kind\n2024-01-01,a\n2024-01-02,b\n"
    assert io.StringIO(ours.decode()).readline() == "when,kind\n"


@pytest.mark.parametrize("store", ["runs.db", None])
def test_changing_the_trials_table_changes_nothing_else(tmp_path: Path, store: str | None) -> None:
    space = {"x": pt.Float(0, 1), "k": pt.Int(0, 9)}
    where = None if store is None else tmp_path / store
    ran = pt.tune(lambda c: c["x"], space, max_trials=5, store=where, name="e", seed=0)
    result = ran if where is None else pt.load(where, "e")
    best, trials = result.best_trial, list(result.trial_list)
    result.__dict__.pop("best_trial", None)  # read again below, from what the result keeps
    result.__dict__.pop("_trial_list", None)
    table = result.trials
    table.loc[3, "value"] = -1e9
    table.loc[0, "trial_id"] = 777
    table.loc[1, ["config.x", "config.k", "seed", "worker"]] = [-5.0, 99, 1, 42]
    assert result.best_trial == best
    assert result.trial_list == trials
