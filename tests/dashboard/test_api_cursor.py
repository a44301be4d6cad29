"""The change cursor of ``GET /api/experiments/{name}?since=``: a real store written step by
step by its real writer (as a driver writes it: a trial saved running, then ended, retried,
continued at a higher budget, the experiment resumed or overwritten) and read by the
dashboard's real reader; after each poll a page that merges what it got holds exactly what
a fresh load gives, and a poll after nothing changed gets nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paratune.dashboard import _mirror
from paratune.dashboard._reader import BadRequest, NotFound, Reader
from paratune.store import Experiment, RunTotals, SQLiteStore
from paratune.store._lease import token_of
from paratune.trial import Report, Status, Trial

from .conftest import Page

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": False}}


def experiment(scheduler: str = "fifo", name: str = "exp") -> Experiment:
    return Experiment(name, SPACE, "loss", "min", 0, "", {"scheduler": scheduler, "workers": 2})


def running(tid: int, submitted: float, attempts: int = 1, **more: Any) -> Trial:
    return Trial(tid, {"x": tid / 10}, tid, Status.RUNNING, attempts=attempts,
                 submitted=submitted, **more)  # fmt: skip


def ended(trial: Trial, status: Status, value: float | None, finished: float) -> Trial:
    started = trial.submitted or 0.0
    spent = trial.worker_time + finished - started
    return trial._replace(status=status, value=value, started=started, finished=finished,
                          worker_time=spent, worker=0)  # fmt: skip


def report(tid: int, step: int, loss: float, time: float, attempt: int = 1) -> Report:
    return Report(tid, attempt, step, {"loss": loss}, time)


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "runs.db")
    yield store
    store.close()


@pytest.fixture
def reader(writer: SQLiteStore) -> Iterator[Reader]:
    found = Reader(writer.path, refresh_every=0, cpu_share=None)
    yield found
    found.close()


class Poller:
    """A page polling the reader, checked against a fresh load after every poll."""

    def __init__(self, reader: Reader, name: str = "exp") -> None:
        self.reader, self.name, self.page = reader, name, Page()

    def ask(self, cursor: str) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.reader.experiment(self.name, cursor))
        return answer

    def poll(self) -> dict[str, Any]:
        answer = self.page.poll(self.ask)
        assert self.page.same_as(self.ask("")), "the merged page differs from a fresh load"
        return answer


def ids(answer: dict[str, Any]) -> list[tuple[int, str]]:
    return [(t["trial_id"], t["status"]) for t in answer["trials"]]


def test_a_trial_reaches_the_page_running_then_done(writer: SQLiteStore, reader: Reader) -> None:
    writer.open(experiment(), resume=False, overwrite=False)
    first = running(0, 0.1)
    writer.save([first, running(1, 0.2)])
    page = Poller(reader)
    answer = page.poll()
    assert answer["reset"] and ids(answer) == [(0, "running"), (1, "running")]
    assert answer["experiment"]["state"] == "running" and answer["experiment"]["running"] == 2
    writer.save([ended(first, Status.DONE, 0.5, 0.6)], [report(0, 1, 0.5, 0.55)])
    answer = page.poll()
    assert not answer["reset"] and ids(answer) == [(0, "done")]
    assert answer["reports"] == [
        {"trial_id": 0, "step": 1, "time": 0.55, "metrics": {"loss": 0.5}}
    ]
    assert answer["experiment"]["best_value"] == 0.5 and answer["experiment"]["best_trial_id"] == 0
    cursor = answer["cursor"]
    nothing = page.poll()
    assert nothing["trials"] == [] and nothing["reports"] == [] and nothing["cursor"] == cursor


def test_a_retry_reaches_the_page(writer: SQLiteStore, reader: Reader) -> None:
    writer.open(experiment(), resume=False, overwrite=False)
    attempt = running(0, 0.1)
    writer.save([attempt], [report(0, 1, 0.9, 0.2)])
    page = Poller(reader)
    page.poll()
    # Failed with a retry left: still running, with the error; then run again and done.
    failed = ended(attempt, Status.RUNNING, None, 0.3)._replace(error="boom")
    writer.save([failed])
    assert page.poll()["trials"][0]["error"] == "boom"
    again = failed._replace(attempts=2, submitted=0.4, started=None, finished=None)
    writer.save([again], [report(0, 1, 0.7, 0.5, attempt=2), report(0, 2, 0.6, 0.6, attempt=2)])
    answer = page.poll()
    assert ids(answer) == [(0, "running")] and answer["trials"][0]["attempts"] == 2
    assert [(r["step"], r["metrics"]["loss"]) for r in answer["reports"]] == [(1, 0.7), (2, 0.6)]
    writer.save([ended(again, Status.DONE, 0.6, 0.7)._replace(error=None)])
    answer = page.poll()
    assert ids(answer) == [(0, "done")] and answer["trials"][0]["attempts"] == 2


def test_a_retry_between_two_polls_reaches_the_page(writer: SQLiteStore, reader: Reader) -> None:
    writer.open(experiment(), resume=False, overwrite=False)
    attempt = running(0, 0.1)
    writer.save([attempt], [report(0, 1, 0.9, 0.2)])
    page = Poller(reader)
    page.poll()
    again = attempt._replace(attempts=2, submitted=0.4, error="boom")
    writer.save([again], [report(0, 1, 0.7, 0.5, attempt=2)])
    writer.save([ended(again, Status.DONE, 0.7, 0.8)])
    answer = page.poll()
    assert ids(answer) == [(0, "done")] and answer["reports"][0]["metrics"] == {"loss": 0.7}


@pytest.mark.parametrize("polled_between", [True, False])
def test_a_promotion_reaches_the_page(
    writer: SQLiteStore, reader: Reader, polled_between: bool
) -> None:
    """ASHA continues an ended trial at a higher budget: it runs again, and ends again,
    seen as it goes or only once it ended again."""
    writer.open(experiment("asha"), resume=False, overwrite=False)
    rung = ended(running(0, 0.1, budget=1), Status.DONE, 0.5, 0.3)
    writer.save([rung, running(1, 0.2, budget=1)], [report(0, 1, 0.5, 0.3)])
    page = Poller(reader)
    page.poll()
    promoted = rung._replace(status=Status.RUNNING, budget=2, submitted=0.4, finished=None)
    writer.save([promoted])
    if polled_between:
        assert ids(page.poll()) == [(0, "running")]
    writer.save([ended(promoted, Status.DONE, 0.25, 0.9)], [report(0, 2, 0.25, 0.9)])
    answer = page.poll()
    assert ids(answer) == [(0, "done")] and answer["trials"][0]["budget"] == 2
    assert [r["step"] for r in answer["reports"]] == [2]
    assert answer["experiment"]["best_value"] == 0.25


def test_an_overwritten_experiment_resets_the_page(tmp_path: Path, writer: SQLiteStore) -> None:
    writer.open(experiment(), resume=False, overwrite=False)
    writer.save([running(0, 0.1), running(1, 0.2)], [report(1, 1, 0.3, 0.3)])
    reader = Reader(writer.path, refresh_every=0, cpu_share=None)
    try:
        page = Poller(reader)
        old = page.poll()["cursor"]
        writer.finish(RunTotals(wall_time=1.0))
        writer.open(experiment(), resume=False, overwrite=True)
        writer.save([running(0, 0.05)._replace(config={"x": 0.9})])
        answer = page.poll()
        assert answer["reset"] and answer["cursor"] != old
        assert ids(answer) == [(0, "running")] and answer["trials"][0]["config"] == {"x": 0.9}
        assert answer["reports"] == [] and page.page.resets == 2
    finally:
        reader.close()


def test_a_resumed_session_reaches_the_page(writer: SQLiteStore, reader: Reader) -> None:
    """A resume runs again what the user interrupted, at times of its own (here lower:
    the session before crashed and recorded no wall time): the page sees it, with no
    reset."""
    writer.open(experiment(), resume=False, overwrite=False)
    cut = ended(running(1, 0.5), Status.INTERRUPTED, None, 0.6)
    writer.save([ended(running(0, 0.1), Status.DONE, 0.4, 0.4), cut])
    writer.finish(RunTotals(wall_time=0.0, busy_time=0.3, workers=2, stop_reason="interrupted"))
    page = Poller(reader)
    answer = page.poll()
    assert answer["experiment"]["state"] == "ended"
    assert answer["experiment"]["stop_reason"] == "interrupted"
    writer.open(experiment(), resume=True, overwrite=False)
    again = cut._replace(status=Status.RUNNING, submitted=0.01, finished=None)
    writer.save([again])
    answer = page.poll()
    assert not answer["reset"] and ids(answer) == [(1, "running")]
    assert answer["experiment"]["state"] == "running"
    writer.save([ended(again, Status.DONE, 0.2, 0.02)])
    assert ids(page.poll()) == [(1, "done")]


def test_another_experiments_changes_send_nothing(
    tmp_path: Path, writer: SQLiteStore, reader: Reader
) -> None:
    writer.open(experiment(), resume=False, overwrite=False)
    writer.save([running(0, 0.1)])
    page = Poller(reader)
    cursor = page.poll()["cursor"]
    other = SQLiteStore(writer.path)
    try:
        other.open(experiment(name="other"), resume=False, overwrite=False)
        other.save([running(0, 0.1), running(1, 0.2)])
        answer = page.poll()
        assert answer["trials"] == [] and answer["cursor"] == cursor
        listed = json.loads(reader.experiments())
        assert [e["name"] for e in listed["experiments"]] == ["exp", "other"]
        assert [e["running"] for e in listed["experiments"]] == [1, 2]
    finally:
        other.close()


def test_cursors_the_reader_cannot_answer(
    writer: SQLiteStore, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_mirror, "LOG_LIMIT", 2)
    writer.open(experiment(), resume=False, overwrite=False)
    trial = running(0, 0.1)
    writer.save([trial])
    page = Poller(reader)
    old = page.poll()["cursor"]
    for step in (1, 2, 3):  # three readings with changes: the log keeps two
        writer.save([], [report(0, step, 1 / step, 0.1 * step)])
        page.poll()
    answer = Poller(reader).page.merge(page.ask(old))
    assert answer["reset"] and len(answer["reports"]) == 3  # too old: everything again
    assert json.loads(reader.experiment("exp", "0123abcd-1"))["reset"]  # another server's
    for malformed in ("nonsense", "a-b", "1-2-3"):
        with pytest.raises(BadRequest):
            reader.experiment("exp", malformed)
    with pytest.raises(NotFound):
        reader.experiment("missing", None)


def test_a_run_whose_driver_is_gone_is_unfinished(writer: SQLiteStore, reader: Reader) -> None:
    """Listed from the store's counts, and on its page from the trials read, alike."""
    writer.open(experiment(), resume=False, overwrite=False)
    writer.save([ended(running(0, 0.1), Status.DONE, 0.5, 2.0), running(1, 1.0)])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with sqlite3.connect(writer.path) as db:  # as if that process had run it and died
        gone = (token_of(dead.pid), dead.pid)
        db.execute("UPDATE experiments SET lease = ?, driver_pid = ?", gone)
    listed = json.loads(reader.experiments())["experiments"][0]
    assert listed["state"] == "unfinished" and listed["elapsed"] is None
    assert listed["wall_time"] == 2.0 and listed["running"] == 1 and listed["done"] == 1
    assert listed["best_value"] == 0.5 and listed["best_trial_id"] == 0
    assert listed["busy_time"] == pytest.approx(1.9) and listed["workers"] == 2
    shown = Poller(reader).poll()["experiment"]
    assert shown == listed


