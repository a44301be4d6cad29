"""One owner per experiment: the lease a driver takes in the store."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from paratune.errors import StoreError
from paratune.store import Experiment, RunTotals, SQLiteStore, _lease
from paratune.store._lease import STALE_AFTER, Owner, token_of
from paratune.trial import Status, Trial

from .._wait import wait_until

EXPERIMENT = Experiment("exp", {"x": 1}, "loss", "min", 0)
HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def owner(token: str, heartbeat: float | None = None) -> Owner:
    now = time.time()
    host, _, pid, _ = token.split("|")
    return Owner(host, int(pid), now, now if heartbeat is None else heartbeat, token)


def test_a_live_driver_on_this_host_is_not_gone() -> None:
    assert owner(token_of(os.getpid())).gone(time.time()) is None


def test_a_driver_whose_process_ended_is_gone() -> None:
    pid = dead_pid()
    why = owner(token_of(os.getpid()).replace(f"|{os.getpid()}|", f"|{pid}|")).gone(time.time())
    assert why == f"process {pid} no longer exists"


def test_a_pid_now_used_by_another_program_is_gone() -> None:
    host, boot, pid, _ = token_of(os.getpid()).split("|")
    why = owner(f"{host}|{boot}|{pid}|1").gone(time.time())
    assert why == f"process {pid} is now another program"


def test_a_driver_from_before_a_restart_is_gone() -> None:
    _, _, pid, started = token_of(os.getpid()).split("|")
    assert owner(f"{HOST}|another-boot|{pid}|{started}").gone(time.time()) == (
        "the machine has restarted since"
    )


def test_a_driver_on_another_host_is_gone_once_its_heartbeat_is_stale() -> None:
    now = time.time()
    assert owner("elsewhere|b|42|7", heartbeat=now - 5).gone(now) is None
    why = owner("elsewhere|b|42|7", heartbeat=now - STALE_AFTER - 1).gone(now)
    assert why is not None and "last heartbeat was 61 s ago" in why


def test_a_second_driver_on_a_running_experiment_is_refused(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "runs.db")
    first.open(EXPERIMENT, resume=False, overwrite=False)
    second = SQLiteStore(tmp_path / "runs.db")
    for resume, overwrite in ((True, False), (False, True), (False, False)):
        with pytest.raises(StoreError, match=f"being run by another driver \\(pid {os.getpid()}"):
            second.open(EXPERIMENT, resume=resume, overwrite=overwrite)
    first.save([Trial(0, {"x": 1}, 1, Status.DONE, 0.5)])
    assert [t.value for t in first.trials()] == [0.5]  # the owner was not disturbed
    first.close()
    second.close()


def test_the_lease_of_a_driver_that_is_gone_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    first = SQLiteStore(path)
    first.open(EXPERIMENT, resume=False, overwrite=False)
    first.save([Trial(0, {"x": 1}, 1, Status.RUNNING)])
    first.close()  # no finish: as if the driver was killed
    pid = dead_pid()
    token = token_of(os.getpid()).replace(f"|{os.getpid()}|", f"|{pid}|")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE experiments SET lease = ?, driver_pid = ?", (token, pid))
    second = SQLiteStore(path)
    with pytest.warns(UserWarning, match=f"taking over .*process {pid} no longer exists"):
        trials = second.open(EXPERIMENT, resume=True, overwrite=False)
    assert [t.status for t in trials] == [Status.RUNNING]
    second.close()


def test_a_driver_whose_lease_was_taken_over_writes_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    store.open(EXPERIMENT, resume=False, overwrite=False)
    with sqlite3.connect(path) as db:  # another driver took it over, thinking this one gone
        db.execute("UPDATE experiments SET lease = ?", (token_of(1),))
    with pytest.raises(StoreError, match="now held by another driver"):
        store.save([Trial(0, {"x": 1}, 1, Status.DONE, 0.5)])
    assert store.trials() == []
    store.close()


def test_the_heartbeat_is_renewed_and_finish_releases_the_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lease, "RENEW_EVERY", 0.01)
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    store.open(EXPERIMENT, resume=False, overwrite=False)

    def heartbeat() -> float:
        with sqlite3.connect(path) as db:
            return float(db.execute("SELECT heartbeat FROM experiments").fetchone()[0])

    first = heartbeat()
    wait_until(lambda: heartbeat() != first, 30, "the heartbeat to be renewed")

    store.finish(RunTotals(1.0, 1.0, 0.0, 1, "max_trials"))
    store.close()
    again = SQLiteStore(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no take-over: the lease was released
        again.open(EXPERIMENT, resume=True, overwrite=False)
    again.close()
