"""B19 dashboard page: the experiment page of a 100,000-trial store, served by the real
dashboard (`paratune.dashboard.start`) and measured in headless Chromium: its first load
until the trials table and the figures in view are drawn, the same with every figure of
the page drawn, and a filter of the trials table.

The store is built as the simulated executor would have run the trials on 64 workers (B16's
run: a float, a log-scaled float, an integer, a three-way choice and a constant; a few
trials fail), and written with the store's own `SQLiteStore`. Every load is a fresh browser
(no cache, nothing compiled), the times read in the page (``performance.now()``, from the
start of navigation), with DevTools' runtime and console agents off as in a user's browser
(one untimed visit before, with them on, checks that the page logs no error). The server
has read the store once before: its first reading of 100,000 trials, and the efficiency
analysis behind the what-if figure, are the server's cost, shown in the notes (B19's
server side, ``b19_dashboard.py``, measures those).

``--screenshots`` instead runs a small real experiment (and a second one to compare) on the
process executor and writes the docs' screenshots of the dashboard: ``docs/dashboard-list.png``
and ``docs/dashboard-experiment.png`` (``--out`` for another folder).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    add_option_arguments,
    fmt_s,
    median,
    options_from,
    print_header,
)
from b16_report import build_run

import paratune as pt
from paratune._browser_session import Page, browser_page
from paratune.store import Experiment, RunTotals, SQLiteStore

TITLE = "B19 dashboard page"
SIZE, QUICK_SIZE = 100_000, 10_000
WORKERS = 64
GOAL_LOAD_S = 2.0
GOAL_FILTER_MS = 200.0
VISITS = 3
"""Visits of the page in one browser: the third uses what the browser kept of the first two
(the files, and the code it compiled from plotly.min.js)."""
FILTERS = ("x < 0.5", "kind = b", "purpose", "lr > 0.01 n = 4", "x > 0.25 kind != c", "")
"""What is typed into the trials table's filter, each timed (the last clears it)."""
SPACE = {
    "x": {"type": "float", "low": 0.0, "high": 1.0, "log": False},
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "n": {"type": "int", "low": 1, "high": 8, "log": False},
    "kind": {"type": "choice", "values": ["a", "b", "c"]},
    "epochs": 3,
}
DOCS = Path(__file__).resolve().parents[1] / "docs"


def write_store(path: Path, result: pt.TuneResult) -> None:
    """Keep ``result`` (B16's run) in a store at ``path``, ended as its run would be."""
    store = SQLiteStore(path)
    settings = {"max_trials": len(result.trial_list), "workers": result.workers}
    experiment = Experiment(result.name or "b19", SPACE, result.metric, result.mode, 0,
                            settings=settings)  # fmt: skip
    store.open(experiment, resume=False, overwrite=True)
    store.save(result.trial_list)
    store.finish(RunTotals(result.wall_time, result.busy_time, 0.0, result.workers, "max_trials"))
    store.close()


def _wait_for(page: Page, expression: str, deadline: float = 120.0) -> Any:
    """Poll the page until ``expression`` is true; its value."""
    end = time.monotonic() + deadline
    while not (value := page.evaluate(expression)):
        if time.monotonic() > end:
            raise TimeoutError(f"waited {deadline:g} s for {expression} in the page")
        time.sleep(0.02)
    return value


def _marks(page: Page, mark: str) -> dict[str, float]:
    """Wait until the page sets ``main.dataset[mark]``; every mark set by then, in ms."""
    _wait_for(page, f"document.getElementById('main').dataset.{mark} || ''")
    marks = page.evaluate("JSON.stringify(document.getElementById('main').dataset)")
    return {key: float(value) for key, value in json.loads(marks).items()}


def load_ms(url: str, height: int, mark: str, visits: int = 1) -> list[dict[str, float]]:
    """Open ``url`` ``visits`` times in a fresh browser with a 1280 x ``height`` window; the
    page's marks (ms from navigation) each time once ``mark`` is set: ``tableAt`` (the table
    drawn), ``drawnAt`` (and the figures in view), ``allDrawnAt`` (every figure). DevTools'
    console agents stay off, as in a user's browser (`check_page` watches the console)."""
    found = []
    with browser_page(width=1280, height=height, timeout=180, console=False) as page:
        # The browser's own start (its page process for the server's origin) is not the
        # page's: the experiments list first (which runs no plotly), then an empty cache.
        page.goto(url.split("/experiment/")[0] + "/")
        _marks(page, "drawnAt")
        page.clear_cache()
        for _ in range(visits):
            page.goto(url)
            found.append(_marks(page, mark))
        if outside := page.external_requests():
            raise RuntimeError(f"the page fetched from outside: {outside}")
    return found


