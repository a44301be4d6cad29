"""Kill the driver mid-run, resume, and lose nothing; read while a run writes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.spec import load_run_spec
from paratune.store import SQLiteStore

from .._wait import wait_until

OBJECTIVE = """
def loss(config, ctx):
    ctx.elapse(0.02)
    return {"loss": (config["x"] - 0.3) ** 2 + config["k"], "seed": ctx.seed}
"""
SPEC = """
name: crash
objective: slowish:loss
space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}, tag: [a, b]}
metric: loss
executor: processes
workers: 2
max_trials: 40
seed: 3
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def paratune(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paratune", *args],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def done_trials(store: Path) -> list[pt.Trial]:
    """The trials committed so far; none while the store or experiment does not exist yet."""
    try:
        return [t for t in pt.load(store, "crash").trial_list if t.status is pt.Status.DONE]
    except pt.StoreError:
        return []


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "slowish.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path


def reference(folder: Path) -> list[tuple[Any, ...]]:
    """What one uninterrupted run gives, trial by trial."""
    kwargs = load_run_spec(folder / "spec.yaml")
    kwargs.update(executor="serial", workers=None, store=None)
    result = pt.tune(**kwargs)
    return [(t.trial_id, t.config, t.seed, t.value) for t in result.trial_list]


@pytest.mark.parametrize("kill_after", [1, 9, 27])
def test_sigkill_of_the_driver_then_resume_loses_nothing(folder: Path, kill_after: int) -> None:
    store = folder / "runs.db"
    with paratune("run", str(folder / "spec.yaml"), "--store", str(store), "-q") as driver:
        try:
            wait_until(lambda: len(done_trials(store)) >= kill_after, 60, f"{kill_after} done")
            driver.send_signal(signal.SIGKILL)
        finally:
            driver.kill()
            driver.communicate(timeout=30)
    before_kill = {t.trial_id: t for t in done_trials(store)}
    assert len(before_kill) >= kill_after

    status = subprocess.run(
        [sys.executable, "-m", "paratune", "status", "crash", "--store", str(store)],
        env=env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    assert "stopped without ending" in status.stdout

    with paratune("resume", "crash", "--store", str(store), "-q", "--json") as resumed:
        out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out)["trials"] == 40
    # The lease of the killed driver is taken over, and the command says so in one line.
    assert "warning: experiment 'crash'" in err and "taking over from its driver" in err
    assert ".py:" not in err and "warnings.warn" not in err

    final = pt.load(store, "crash")
    assert final.stop_reason is pt.StopReason.MAX_TRIALS
    assert [t.trial_id for t in final.trial_list] == list(range(40))
    assert all(t.status is pt.Status.DONE for t in final.trial_list)
    assert [(t.trial_id, t.config, t.seed, t.value) for t in final.trial_list] == reference(folder)
    for trial_id, trial in before_kill.items():  # kept as they were, not run again
        assert final.trial_list[trial_id] == trial
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


READER_OBJECTIVE = """
import time

def quick(config):
    time.sleep(0.002)
    return config["x"]
"""


def test_readers_poll_while_eight_workers_write(tmp_path: Path) -> None:
    (tmp_path / "quick.py").write_text(READER_OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(
        "name: busy\nobjective: quick:quick\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "executor: processes\nworkers: 8\nmax_trials: 1500\n"
    )
    store = tmp_path / "runs.db"
    reads, seen = 0, set()
    with paratune("run", str(tmp_path / "spec.yaml"), "--store", str(store), "-q") as driver:
        while driver.poll() is None:
            if store.exists():
                try:
                    db = SQLiteStore(store, readonly=True)
                except pt.StoreError:
                    continue  # the schema is being created: not a store yet
                try:
                    counts = db.counts()
                finally:
                    db.close()
                if "busy" in counts:
                    seen.add(counts["busy"]["counts"]["done"])
                    reads += 1
        _, err = driver.communicate(timeout=60)
    assert driver.returncode == 0, err
    assert reads > 10 and len(seen) > 2  # it really read while the run wrote
    assert len(pt.load(store, "busy").trial_list) == 1500
