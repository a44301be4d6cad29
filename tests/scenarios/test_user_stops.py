"""A user's stop (Ctrl-C, SIGINT, SIGTERM) then resume loses nothing, and a second driver on
the same experiment is refused while the first one lives."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import paratune as pt
from paratune.seeding import trial_seed
from paratune.spec import load_run_spec

from .._wait import wait_until
from ..executors.dask_census import descendants
from .test_crash_resume import env

OBJECTIVE = """
import os, time
from tests._wait import wait_until

def loss(config, ctx):
    time.sleep(0.05)
    # With GATE set, trials from the 4th on wait for that file: the run cannot end early.
    gate = os.environ.get("GATE")
    if gate and ctx.trial_id >= 4:
        wait_until(lambda: os.path.exists(gate), 60, "the gate file")
    value = (config["x"] - 1) ** 2 + (config["y"] - 2) ** 2 + config["z"]
    # One line per finished evaluation, appended whole: what ran, and how many times.
    line = f"{ctx.trial_id} {config['x']} {config['y']} {config['z']}\\n"
    fd = os.open(os.environ["EVALUATIONS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, line.encode())
    os.close(fd)
    return value
"""
GRID_SPEC = """
name: grid
objective: grid_objective:loss
space: {x: [0, 1, 2], y: [0, 1, 2], z: [0, 1, 2]}
searcher: grid
executor: processes
workers: 2
"""
RANDOM_SPEC = """
name: random
objective: grid_objective:loss
space: {x: {type: int, low: 0, high: 9}, y: {type: int, low: 0, high: 9}, z: [0, 1]}
executor: processes
workers: 2
max_trials: 40
seed: 5
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "grid_objective.py").write_text(OBJECTIVE)
    (tmp_path / "grid.yaml").write_text(GRID_SPEC)
    (tmp_path / "random.yaml").write_text(RANDOM_SPEC)
    return tmp_path


def start(folder: Path, *args: str, gate: Path | None = None) -> subprocess.Popen[str]:
    """``paratune ARGS`` in its own session, as a terminal runs a command."""
    environment = {**env(), "EVALUATIONS": str(folder / "evaluations.txt")}
    if gate is not None:
        environment["GATE"] = str(gate)
    return subprocess.Popen(
        [sys.executable, "-m", "paratune", *args, "--store", str(folder / "runs.db"), "-q"],
        cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def evaluations(folder: Path) -> list[str]:
    path = folder / "evaluations.txt"
    return path.read_text().splitlines() if path.exists() else []


def stop_after(driver: subprocess.Popen[str], folder: Path, count: int, how: str) -> str:
    """Wait for ``count`` evaluations, then stop the driver ``how``; its standard error."""
    wait_until(
        lambda: len(evaluations(folder)) >= count or driver.poll() is not None,
        60,
        f"{count} evaluations or the driver's exit",
    )
    if how == "ctrl-c":  # a terminal's Ctrl-C reaches the whole foreground group
        os.killpg(driver.pid, signal.SIGINT)
    else:
        driver.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    return err


@pytest.mark.parametrize(
    ("how", "executor"), [("ctrl-c", "processes"), ("sigterm", "processes"), ("ctrl-c", "threads")]
)
def test_a_grid_stopped_by_the_user_then_resumed_runs_every_point_once(
    folder: Path, how: str, executor: str
) -> None:
    # Steady 50 ms trials: after two, a job waits behind each running one (queued ahead).
    (folder / "grid.yaml").write_text(GRID_SPEC.replace("processes", executor))
    driver = start(folder, "run", "grid.yaml")
    err = stop_after(driver, folder, 6, how)
    assert driver.returncode == 130, err
    assert "Traceback" not in err and "paratune resume grid" in err
    stopped = pt.load(folder / "runs.db", "grid")
    assert stopped.stop_reason is pt.StopReason.INTERRUPTED
    statuses = {t.status for t in stopped.trial_list}
    assert statuses <= {pt.Status.DONE, pt.Status.INTERRUPTED}, statuses
    committed = {t.trial_id: t for t in stopped.trial_list if t.status is pt.Status.DONE}
    interrupted = len(stopped.trial_list) - len(committed)
    status = subprocess.run(
        [sys.executable, "-m", "paratune", "status", "grid", "--store", str(folder / "runs.db")],
        env=env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "experiment grid: ended (interrupted)" in status.stdout, status.stderr
    assert f"cancelled, {interrupted} interrupted" in status.stdout

    resumed = start(folder, "run", "grid.yaml", "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out)["stop_reason"] == "exhausted"

    final = pt.load(folder / "runs.db", "grid")
    assert [t.trial_id for t in final.trial_list] == list(range(27))
    assert all(t.status is pt.Status.DONE for t in final.trial_list)
    configs = {tuple(t.config.values()) for t in final.trial_list}
    assert len(configs) == 27  # every point of the grid, the best among them
    assert final.best_value == 0.0
    for trial_id, trial in committed.items():
        assert final.trial_list[trial_id] == trial  # kept, not run again
    runs = [line.split()[0] for line in evaluations(folder)]
    for trial_id in committed:
        assert runs.count(str(trial_id)) == 1


def test_a_random_search_stopped_by_sigint_ends_with_max_trials_done(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = start(folder, "run", "random.yaml")
    stop_after(driver, folder, 10, "sigint")
    resumed = start(folder, "resume", "random")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    final = pt.load(folder / "runs.db", "random")
    assert final.stop_reason is pt.StopReason.MAX_TRIALS
    assert [t.status for t in final.trial_list] == [pt.Status.DONE] * 40
    monkeypatch.setenv("EVALUATIONS", str(folder / "reference.txt"))
    spec = load_run_spec(folder / "random.yaml")
    uninterrupted = pt.tune(**{**spec, "store": None, "executor": "serial", "workers": None})
    assert [t.config for t in final.trial_list] == [t.config for t in uninterrupted.trial_list]


def test_two_ctrl_c_stop_at_once_and_the_store_still_resumes(folder: Path) -> None:
    driver = start(folder, "run", "random.yaml")
    wait_until(lambda: len(evaluations(folder)) >= 4, 60, "4 evaluations")
    os.killpg(driver.pid, signal.SIGINT)
    os.killpg(driver.pid, signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    assert "Traceback" not in err
    resumed = start(folder, "resume", "random")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    final = pt.load(folder / "runs.db", "random")
    assert [t.status for t in final.trial_list] == [pt.Status.DONE] * 40
    db = sqlite3.connect(folder / "runs.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


@pytest.mark.parametrize("second", [["run", "random.yaml"], ["run", "random.yaml", "--overwrite"],
                                    ["resume", "random"]])  # fmt: skip
def test_a_second_driver_is_refused_while_the_first_runs(folder: Path, second: list[str]) -> None:
    gate = folder / "gate"  # the first run waits at its 5th trial until the second is seen
    first = start(folder, "run", "random.yaml", gate=gate)
    try:
        wait_until(lambda: len(evaluations(folder)) >= 2, 60, "2 evaluations")
        other = start(folder, *second)
        _, err = other.communicate(timeout=60)
        assert other.returncode != 0 and "Traceback" not in err
        assert "being run by another driver" in err and f"pid {first.pid} on host" in err
    finally:
        gate.touch()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    final = pt.load(folder / "runs.db", "random")
    assert [t.status for t in final.trial_list] == [pt.Status.DONE] * 40
    assert final.name == "random" and final.trial_list[0].seed == trial_seed(5, 0)
    runs = [line.split()[0] for line in evaluations(folder)]
    assert sorted(runs, key=int) == [str(i) for i in range(40)]  # none run twice


def test_a_sigterm_to_every_process_of_the_job_fails_no_trial(folder: Path) -> None:
    """As a batch system pre-empts a job: SIGTERM to the driver and its workers at once."""
    driver = start(folder, "run", "random.yaml")
    wait_until(lambda: len(evaluations(folder)) >= 6, 60, "6 evaluations")
    workers = descendants(driver.pid)
    assert workers
    for pid in workers:  # the workers first: the driver must not take their deaths for failures
        os.kill(pid, signal.SIGTERM)
    seen = len(evaluations(folder))
    wait_until(lambda: len(evaluations(folder)) >= seen + 2, 60, f"{seen + 2} evaluations")
    driver.send_signal(signal.SIGTERM)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    stopped = pt.load(folder / "runs.db", "random")
    assert {t.status for t in stopped.trial_list} <= {pt.Status.DONE, pt.Status.INTERRUPTED}
    resumed = start(folder, "resume", "random")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    final = pt.load(folder / "runs.db", "random")
    assert [t.status for t in final.trial_list] == [pt.Status.DONE] * 40
