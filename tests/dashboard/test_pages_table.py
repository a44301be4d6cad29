"""The experiment page's trials table at scale, in a real headless Chromium served by the
real dashboard: only the rows in view are in the DOM, and sorting, the status filter and the
text filter select what Python selects from the same trials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import paratune as pt
from paratune._browser import find_chromium
from paratune._browser_session import Page, browser_page
from paratune.store import Experiment, RunTotals, SQLiteStore

from .._big_run import big_run
from .._wait import wait_until

TRIALS = 10_000


def write_store(path: Path, result: pt.TuneResult) -> None:
    """Keep ``result`` in a store at ``path`` as its run would have, ended."""
    store = SQLiteStore(path)
    space = {"x": {"type": "float", "low": 0, "high": 1, "log": False},
             "kind": {"type": "choice", "values": ["a", "b", "c"]}}  # fmt: skip
    settings = {"max_trials": len(result.trial_list), "workers": result.workers}
    store.open(Experiment(result.name or "big", space, result.metric, result.mode, 0,
                          settings=settings), resume=False, overwrite=True)  # fmt: skip
    store.save(result.trial_list)
    store.finish(RunTotals(result.wall_time, result.busy_time, 0.0, result.workers, "max_trials"))
    store.close()


@pytest.fixture(scope="module")
def big() -> pt.TuneResult:
    return big_run(TRIALS, workers=16)


def drawn(page: Page) -> bool:
    """Whether the page shown has drawn what it first shows."""
    return bool(page.evaluate("document.getElementById('main').dataset.drawnAt"))


@pytest.fixture(scope="module")
def opened(big: pt.TuneResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """The page of the big experiment in a 1280 x 900 window, open for the module's tests;
    at the end, it had logged no console error and fetched nothing from outside."""
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    from paratune.dashboard import start

    store = tmp_path_factory.mktemp("table") / "big.db"
    write_store(store, big)
    board = start(store)
    try:
        with browser_page(width=1280, height=900) as page:
            page.goto(board.url + "experiment/big")
            wait_until(lambda: drawn(page), 60, "the experiment page")
            yield page
            assert page.console_errors() == []
            assert page.external_requests() == []
    finally:
        board.stop()


@pytest.fixture
def page(opened: Page) -> Page:
    """The page, shown afresh (as a click on a link to it would): no filter, default order."""
    opened.evaluate(
        "history.pushState(null, '', location.pathname);"
        " dispatchEvent(new PopStateEvent('popstate'))"
    )
    wait_until(lambda: drawn(opened), 60, "the experiment page, shown again")
    return opened


def shown(page: Page) -> int:
    """How many trials the table says pass the filter."""
    return int(page.text("[data-role=count]").split(" of ")[0].replace(",", ""))


def type_filter(page: Page, text: str) -> None:
    """Type ``text`` into the table's filter (as one input event)."""
    page.evaluate(
        "(() => { const box = document.querySelector('[data-role=text-filter]');"
        f" box.value = {json.dumps(text)}; box.dispatchEvent(new Event('input')); }})()"
    )


def row_ids(page: Page) -> list[int]:
    """The trial ids of the rows in the DOM, top to bottom."""
    ids = page.evaluate(
        "[...document.querySelectorAll('.vt-row')]"
        ".sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))"
        ".map(r => Number(r.dataset.trialId))"
    )
    return [int(i) for i in ids]


def test_only_the_rows_in_view_are_in_the_dom(page: Page, big: pt.TuneResult) -> None:
    assert page.text("[data-role=count]") == f"{TRIALS:,} of {TRIALS:,} trials"
    rows = page.count(".vt-row")
    assert 10 < rows < 60
    assert row_ids(page)[:3] == [TRIALS - 1, TRIALS - 2, TRIALS - 3]  # newest first
    page.evaluate("document.querySelector('[data-role=trials]').scrollTop = 1e9")
    wait_until(lambda: 0 in row_ids(page), 10, "the last rows, scrolled to")
    assert page.count(".vt-row") < 60


def test_filters_select_what_python_selects(page: Page, big: pt.TuneResult) -> None:
    trials = big.trial_list
    type_filter(page, "x < 0.1")
    assert shown(page) == sum(t.config["x"] < 0.1 for t in trials)
    type_filter(page, "kind = b x >= 0.5")
    assert shown(page) == sum(t.config["kind"] == "b" and t.config["x"] >= 0.5 for t in trials)
    type_filter(page, "purpose")  # a word of the failures' error
    failed = sum(t.status is pt.Status.FAILED for t in trials)
    assert 0 < shown(page) == failed
    type_filter(page, "")
    page.evaluate(
        "(() => { const s = document.querySelector('[data-role=status-filter]');"
        " s.value = 'failed'; s.dispatchEvent(new Event('change')); })()"
    )
    assert shown(page) == failed
    assert page.count('.vt-row:not([data-status="failed"])') == 0
    type_filter(page, "nosuchcolumn > 3")
    assert page.text(".filter-error") == 'no column named "nosuchcolumn"'


def test_a_click_on_a_heading_sorts_by_its_column(page: Page, big: pt.TuneResult) -> None:
    page.click('.vt-head [data-key="value"]')  # ascending: the best first
    done = sorted((t for t in big.trial_list if t.value is not None),
                  key=lambda t: (t.value, t.trial_id))  # fmt: skip
    assert row_ids(page)[:5] == [t.trial_id for t in done[:5]]
    page.click('.vt-head [data-key="value"]')  # descending; trials without a value stay last
    assert row_ids(page)[:1] == [max(done, key=lambda t: (t.value, -t.trial_id)).trial_id]
    page.click('.vt-head [data-key="kind"]')
    assert (
        page.evaluate(
            "document.querySelector('.vt-head [data-key=kind]').getAttribute('aria-sort')"
        )
        == "ascending"
    )
    first = [big.trial_list[i].config["kind"] for i in row_ids(page)[:5]]
    assert first == ["a"] * 5
