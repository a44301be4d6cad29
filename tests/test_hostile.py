"""Hostile use of the reliability promises (docs/store.md), each a problem reproduced with
real processes, signals and SQLite files. Each test states what should happen."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.errors import StoreError
from paratune.store import Experiment
from paratune.store.sqlite import SQLiteStore
from paratune.trial import Status, Trial

from ._wait import wait_until
from .conftest import wait_for_file

SPACE = {"x": pt.Float(0, 1)}


def _statuses(result: Any) -> list[str]:
    return [trial.status.value for trial in result.trial_list]


# ---- a failure's own text ----------------------------------------------------------------


def _raises_surrogate(config: dict[str, Any]) -> float:
    if config["x"] > 0.5:
        raise ValueError("bad \ud800 value")  # a lone surrogate: not encodable as UTF-8
    return float(config["x"])


def test_an_error_message_with_a_surrogate_fails_only_its_trial(tmp_path: Path) -> None:
    result = pt.tune(_raises_surrogate, SPACE, max_trials=8, executor="threads", workers=2,
                     store=tmp_path / "runs.db", name="s")  # fmt: skip
    assert len(result.trial_list) == 8
    assert "failed" in _statuses(result) and "done" in _statuses(result)
    assert len(pt.load(tmp_path / "runs.db", "s").trial_list) == 8


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


def _raises_unprintable(config: dict[str, Any]) -> float:
    if config["x"] > 0.5:
        raise _Unprintable()
    return float(config["x"])


@pytest.mark.parametrize("executor", ["serial", "threads"])
# Today the worker thread dies of it; pytest's warning of that would make teardown an error.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_exception_that_cannot_be_printed_fails_only_its_trial(
    tmp_path: Path, executor: str
) -> None:
    workers = 1 if executor == "serial" else 2
    result = pt.tune(_raises_unprintable, SPACE, max_trials=8, executor=executor,
                     workers=workers, max_time=3, store=tmp_path / "runs.db")  # fmt: skip
    assert result.stop_reason.value == "max_trials"
    assert sorted(set(_statuses(result))) == ["done", "failed"]


class _NoRepr(Exception):
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class _NotAFloat(float):
    def __float__(self) -> float:
        raise _NoRepr()


def _returns_not_a_float(config: dict[str, Any]) -> float:
    return _NotAFloat(1.0) if config["x"] > 0.5 else float(config["x"])


def test_a_result_whose_error_cannot_be_shown_fails_only_its_trial(tmp_path: Path) -> None:
    result = pt.tune(_returns_not_a_float, SPACE, max_trials=8, executor="threads", workers=2,
                     store=tmp_path / "runs.db")  # fmt: skip
    assert sorted(set(_statuses(result))) == ["done", "failed"]


# ---- the lease ---------------------------------------------------------------------------


def _slow(config: dict[str, Any]) -> float:
    time.sleep(0.1)
    return float(config["x"])


def test_a_killed_driver_not_yet_reaped_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    code = textwrap.dedent(f"""
        import time, paratune as pt
        def slow(config):
            time.sleep(0.1)
            return float(config["x"])
        slow.__module__ = "tests.test_hostile"
        slow.__qualname__ = "_slow"
        pt.tune(slow, {{"x": pt.Float(0, 1)}}, max_trials=40, store={str(db)!r}, name="z")
    """)
    driver = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_until(lambda: _count(db, "done") >= 1, 30, "the driver to finish a trial")
        driver.kill()
        # Dead, and deliberately not waited for yet: a zombie.
        wait_until(lambda: _state(driver.pid) == "Z", 30, "the killed driver to be a zombie")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the take-over warning
            result = pt.tune(_slow, SPACE, max_trials=3, store=db, name="z", resume=True)
        assert len(result.trial_list) >= 3
    finally:
        driver.kill()
        driver.wait()


def _count(db: Path, status: str) -> int:
    try:
        with sqlite3.connect(db) as connection:
            row = connection.execute(
                "SELECT count(*) FROM trials WHERE status = ?", (status,)
            ).fetchone()
        return int(row[0])
    except sqlite3.Error:
        return 0


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# ---- creating and losing the store file --------------------------------------------------

_CREATOR = """
import os, signal, sys
from pathlib import Path
import paratune.store._integrity as integrity
from paratune.store.sqlite import SQLiteStore
from tests._wait import wait_until

