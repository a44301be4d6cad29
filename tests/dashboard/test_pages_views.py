"""The dashboard's pages on a store of ended runs (the shared `run_store`: "quadratic" and
"asha"), in a real headless Chromium: what the page's modules compute, overlaying another
experiment, an ASHA run's page, an unknown experiment, and the pages behind a token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paratune._browser import find_chromium
from paratune._browser_session import Page, browser_page

from .._wait import wait_until

UNITS = Path(__file__).with_name("test_pages_units.js")
"""Calls of the page's modules on small inputs, run in the page."""


@pytest.fixture(scope="module")
def board(run_store: Path) -> Iterator[Any]:
    """The dashboard of `run_store`, served for the module's tests."""
    from paratune.dashboard import start

    served = start(run_store)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def page(board: Any) -> Iterator[Page]:
    """One browser page for the module's tests."""
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    with browser_page(width=1280, height=3000) as opened:
        yield opened


def show(page: Page, url: str, mark: str = "drawnAt") -> None:
    """Open ``url`` and wait until the page has drawn (``mark``)."""
    page.goto(url)
    wait_until(lambda: page.evaluate(f"document.getElementById('main').dataset.{mark}"), 30,
               f"{url} drawn")  # fmt: skip


def run_in_page(page: Page, body: str) -> Any:
    """The value of an async JavaScript ``body`` run in the page (which may import its
    modules from /static/)."""
    return page.evaluate(f"(async () => {{ {body} }})()")


def test_what_the_modules_compute(page: Page, board: Any) -> None:
    show(page, board.url)
    found = run_in_page(page, UNITS.read_text())
    assert found["filters"] == [
        [[1, 2], [], []],
        [[2], [], []],
        [[1], [], []],
        [[0, 2], ["big", "words"], []],
        [[1], [], []],
        [[0, 1, 2], [], ['no column named "wrong"']],
    ]
    assert found["columns"][:5] == ["trial_id", "status", "value", "x", "kind"]
    assert "metrics.size" in found["columns"] and "metrics.loss" not in found["columns"]
    assert found["curve"] == {"x": [3, 5, 10], "y": [0.5, 0.1, 0.1]}  # drawn on to 10 s
    assert found["curveMax"] == {"x": [3, 5], "y": [0.5, 0.5]}
    assert found["busy"] == [1, 3, 1, 1]  # the running one counts until now (4 s)
    assert found["sample"] == [2500, " (best 500 + 2,000 sampled of 3,000)", True, 2000, 2]
    assert found["axisLog"]["at"] == [0, 1, None]
    assert [text for _, text in found["axisLog"]["ticks"]] == ["0.001", "0.1"]
    assert [text for _, text in found["axisChoice"]["ticks"]] == ["a", "b", "3"]
    assert found["breakdown"][0] == [{"part": "useful work", "seconds": 3, "share": 0.75}]
    assert found["breakdown"][1] == [{"part": "useful work", "seconds": 3, "share": 0.75},
                                     {"part": "idle", "seconds": 1, "share": 0.25}]  # fmt: skip
    assert found["whatIf"] == [{"workers": 2, "time": 1, "speedup": 1.5, "efficiency": 0.75}]
    assert found["progress"][0] == {"share": 0.5, "text": "5 of 10 trials, 2 running"}
    assert found["progress"][1] == {"share": 0.5, "text": "4 of 100 trials, 30.0 s of 1 min 00 s"}
    assert found["states"] == ["running", "ended", "stopped without ending"]


def test_another_experiment_is_overlaid_on_the_best_so_far(page: Page, board: Any) -> None:
    show(page, board.url + "experiment/quadratic", "allDrawnAt")
    names = "[...document.querySelector('[data-plot=best]').data].map(t => t.name)"
    assert page.evaluate(names) == ["trials", "best so far"]
    choice = '[data-role=overlays] input[value="asha"]'
    wait_until(lambda: page.count(choice), 10, "the other experiments to overlay")
    page.click(choice)
    wait_until(lambda: len(page.evaluate(names)) == 3, 10, "the overlay")
    assert page.evaluate(names)[2] == "best so far: asha"
    page.click(choice)
    wait_until(lambda: len(page.evaluate(names)) == 2, 10, "the overlay gone")
    assert page.console_errors() == []


