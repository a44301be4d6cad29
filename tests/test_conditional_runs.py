"""Runs on a conditional space, end to end: a real `pt.tune` into an SQLite store, the
trials table and its exports left empty where a parameter was inactive, `pt.load`, and a
resume, from Python and from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import paratune as pt
from paratune.export import export_trials
from paratune.space import Space
from paratune.store import SQLiteStore

from .test_cli import run_cli

SPACE = {
    "optimizer": pt.Choice(
        ["sgd", "adam"],
        branches={"sgd": {"momentum": pt.Float(0.0, 0.99)}, "adam": {"beta2": pt.Float(0.9, 1.0)}},
    ),
    "layers": pt.Int(1, 3),
    **{f"units_{k}": pt.Int(16, 64, when={"layers": {">=": k}}) for k in range(1, 4)},
    "epochs": 2,
}


def objective(config: dict[str, Any]) -> float:
    """Fails the trial if the config holds an inactive parameter or lacks an active one."""
    space = Space(SPACE)
    assert space.validate(config) == config
    width = sum(config[f"units_{k}"] for k in range(1, config["layers"] + 1))
    return float(config.get("momentum", 0.5) + config.get("beta2", 0.0) + width / 1000)


def run(store: Path, trials: int, *, resume: bool = False) -> pt.TuneResult:
    return pt.tune(
        objective,
        SPACE,
        max_trials=trials,
        store=str(store),
        name="conditional",
        seed=3,
        resume=resume,
    )


def configs(result: pt.TuneResult) -> list[dict[str, Any]]:
    return [trial.config for trial in sorted(result.trial_list, key=lambda t: t.trial_id)]


def test_a_conditional_run_stores_only_active_parameters(tmp_path: Path) -> None:
    result = run(tmp_path / "s.db", 12)
    assert [trial.status for trial in result.trial_list] == [pt.Status.DONE] * 12
    space = Space(SPACE)
    for config in configs(result):
        assert space.validate(config) == config
    assert {config["optimizer"] for config in configs(result)} == {"sgd", "adam"}
    db = SQLiteStore(tmp_path / "s.db", readonly=True)
    try:
        db.select("conditional")
        stored = db.experiment().space
    finally:
        db.close()
    assert stored == json.loads(json.dumps(space.to_dict()))
    assert Space(stored) == space
    loaded = pt.load(tmp_path / "s.db", "conditional")
    assert configs(loaded) == configs(result)


def test_the_trials_table_and_exports_leave_inactive_parameters_empty(tmp_path: Path) -> None:
    result = run(tmp_path / "s.db", 12)
    table = result.trials.set_index("trial_id")
    for trial in result.trial_list:
        row = table.loc[trial.trial_id]
        for name in Space(SPACE).tunable:
            column = f"config.{name}"
            if name in trial.config:
                assert row[column] == trial.config[name]
            else:
                assert pd.isna(row[column]), (name, trial.config)
    csv = pd.read_csv(export_trials(result, tmp_path / "t.csv"), dtype=str, keep_default_na=False)
    rows = json.loads(export_trials(result, tmp_path / "t.json").read_text())
    parquet = pd.read_parquet(export_trials(result, tmp_path / "t.parquet"))
    for index, trial in enumerate(result.trial_list):
        for name in ("momentum", "beta2", "units_2", "units_3"):
            column = f"config.{name}"
            given = trial.config.get(name)
            assert csv[column][index] == ("" if given is None else str(given))
            assert rows[index][column] == given
            assert (pd.isna(parquet[column][index]) if given is None else
                    parquet[column][index] == given)  # fmt: skip


def test_a_conditional_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    whole = run(tmp_path / "whole.db", 10)
    first = run(tmp_path / "parts.db", 4)
    resumed = run(tmp_path / "parts.db", 10, resume=True)
    assert configs(resumed)[:4] == configs(first)
    assert len(resumed.trial_list) == 10
    assert configs(resumed) == configs(whole)  # the seed alone decides the configs
    assert configs(pt.load(tmp_path / "parts.db")) == configs(resumed)


SPEC = """\
objective: conditional_objective:loss
seed: 2
max_trials: 6
space:
  optimizer:
    type: choice
    values: [sgd, adam]
    branches:
      sgd: {momentum: {type: float, low: 0.0, high: 0.99}}
  layers: {type: int, low: 1, high: 3}
  units_3: {type: int, low: 16, high: 64, when: {layers: {">=": 3}}}
"""

OBJECTIVE = """\
def loss(config):
    assert ("momentum" in config) == (config["optimizer"] == "sgd"), config
    assert ("units_3" in config) == (config["layers"] >= 3), config
    return config.get("momentum", 1.0) + config["layers"]
"""


@pytest.mark.timeout(240)
def test_a_conditional_spec_runs_and_resumes_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "conditional_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    done = run_cli("run", "spec.yaml", "-q", "--store", "s.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = run_cli(
        "resume", "spec", "--store", "s.db", "--max-trials", "10", "--json", "-q", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["trials"] == 10
    result = pt.load(tmp_path / "s.db", "spec")
    assert [trial.status for trial in result.trial_list] == [pt.Status.DONE] * 10
    assert {("momentum" in c, c["optimizer"]) for c in configs(result)} <= {
        (True, "sgd"),
        (False, "adam"),
    }


def test_the_trials_table_keeps_a_sometimes_inactive_integer_an_integer() -> None:
    result = pt.tune(objective, SPACE, max_trials=24, seed=3, store=None)
    table = result.trials
    layers = [t.config["layers"] for t in result.trial_list]
    assert 1 in layers and 3 in layers  # units_3 active in some trials, not in others
    column = table["config.units_3"]
    assert str(column.dtype) == "Int64"
    assert [pd.isna(v) for v in column] == [n < 3 for n in layers]
    assert all(isinstance(v, int) for v in column.dropna().tolist())
    assert table["config.units_1"].dtype == "int64"  # always active: a plain column