def test_a_store_file_made_again_is_read_again(writer: SQLiteStore, reader: Reader) -> None:
    """A run that starts over in a new file at the same path (the old one removed): the
    reader follows the file there now, and pages start over."""
    writer.open(experiment(), resume=False, overwrite=False)
    writer.save([running(0, 0.1)])
    page = Poller(reader)
    page.poll()
    writer.finish(RunTotals(wall_time=1.0))
    writer.close()
    for leftover in writer.path.parent.glob(f"{writer.path.name}*"):
        leftover.unlink()
    again = SQLiteStore(writer.path)
    try:
        again.open(experiment(name="new"), resume=False, overwrite=False)
        listed = json.loads(reader.experiments())["experiments"]
        assert [e["name"] for e in listed] == ["new"]
        with pytest.raises(NotFound):
            reader.experiment("exp", page.page.cursor)
    finally:
        again.close()


def test_many_pages_share_one_reading_per_change(
    writer: SQLiteStore, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings: list[int] = []
    refresh = _mirror.Mirror.refresh

    def counted(self: _mirror.Mirror, *args: Any) -> None:
        readings.append(1)
        refresh(self, *args)

    monkeypatch.setattr(_mirror.Mirror, "refresh", counted)
    writer.open(experiment(), resume=False, overwrite=False)
    writer.save([running(0, 0.1)])
    pages = [Poller(reader) for _ in range(5)]
    for page in pages:
        page.poll()
    assert len(readings) == 1  # the first page's reading; the others are answered from it
    writer.save([running(1, 0.2)])
    answers = [page.page.poll(page.ask) for page in pages]
    assert len(readings) == 2 and all(ids(a) == [(1, "running")] for a in answers)
    reader.experiments()
    assert len(readings) == 2  # the list too