db, ready, go = sys.argv[1:4]
# Ctrl-C raises here as in a terminal, even if this process was started with it ignored.
signal.signal(signal.SIGINT, signal.default_int_handler)
real_open, real_check = integrity.open_connection, integrity.check_structure

def open_connection(path, *, readonly):
    # Hold here, once this process has created the empty file, until told to go on.
    out = real_open(path, readonly=readonly)
    Path(ready).write_text("created" if out[1] else "existed")
    wait_until(lambda: os.path.exists(go), 30, "the test to say go")
    return out

def check_structure(connection, path):
    os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C lands while the store is checked
    real_check(connection, path)

integrity.open_connection, integrity.check_structure = open_connection, check_structure
try:
    SQLiteStore(db)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_stopped_start_up_never_removes_a_store_another_driver_filled(tmp_path: Path) -> None:
    db, ready, go = tmp_path / "runs.db", tmp_path / "ready", tmp_path / "go"
    script = tmp_path / "creator.py"
    script.write_text(_CREATOR)
    creator = subprocess.Popen(
        [sys.executable, str(script), str(db), str(ready), str(go)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},  # for tests._wait
        stdout=subprocess.PIPE,
        text=True,
    )
    wait_for_file(ready)
    assert ready.read_text() == "created"  # the empty file is the creator's
    other = SQLiteStore(db)  # a second driver finds the empty file and makes it a store
    try:
        other.open(Experiment("b", {"x": 1}, "value", "min", 0, "m:f", {}),
                   resume=False, overwrite=False)  # fmt: skip
        other.save([Trial(0, {"x": 1}, 0, Status.DONE, 1.0, {})])
        go.write_text("")
        out, _ = creator.communicate(timeout=30)
        assert "interrupted" in out
        assert db.exists()
        assert len(pt.load(db, "b").trial_list) == 1
    finally:
        other.close()
        creator.kill()
        creator.wait()


def test_a_store_deleted_under_a_running_driver_stops_the_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        if ctx.trial_id == 3:
            db.unlink()
        return float(config["x"])

    with pytest.raises(StoreError, match=r"runs\.db"):
        pt.tune(objective, SPACE, max_trials=8, store=db, name="gone")


def test_a_fifo_as_store_is_refused_as_not_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    with pytest.raises(StoreError) as raised:
        SQLiteStore(fifo)
    assert "fifo.db" in str(raised.value)
    assert "I/O error" not in str(raised.value)


def test_a_store_linked_to_a_null_device_leaves_nothing_behind(tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))  # a character device: null
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    (tmp_path / "runs.db").symlink_to(device)
    with pytest.raises(StoreError) as raised:
        pt.tune(_slow, SPACE, max_trials=1, store=tmp_path / "runs.db", name="n")
    assert "I/O error" not in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "runs.db"]


# ---- the user's stop ---------------------------------------------------------------------

_IGNORING = """
import signal, sys, time
from pathlib import Path
import paratune as pt

def objective(config, ctx):
    if ctx.trial_id == 0:  # a library the objective calls turns SIGTERM off, and leaves it so
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if ctx.trial_id == 2:
        Path(sys.argv[2]).write_text("")
    time.sleep(0.2)
    return config["x"]

result = pt.tune(objective, {"x": pt.Float(0, 1)}, max_trials=12, store=sys.argv[1], name="t")
print(result.stop_reason.value)
"""


def test_sigterm_stops_a_serial_run_whose_trial_ignored_it(tmp_path: Path) -> None:
    script, ready = tmp_path / "ignoring.py", tmp_path / "ready"
    script.write_text(_IGNORING)
    driver = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "runs.db"), str(ready)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_file(ready)
        driver.send_signal(signal.SIGTERM)
        out, _ = driver.communicate(timeout=30)
        assert out.strip() == "interrupted"
    finally:
        driver.kill()
        driver.wait()
