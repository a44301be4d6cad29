"""The dashboard's pages in a real headless Chromium, served by the real dashboard while a
real run on the process executor writes to the store: they load with no console error and
nothing fetched from outside this machine, new trials appear without a reload, and a
trial's page shows its config, error and traceback."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune._browser import find_chromium
from paratune._browser_session import Page, browser_page

from .._wait import wait_until

FIRST = 4
"""Trials 0 to FIRST - 1 end at once; the later ones wait for the test's gate file."""

TRIALS = 12

FIGURES = ("best", "timeline", "breakdown", "what-if", "parameters", "parallel", "curves")
"""The experiment page's figures (their boxes' data-plot)."""


def gated(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Reports three steps; trial 1 fails; trials from `FIRST` on wait for the gate file.
    Each takes a few tens of milliseconds: the executor sends jobs that take under 5 ms
    many at a time, and the test needs trials that the store does not hold yet."""
    for step in range(1, 4):
        ctx.elapse(0.02)
        ctx.report(step, loss=config["x"] + 1 / step)
    if ctx.trial_id == 1:
        raise RuntimeError("fails on purpose")
    if ctx.trial_id >= FIRST:
        wait_until(Path(config["gate"]).exists, 60, "the test to open the gate")
    return {"loss": config["x"], "size": 10 * config["x"]}


def ended(store: Path) -> int:
    """How many trials of the store have ended (read as any other reader would)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            done = db.execute("SELECT count(*) FROM trials WHERE status IN ('done', 'failed')")
            return int(done.fetchone()[0])
    except sqlite3.OperationalError:  # the file is there, its tables not yet: none ended
        return 0


def drawn(page: Page) -> bool:
    """Whether the page shown has drawn what it first shows."""
    return bool(page.evaluate("document.getElementById('main').dataset.drawnAt"))


@pytest.fixture
def chromium() -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")


def test_the_pages_follow_a_real_run(chromium: None, tmp_path: Path) -> None:
    from paratune.dashboard import start

    store, gate = tmp_path / "runs.db", tmp_path / "gate"
    space = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", "b"]), "gate": str(gate)}
    run = threading.Thread(target=pt.tune, args=(gated, space), kwargs=dict(
        metric="loss", executor="processes", workers=2, max_trials=TRIALS, store=str(store),
        name="live run", seed=3))  # fmt: skip
    run.start()
    try:
        wait_until(lambda: store.exists() and ended(store) >= FIRST, 60, "the first trials")
        board = start(store)
        try:
            with browser_page(width=1280, height=900) as page:
                _watch_the_run(page, board.url, gate)
                _open_a_failed_trial(page, tmp_path)
                page.evaluate("history.back()")
                wait_until(lambda: page.count(".vt-row") == TRIALS, 30, "the experiment again")
                assert page.console_errors() == []
                assert page.external_requests() == []
                assert any("/api/experiments/live%20run?since=" in url for url in page.requests())
        finally:
            board.stop()
    finally:
        gate.touch()
        run.join(60)


def _watch_the_run(page: Page, url: str, gate: Path) -> None:
    """The list, then the experiment while it runs; trials arrive without a reload."""
    page.goto(url)
    wait_until(lambda: drawn(page), 30, "the experiments list")
    assert page.text('[data-experiment="live run"] [data-role=state]') == "running"
    page.click('[data-experiment="live run"] a')
    wait_until(lambda: drawn(page) and page.count(".vt-row") >= FIRST + 1, 30, "the trials")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    before = page.count(".vt-row")
    assert page.count('.vt-row[data-status="running"]') >= 1
    assert f"of {TRIALS} trials" in page.text("[data-role=progress]")
    gate.touch()
    wait_until(lambda: page.count('.vt-row:not([data-status="running"])') == TRIALS, 30,
               "every trial ended, in the table")  # fmt: skip
    assert before < TRIALS and page.evaluate("window.sameDocument") is True
    wait_until(lambda: page.text("[data-role=headline] [data-role=state]") == "ended", 30,
               "the experiment to be ended")  # fmt: skip
    assert page.count('.vt-row[data-status="failed"]') == 1
    assert f"{TRIALS} of {TRIALS} trials" in page.text("[data-role=progress]")


def _open_a_failed_trial(page: Page, folder: Path) -> None:
    """Every figure of the experiment (in a window tall enough to show them all), then a
    click on the failed trial's row: its page shows config, error and traceback."""
    page.resize(1280, 4000)
    wait_until(lambda: page.evaluate("document.getElementById('main').dataset.allDrawnAt"), 30,
               "every figure")  # fmt: skip
    for figure in FIGURES:
        assert page.count(f"[data-plot={figure}].js-plotly-plot") == 1, figure
    shot = page.screenshot(folder / "experiment.png")
    assert shot.stat().st_size > 100_000
    page.resize(1280, 900)
    page.click('.vt-row[data-trial-id="1"]')
    wait_until(lambda: "Trial 1" in page.text("h1"), 30, "the trial's page")
    assert page.evaluate("window.sameDocument") is True
    assert page.text("[data-role=error] .error-box") == "RuntimeError: fails on purpose"
    assert "RuntimeError: fails on purpose" in page.text("[data-role=error] pre")
    config = page.text("[data-role=config]")
    assert "kind" in config and "gate" in config and "x" in config
    assert "loss" in page.text("[data-role=reports]")
    page.screenshot(folder / "trial.png")