def check_page(url: str) -> None:
    """Open ``url`` once, untimed, watching the console: the page must log no error.

    Raises:
        RuntimeError: naming what the page logged.
    """
    with browser_page(width=1280, height=900, timeout=180) as page:
        page.goto(url)
        _marks(page, "drawnAt")
        if errors := page.console_errors():
            raise RuntimeError(f"the page logged {errors}")


_TYPE_AND_PAINT = """
(async () => {
  const box = document.querySelector('[data-role=text-filter]');
  const started = performance.now();
  box.value = %s;
  box.dispatchEvent(new Event('input'));
  await new Promise(done => requestAnimationFrame(() => setTimeout(done)));
  return [performance.now() - started,
          Number(document.querySelector('[data-role=table]').dataset.filterMs)];
})()
"""


def filter_ms(url: str, rounds: int) -> tuple[list[float], list[float]]:
    """Each of `FILTERS` typed ``rounds`` times into the table's filter of the page at
    ``url``: ms until the next frame is painted, and ms of the filtering and row drawing
    alone."""
    painted, work = [], []
    with browser_page(width=1280, height=900, timeout=180) as page:
        page.goto(url)
        _marks(page, "drawnAt")
        for _ in range(rounds):
            for text in FILTERS:
                total, own = page.evaluate(_TYPE_AND_PAINT % json.dumps(text))
                painted.append(float(total))
                work.append(float(own))
    return painted, work


def _get_seconds(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url) as answer:
        answer.read()
    return time.perf_counter() - started


def measure(trials: int, repeats: int) -> dict[str, Any]:
    """Every figure of the table for a store of ``trials`` trials."""
    from paratune.dashboard import start

    with tempfile.TemporaryDirectory(prefix="paratune-b19-") as folder:
        store = Path(folder) / "b19.db"
        write_store(store, build_run(trials, WORKERS))
        board = start(store)
        try:
            name = f"b16-{trials}"
            api = f"{board.url}api/experiments/{name}"
            server = {"read": _get_seconds(f"{api}?since="),
                      "efficiency": _get_seconds(f"{api}/efficiency")}  # fmt: skip
            page = f"{board.url}experiment/{name}"
            check_page(page)
            visits = [load_ms(page, 900, "drawnAt", VISITS) for _ in range(repeats)]
            whole = [load_ms(page, 4400, "allDrawnAt")[0] for _ in range(repeats)]
            painted, work = filter_ms(page, repeats)
        finally:
            board.stop()
    return {"server": server, "view": [v[0] for v in visits], "again": [v[-1] for v in visits],
            "whole": whole, "painted": painted, "work": work}  # fmt: skip


def _seconds(loads: list[dict[str, float]], mark: str) -> float:
    return median(load[mark] for load in loads) / 1000


def _load_row(label: str, window: str, loads: list[dict[str, float]], mark: str) -> Row:
    return Row(
        label, [window, fmt_s(_seconds(loads, "tableAt"), 2), fmt_s(_seconds(loads, mark), 2)]
    )


def tables(trials: int, repeats: int, found: dict[str, Any]) -> list[Table]:
    """The loads and the filter, judged by their goals."""
    runs = f"median of {repeats} fresh browsers" if repeats > 1 else "1 fresh browser"
    loads = Table(f"{TITLE}: the experiment page of {trials:,} trials, first load, {runs}",
                  ["window", "table drawn s", "figures drawn s"])  # fmt: skip
    first = _seconds(found["view"], "drawnAt")
    row = _load_row("page, figures in view", "1280 x 900", found["view"], "drawnAt")
    row.goal, row.passed, row.achieved = (
        f"< {GOAL_LOAD_S:g} s",
        first < GOAL_LOAD_S,
        f"{first:.2f} s",
    )
    loads.add(row)
    again = f"page, figures in view, visit {VISITS}"
    loads.add(_load_row(again, "1280 x 900", found["again"], "drawnAt"))
    loads.add(_load_row("page, every figure", "1280 x 4400", found["whole"], "allDrawnAt"))
    server = found["server"]
    loads.notes += [
        "ms from the start of navigation, read in the page: the trials table drawn, then the "
        "figures in view (a figure out of view is drawn when scrolled to), or every figure "
        "(a window tall enough to show the whole page). A fresh browser each time, its first "
        "visit: nothing cached, plotly.min.js (4.8 MB) compiled (on a second thread, as "
        "the server's hint asks) and run; "
        f"visit {VISITS}: the same browser again, the files and plotly's compiled code "
        "cached. Timed with DevTools' runtime and console agents off, as in a user's browser "
        "(with them on, as the page tests run, plotly's first run took about 0.5 s more); "
        "an untimed visit first checks that the page logs no error.",
        f"Not timed above: the server's first reading of the store, {server['read']:.2f} s "
        f"for the trials and {server['efficiency']:.2f} s for the efficiency analysis "
        "(what-if replay included); pages after the first get what it keeps.",
    ]
    painted, work = median(found["painted"]), median(found["work"])
    title = f"{TITLE}: a filter typed into the trials table of {trials:,} trials"
    filters = Table(f"{title}, median of {len(found['painted'])}",
                    ["filtering ms", "until painted ms"])  # fmt: skip
    row = Row("trials table filter", [f"{work:.1f}", f"{painted:.1f}"])
    row.goal, row.passed = f"< {GOAL_FILTER_MS:g} ms", painted < GOAL_FILTER_MS
    row.achieved = f"{painted:.0f} ms"
    filters.add(row)
    filters.notes.append(
        "filtering ms: the filter and the rows in view redrawn (the input event's own work); "
        "until painted: from typing to the next frame painted. Filters, each in turn: "
        + ", ".join(repr(f) for f in FILTERS)
        + " (the last clears it)."
    )
    return [loads, filters]


