"""The real dashboard server, polled over HTTP as the page polls it, while a real run on
the process executor (2 workers) writes to the store from a thread: a trial and its report
reach the page within about a second of their commit, its end too; the run is not held up
(it ends with all its trials); and the page, having merged every answer, holds what a fresh
load gives. An ASHA run, polled as it continues trials, ends the same way."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import paratune as pt

from .._wait import wait_until
from .conftest import Page, base, by_budget, fetch

TRIALS = 4
SOON = 2.5
"""Seconds within which a commit reaches a polling page (the server reads at most every
0.5 s; the rest is slack for a loaded machine)."""


def gated(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Reports step 1, then waits for its own gate file before ending."""
    ctx.report(1, loss=config["x"] + 1)
    gate = Path(config["gates"]) / str(ctx.trial_id)
    wait_until(gate.exists, 60, f"the test to open gate {gate}")
    return {"loss": config["x"]}


def stored(store: Path, sql: str) -> list[Any]:
    """What a plain reader of the store finds (as committed; nothing before its tables)."""
    if not store.exists():
        return []
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # being created


def asker(url: str, name: str) -> Any:
    def ask(cursor: str) -> dict[str, Any]:
        reply = fetch(f"{base(url)}/api/experiments/{name}?since={cursor}")
        assert reply.status == 200, reply.body
        answer: dict[str, Any] = reply.json()
        return answer

    return ask


def test_a_running_trial_and_its_end_reach_the_page(tmp_path: Path) -> None:
    from paratune.dashboard import start

    store, gates = tmp_path / "runs.db", tmp_path / "gates"
    gates.mkdir()
    space = {"x": pt.Float(0, 1), "gates": str(gates)}
    run = threading.Thread(target=pt.tune, args=(gated, space), kwargs=dict(
        metric="loss", executor="processes", workers=2, max_trials=TRIALS, store=str(store),
        name="live", seed=0, progress=False))  # fmt: skip
    run.start()
    try:
        wait_until(lambda: stored(store, "SELECT * FROM reports"), 60, "a report in the store")
        board = start(store)
        try:
            _follow(board.url, gates, store)
        finally:
            board.stop()
    finally:
        for trial in range(TRIALS):
            (gates / str(trial)).touch()
        run.join(60)
    assert not run.is_alive()
    assert stored(store, "SELECT count(*) FROM trials WHERE status = 'done'") == [(TRIALS,)]


def _follow(url: str, gates: Path, store: Path) -> None:
    page, ask = Page(), asker(url, "live")
    first = page.poll(ask)
    assert first["reset"] and first["experiment"]["state"] == "running"
    reported = stored(store, "SELECT trial_id FROM reports ORDER BY trial_id LIMIT 1")[0][0]
    wait_until(lambda: page.poll(ask) and (reported, 1) in page.reports, SOON,
               f"trial {reported}'s report on the page")  # fmt: skip
    assert page.trials[reported]["status"] == "running"
    (gates / str(reported)).touch()
    wait_until(lambda: stored(store, f"SELECT status FROM trials WHERE trial_id = {reported}")
               == [("done",)], 30, "the trial's end in the store")  # fmt: skip
    committed = time.monotonic()
    wait_until(lambda: page.poll(ask) and page.trials[reported]["status"] == "done", SOON,
               "the trial's end on the page")  # fmt: skip
    assert time.monotonic() - committed < SOON
    for trial in range(TRIALS):
        (gates / str(trial)).touch()
    wait_until(lambda: page.poll(ask)["experiment"]["state"] == "ended", 60, "the run's end")
    page.poll(ask)
    assert page.resets == 1 and len(page.trials) == TRIALS
    assert {t["status"] for t in page.trials.values()} == {"done"}
    assert page.same_as(ask(""))
    assert page.experiment["done"] == TRIALS and page.experiment["stop_reason"] == "max_trials"


def test_an_asha_run_polled_as_it_goes_ends_on_the_page_as_stored(tmp_path: Path) -> None:
    from paratune.dashboard import start

    store = tmp_path / "runs.db"
    pt.tune(by_budget, {"x": pt.Float(0, 1)}, metric="loss", executor="serial", max_trials=1,
            store=str(store), name="first", progress=False)  # fmt: skip
    board = start(store)
    page, ask = Page(), asker(board.url, "asha")
    try:
        asha = pt.schedulers.ASHA(min_budget=1, max_budget=8, eta=2)
        run = threading.Thread(target=pt.tune, args=(by_budget, {"x": pt.Float(0, 1)}),
                               kwargs=dict(metric="loss", scheduler=asha, executor="threads",
                                           workers=2,
                                           max_trials=16, store=str(store), name="asha",
                                           seed=4, progress=False))  # fmt: skip
        run.start()
        wait_until(lambda: fetch(f"{base(board.url)}/api/experiments/asha").status == 200, 30,
                   "the experiment in the store")  # fmt: skip
        # Polled every 0.05 s while it runs, as a busy page would.
        wait_until(lambda: page.poll(ask) and not run.is_alive(), 60, "the run", every=0.05)
        run.join()
        wait_until(lambda: page.poll(ask)["experiment"]["state"] == "ended", 10, "the end")
        page.poll(ask)
    finally:
        board.stop()
    assert page.resets == 1
    final = Page()
    final.merge(_fresh(store))
    assert page.trials == final.trials and page.reports == final.reports
    assert max(t["budget"] for t in page.trials.values()) == 8  # continued to the top rung


def _fresh(store: Path) -> dict[str, Any]:
    """A fresh load of experiment "asha" from a new reader of the store."""
    import json

    from paratune.dashboard._reader import Reader

    reader = Reader(store)
    try:
        answer: dict[str, Any] = json.loads(reader.experiment("asha", None))
        return answer
    finally:
        reader.close()