def test_an_asha_run_shows_its_budgets_and_learning_curves(page: Page, board: Any) -> None:
    show(page, board.url + "experiment/asha", "allDrawnAt")
    heads = "[...document.querySelectorAll('.vt-head > div')]"
    column = f"{heads}.findIndex(h => h.dataset.key == 'budget')"
    budgets = page.evaluate(
        f"[...document.querySelectorAll('.vt-row')].map(r => r.children[{column}].innerText)"
    )
    assert {"1", "2", "4"} <= set(budgets)
    curves = "document.querySelector('[data-plot=curves]').data.map(t => t.name)"
    assert "done" in page.evaluate(curves)
    assert page.evaluate("document.querySelector('[data-role=curves-metric]').value") == "loss"
    assert page.console_errors() == [] and page.external_requests() == []


def first_readings(page: Page, experiment: str, token: str = "") -> int:
    """How many times the page has asked for everything of ``experiment`` (an empty
    cursor), with ``token`` (already in the URL's encoding) when given."""
    tail = f"/api/experiments/{experiment}?since=" + (f"&token={token}" if token else "")
    return sum(url.endswith(tail) for url in page.requests())


def test_an_experiment_page_opened_directly_asks_for_its_data_once(page: Page, board: Any) -> None:
    # index.html asks before the page's modules have come; they take that answer.
    before = first_readings(page, "asha")
    show(page, board.url + "experiment/asha")
    assert first_readings(page, "asha") == before + 1
    assert page.evaluate("window.paratuneEarly === undefined")
    assert page.count(".vt-row") > 0 and page.console_errors() == []


def test_an_unknown_experiment_is_said_to_be_unknown(page: Page, board: Any) -> None:
    before = len(page.console_errors())
    page.goto(board.url + "experiment/no-such-run")
    wait_until(lambda: page.count(".error-box"), 30, "the page's answer")
    assert 'No experiment "no-such-run"' in page.text(".error-box")
    assert "no experiment 'no-such-run'" in page.text(".error-box")
    said = page.console_errors()[before:]
    assert said and all("404" in error for error in said)  # the browser logs the answer


def test_the_pages_work_behind_a_token(run_store: Path, page: Page) -> None:
    from paratune.dashboard import start

    guarded = start(run_store, token="a secret")
    try:
        base = guarded.url.split("?")[0]
        show(page, guarded.url)  # with ?token=: the server sets its cookie
        page.click('[data-experiment="quadratic"] a')
        wait_until(lambda: page.count(".vt-row") == 12, 30, "the trials, behind the token")
        before = first_readings(page, "quadratic", "a%20secret")
        show(page, base + "experiment/quadratic?token=a%20secret")  # opened directly
        assert first_readings(page, "quadratic", "a%20secret") == before + 1
        show(page, base + "trial/quadratic/2")  # no token in the URL: the cookie serves
        assert page.text("[data-role=error] .error-box") == "RuntimeError: fails on purpose"
        answer = page.evaluate("fetch('/api/experiments').then(r => r.status)")
        assert answer == 200
        requested = [url for url in page.requests() if url.startswith(base)]
        assert requested and json.dumps(requested).count("token=a%20secret") >= 1
    finally:
        guarded.stop()


def test_a_page_opened_without_console_agents_runs_and_says_it_cannot_see_errors(
    board: Any,
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    with browser_page(width=1280, height=900, console=False) as quiet:
        show(quiet, f"{board.url}experiment/quadratic")
        assert quiet.evaluate("document.querySelectorAll('.js-plotly-plot').length") > 0
        # Errors thrown now would not be seen: the page says so rather than answer "none".
        quiet.evaluate("setTimeout(() => { throw new Error('unseen') }); 1")
        with pytest.raises(RuntimeError, match="does not watch its console"):
            quiet.console_errors()
        assert quiet.external_requests() == []