def run(options: Options) -> list[Table]:
    trials = options.size(SIZE, QUICK_SIZE)
    repeats = options.repeat or (1 if options.quick else 3)
    return tables(trials, repeats, measure(trials, repeats))


# ---- the docs' screenshots -------------------------------------------------------------------


def train(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """A small training-like objective: reports a loss after each of four steps, and fails
    for a large learning rate with SGD (to show a failed trial)."""
    loss = 1.0
    for step in range(1, 5):
        ctx.elapse(0.01 * config["width"])
        loss = (math.log10(config["lr"]) + 1.5) ** 2 / 4 + 0.3 / step + 0.02 * config["width"]
        ctx.report(step, loss=loss)
    if config["optimizer"] == "sgd" and config["lr"] > 0.3:
        raise FloatingPointError("the loss diverged (lr too large for SGD)")
    return {"loss": loss, "accuracy": 1 - loss / 3}


def held(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """`train`, but trials from the 24th on wait for the file ``config["gate"]``: a run
    still going while the list is photographed."""
    if ctx.trial_id >= 24:
        while not Path(config["gate"]).exists():
            time.sleep(0.05)
    return train(config, ctx)


def screenshots(folder: Path) -> list[Path]:
    """Run two small experiments on the process executor, and a third one held half-way,
    and write the dashboard's list and experiment pages as PNGs in ``folder``."""
    from paratune.dashboard import start

    space = {"lr": pt.Float(1e-4, 1.0, log=True), "width": pt.Choice([1, 2, 4]),
             "optimizer": pt.Choice(["adam", "sgd"]), "epochs": 4}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="paratune-b19-") as work:
        store, gate = Path(work) / "paratune.db", Path(work) / "gate"
        for name, searcher in (("lr-random", "random"), ("lr-tpe", "tpe")):
            pt.tune(train, space, metric="loss", searcher=searcher, executor="processes",
                    workers=4, max_trials=60, store=str(store), name=name, seed=1)  # fmt: skip
        going = threading.Thread(target=pt.tune, args=(held, {**space, "gate": str(gate)}),
                                 kwargs=dict(metric="loss", searcher="sobol", workers=4,
                                             executor="processes", max_trials=60, seed=2,
                                             store=str(store), name="lr-sobol"))  # fmt: skip
        going.start()
        board = start(store)
        try:
            made = _photograph(board.url, folder)
        finally:
            board.stop()
            gate.touch()
            going.join()
    return made


def _photograph(url: str, folder: Path) -> list[Path]:
    with browser_page(width=1280, height=260) as page:
        page.goto(url)
        _wait_for(page, "document.querySelector('[data-experiment=lr-sobol] [data-role=progress]')"
                        "?.innerText.includes('4 running')")  # fmt: skip
        made = [page.screenshot(folder / "dashboard-list.png")]
        page.resize(1280, 3900)
        page.goto(f"{url}experiment/lr-tpe")
        _marks(page, "allDrawnAt")
        choice = '[data-role=overlays] input[value="lr-random"]'
        _wait_for(page, f"!!document.querySelector({json.dumps(choice)})")
        page.click(choice)
        _wait_for(page, "document.querySelector('[data-plot=best]').data.length == 3")
        made.append(page.screenshot(folder / "dashboard-experiment.png"))
        if page.console_errors() or page.external_requests():
            raise RuntimeError("the page logged errors or fetched from outside")
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=TITLE)
    add_option_arguments(parser)
    parser.add_argument("--screenshots", action="store_true",
                        help="write the docs' screenshots of the dashboard instead")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DOCS, help="their folder (default: docs/)")
    args = parser.parse_args(argv)
    if args.screenshots:
        for path in screenshots(args.out):
            print(f"wrote {path}")
        return
    options = options_from(args)
    print_header(TITLE, options)
    for table in run(options):
        table.print()


if __name__ == "__main__":
    main()
