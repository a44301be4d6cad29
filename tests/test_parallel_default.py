"""With no executor named, `tune` and a spec choose one: processes for more than one worker,
Dask given a scheduler's address, serial otherwise; the choice is stored, and a resume runs
on it again. A serial executor named with several workers is refused with a hint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Dask, Processes, Serial, chosen_executor, make_executor
from paratune.spec import resume_arguments
from paratune.store import Experiment, SQLiteStore

SPACE = {"x": pt.Float(0, 1)}


def where(config: dict[str, Any]) -> dict[str, float]:
    """``x``, and the process that ran it."""
    return {"value": config["x"], "pid": float(os.getpid())}


@pytest.mark.parametrize(
    ("executor", "workers", "address", "chosen"),
    [
        (None, None, None, "serial"),
        (None, 1, None, "serial"),
        (None, 2, None, "processes"),
        (None, 64, None, "processes"),
        (None, None, "tcp://head:8786", "dask"),
        (None, 4, "tcp://head:8786", "dask"),
        ("threads", 4, None, "threads"),
        ("serial", None, None, "serial"),
        ("simulated", 8, None, "simulated"),
        ("processes", 1, None, "processes"),
    ],
)
def test_the_executor_chosen(
    executor: str | None, workers: int | None, address: str | None, chosen: str
) -> None:
    assert chosen_executor(executor, workers, address) == chosen


def test_an_executor_object_is_kept_as_it_is() -> None:
    mine = Serial()
    assert chosen_executor(mine, 4, None) is mine


def test_several_workers_run_on_processes_and_the_choice_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    result = pt.tune(where, SPACE, workers=2, max_trials=6, store=store, name="e")
    pids = {t.metrics["pid"] for t in result.trial_list}
    assert float(os.getpid()) not in pids and 1 <= len(pids) <= 2
    assert result.workers == 2
    experiment = _stored(store)
    assert experiment.settings["executor"] == "processes"
    arguments = resume_arguments(experiment, source=str(store))
    assert (arguments["executor"], arguments["workers"]) == ("processes", 2)
    resumed = pt.tune(**{**arguments, "max_trials": 8}, store=store, name="e", resume=True)
    assert len(resumed.trial_list) == 8
    assert float(os.getpid()) not in {t.metrics["pid"] for t in resumed.trial_list}


@pytest.mark.parametrize("workers", [None, 1])
def test_one_worker_runs_in_the_driver(tmp_path: Path, workers: int | None) -> None:
    store = tmp_path / "runs.db"
    result = pt.tune(where, SPACE, workers=workers, max_trials=3, store=store, name="e")
    assert {t.metrics["pid"] for t in result.trial_list} == {float(os.getpid())}
    assert _stored(store).settings["executor"] == "serial"


def test_a_named_executor_is_stored_as_named(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    pt.tune(where, SPACE, executor="threads", workers=2, max_trials=2, store=store, name="e")
    assert _stored(store).settings["executor"] == "threads"


def test_serial_with_several_workers_is_refused_with_a_hint() -> None:
    with pytest.raises(pt.SpecError) as refused:
        pt.tune(where, SPACE, executor="serial", workers=4, max_trials=1, store=None)
    assert str(refused.value) == (
        "executor='serial' runs one job at a time; got workers=4; "
        "leave executor out or name 'processes'"
    )


def test_an_address_implies_dask_and_goes_with_it_only() -> None:
    executor = make_executor(None, None, address="tcp://127.0.0.1:8786")  # not connected
    assert isinstance(executor, Dask) and executor.address == "tcp://127.0.0.1:8786"
    assert isinstance(make_executor(None, 3), Processes)
    with pytest.raises(pt.SpecError, match=r"needs executor='dask' \(or none named\)"):
        pt.tune(where, SPACE, executor="processes", address="tcp://127.0.0.1:8786",
                max_trials=1, store=None)  # fmt: skip


OBJECTIVE = """
import os

def where(config):
    return {"value": config["x"], "pid": float(os.getpid())}
"""


def test_a_spec_run_with_workers_and_no_executor_runs_on_processes(tmp_path: Path) -> None:
    (tmp_path / "spec_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(
        "objective: spec_objective:where\nspace:\n  x: {type: float, low: 0.0, high: 1.0}\n"
        "max_trials: 4\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "paratune", "run", "spec.yaml", "--workers", "2", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _stored(tmp_path / "paratune.db", "spec").settings["executor"] == "processes"
    result = pt.load(tmp_path / "paratune.db", "spec")
    assert len(result.trial_list) == 4 and result.workers == 2


def _stored(store: Path, name: str = "e") -> Experiment:
    db = SQLiteStore(store, readonly=True)
    try:
        db.select(name)
        return db.experiment()
    finally:
        db.close()
