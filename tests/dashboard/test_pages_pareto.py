"""The pages of experiments with several metrics and constraints, in a real headless
Chromium: the experiment page's Pareto front panel (for several metrics only: the front the
server sent, highlighted and joined as a staircase, infeasible trials marked apart, a pair
of metrics to choose for three), the trials table's front and feasible columns, the
experiments list's front size, and a new front point arriving without a reload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune._browser import find_chromium
from paratune._browser_session import Page, browser_page
from paratune.store import Experiment, SQLiteStore
from paratune.trial import Status, Trial

from .._wait import wait_until
from .conftest import fetch

SPACE = {"x": pt.Float(0, 1), "y": pt.Float(0, 1)}
PLOT = "document.querySelector('[data-plot=pareto]')"


def objective(config: dict[str, Any]) -> dict[str, float]:
    """Three metrics at odds, and a memory that breaks its bound for large y."""
    x, y = config["x"], config["y"]
    return {"error": x, "latency": (1 - x) ** 2 + y, "accuracy": y - x / 2, "memory": 10 * y}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two metrics (one maximised) with a constraint, three metrics, and one metric."""
    path = tmp_path_factory.mktemp("pareto-pages") / "runs.db"
    common: dict[str, Any] = dict(store=str(path), max_trials=30, seed=5, progress=False)
    pt.tune(objective, SPACE, metric=["error", "accuracy"], mode=["min", "max"],
            constraints={"memory": ("<=", 6)}, name="two", **common)  # fmt: skip
    pt.tune(objective, SPACE, metric=["error", "latency", "accuracy"],
            mode=["min", "min", "max"], name="three", **common)  # fmt: skip
    pt.tune(objective, SPACE, metric="error", name="one", **common)
    return path


@pytest.fixture(scope="module")
def board(store: Path) -> Iterator[Any]:
    from paratune.dashboard import start

    served = start(store)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    # Tall enough for the Pareto front and best-so-far figures, which come first.
    with browser_page(width=1280, height=1500) as opened:
        yield opened


def show(page: Page, url: str) -> None:
    """Open ``url`` and wait until the figures in view are drawn: in place, as the page's
    own links do, when the page shows this dashboard already (plotly is not loaded again)."""
    origin, _, path = url.partition("://")[2].partition("/")
    if page.evaluate("location.host") == origin:
        page.evaluate(f"import('/static/app.js').then(app => app.navigate('/{path}'))")
    else:
        page.goto(url)
    wait_until(lambda: page.evaluate("document.getElementById('main').dataset.drawnAt"), 30,
               f"{url} drawn")  # fmt: skip


def traces(page: Page) -> dict[str, dict[str, Any]]:
    """The Pareto figure's traces by name: their points' trials, line and marker."""
    found: dict[str, dict[str, Any]] = page.evaluate(
        f"Object.fromEntries([...{PLOT}.data].map(t => [t.name, "
        "{ids: t.customdata || null, x: [...t.x], line: t.line?.shape || null, "
        "symbol: t.marker?.symbol || null}]))"
    )
    return found


def column(page: Page, key: str) -> list[str]:
    """The texts of the trials table's column ``key``, row by row (the rows in view)."""
    heads = "[...document.querySelectorAll('.vt-head > div')]"
    at = f"{heads}.findIndex(h => h.dataset.key == '{key}')"
    found: list[str] = page.evaluate(
        f"{at} < 0 ? null : [...document.querySelectorAll('.vt-row')]"
        f".map(r => r.children[{at}].innerText)"
    )
    return found


def test_two_metrics_get_the_pareto_front(page: Page, board: Any, store: Path) -> None:
    result = pt.load(store, "two")
    front = result.pareto_front.sort_values("metric.error")
    show(page, board.url + "experiment/two")
    drawn = traces(page)
    name = f"Pareto front ({len(front)} trials)"
    assert set(drawn) == {"feasible trials", "infeasible trials", name, "staircase"}
    assert drawn[name]["ids"] == front["trial_id"].tolist()  # in order of the first metric
    assert drawn["staircase"]["x"] == front["metric.error"].tolist()
    assert drawn["staircase"]["line"] == "hv" and drawn["infeasible trials"]["symbol"] == "x"
    broken = result.trials[result.trials["metric.memory"] > 6]["trial_id"].tolist()
    assert sorted(drawn["infeasible trials"]["ids"]) == sorted(broken)
    axes = f"[{PLOT}.layout.xaxis.title.text, {PLOT}.layout.yaxis.title.text]"
    assert page.evaluate(axes) == ["error (min)", "accuracy (max)"]
    headline = page.text("[data-role=headline]")
    assert f"Pareto front\n{len(front)} trials" in headline
    assert f"infeasible trials\n{len(broken)}" in headline
    assert "error (min), accuracy (max); subject to memory <= 6" in headline
    best = "document.querySelector('[data-plot=best]').layout.title.text"
    assert page.evaluate(best).startswith("primary metric error (min)")
    assert page.console_errors() == [] and page.external_requests() == []


def test_the_table_says_which_trials_are_on_the_front_and_feasible(
    page: Page, board: Any, store: Path
) -> None:
    result = pt.load(store, "two")
    show(page, board.url + "experiment/two")
    ids = [int(i) for i in column(page, "trial_id")]
    assert len(ids) >= 10  # the rows in view of the table
    on_front = set(result.pareto_front["trial_id"].tolist())
    assert column(page, "pareto") == ["yes" if i in on_front else "" for i in ids]
    memory = result.trials.set_index("trial_id")["metric.memory"]
    assert column(page, "feasible") == ["no" if memory[i] > 6 else "yes" for i in ids]
    # An infeasible trial shows its primary metric, though it has no value.
    errors = result.trials.set_index("trial_id")["metric.error"]
    assert all(text != "" for text in column(page, "value"))
    assert float(column(page, "value")[0]) == pytest.approx(errors[ids[0]])
    page.evaluate(
        "(() => { const f = document.querySelector('[data-role=text-filter]');"
        " f.value = 'front = yes'; f.dispatchEvent(new Event('input')); })()"
    )
    wait_until(lambda: page.count(".vt-row") == len(on_front), 10, "the front's rows")
    assert page.count(".vt-row .flag.yes") == len(on_front)
    # An infeasible trial's page says which constraint it broke.
    broken = int(memory[memory > 6].index[0])
    show(page, board.url + f"trial/two/{broken}")
    assert "value\nnone: breaks memory <= 6" in page.text("main")
    assert page.console_errors() == []


def test_three_metrics_choose_the_pair_to_plot(page: Page, board: Any) -> None:
    show(page, board.url + "experiment/three")
    pairs = "[...document.querySelectorAll('[data-role=pareto-pair] option')].map(o => o.text)"
    assert page.evaluate(pairs) == [
        "latency against error", "accuracy against error", "accuracy against latency"
    ]  # fmt: skip
    assert "staircase" not in traces(page)
    axis = f"{PLOT}.layout.yaxis.title.text"
    assert page.evaluate(axis) == "latency (min)"
    page.evaluate(
        "(() => { const s = document.querySelector('[data-role=pareto-pair]');"
        " s.value = '1,2'; s.dispatchEvent(new Event('change')); })()"
    )
    wait_until(lambda: page.evaluate(axis) == "accuracy (max)", 10, "the other pair drawn")
    assert page.evaluate(f"{PLOT}.layout.xaxis.title.text") == "latency (min)"
    assert page.console_errors() == []


def test_one_metric_has_no_pareto_panel(page: Page, board: Any) -> None:
    show(page, board.url + "experiment/one")
    assert page.count("[data-role=pareto]") == 0 and page.count("[data-plot=pareto]") == 0
    assert column(page, "pareto") is None and column(page, "feasible") is None
    assert "best error (min)" in page.text("[data-role=headline]")
    assert page.console_errors() == []


def test_the_list_shows_the_front_size(page: Page, board: Any, store: Path) -> None:
    page.goto(board.url)
    wait_until(lambda: page.count("[data-experiment=three]"), 30, "the experiments")
    size = len(pt.load(store, "three").pareto_front)
    assert page.text("[data-experiment=three] [data-role=front-size]") == f"{size} on the front"
    assert "error (min), latency (min), accuracy (max)" in page.text("[data-experiment=three]")
    assert page.count("[data-experiment=one] [data-role=front-size]") == 0
    assert page.console_errors() == []


def test_what_the_pareto_module_computes(page: Page, board: Any) -> None:
    show(page, board.url)
    found = page.evaluate("""(async () => {
      const P = await import("/static/pareto.js");
      const e = { metric: "a", mode: "min", metrics: ["a", "b", "c"], modes: ["min", "max", "min"],
                  constraints: [["m", "<=", 2], ["n", ">=", 1]] };
      const trial = (status, metrics, value = null) => ({ status, metrics, value });
      return {
        feasible: [
          P.feasibility(e, trial("done", { m: 2, n: 1 })),
          P.feasibility(e, trial("done", { m: 2.5, n: 1 })),
          P.feasibility(e, trial("done", { m: 1, n: 0 })),
          P.feasibility(e, trial("done", { m: 1 })),
          P.feasibility(e, trial("running", { m: 1, n: 1 })),
        ],
        primary: [P.metricOf(trial("done", {}, 0.5), "a", "a"),
                  P.metricOf(trial("done", { a: "x" }), "a", "a")],
        pairs: P.metricPairs(3),
        text: [P.objectivesText(e), P.objectivesText({ metric: "loss", mode: "max" })],
        plain: [P.plainObjectives(e), P.plainObjectives({ metric: "loss", mode: "min" }),
                P.plainObjectives({ metric: "loss", mode: "min", constraints: [["m", "<=", 1]] })],
        flags: P.flagColumns(e, { frontIds: new Set([7]), frontVersion: 2 })
          .map((c) => [c.key, c.get({ trial_id: 7, status: "done", metrics: { m: 3, n: 1 } }),
                       c.flag, c.version ?? null]),
        none: P.flagColumns({ metric: "loss", mode: "min" }, { frontIds: new Set() }),
        section: P.paretoSection({ metric: "loss", mode: "min" }),
      };
    })()""")
    assert found["feasible"] == [True, False, False, None, None]
    assert found["primary"] == [0.5, None]
    assert found["pairs"] == [[0, 1], [0, 2], [1, 2]]
    assert found["text"] == ["a (min), b (max), c (min); subject to m <= 2, n >= 1", "loss (max)"]
    assert found["plain"] == [False, True, False]
    assert found["flags"] == [["pareto", "yes", "yes", 2], ["feasible", "no", "no", None]]
    assert found["none"] is None and found["section"] is None


# ---- live ---------------------------------------------------------------------------------

GOALS = {"metrics": ["a", "b"], "modes": ["min", "min"], "constraints": {}}


def done(tid: int, a: float, b: float) -> Trial:
    return Trial(tid, {"x": a}, tid, Status.DONE, a, metrics={"a": a, "b": b}, submitted=tid,
                 started=tid, finished=tid + 0.5, worker_time=0.5, worker=0)  # fmt: skip


def test_a_new_front_point_arrives_live(page: Page, board: Any, store: Path) -> None:
    """Another experiment of the store, written as a driver writes it while the page is
    open."""
    space = {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": False}}
    settings = {"scheduler": "fifo", "workers": 1, "objectives": GOALS}
    writer = SQLiteStore(store)
    writer.open(Experiment("live", space, "a", "min", 0, "", settings), resume=False,
                overwrite=False)  # fmt: skip
    writer.save([done(0, 1.0, 3.0), done(1, 3.0, 1.0), done(2, 3.0, 3.0)])
    try:
        show(page, board.url + "experiment/live")
        front = f"{PLOT}.data.find(t => t.name.startsWith('Pareto front')).customdata"
        assert page.evaluate(front) == [0, 1]
        page.evaluate("window.sameDocument = true")  # gone if the page reloads
        writer.save([done(3, 2.0, 2.0)])  # joins the front between trials 0 and 1
        wait_until(lambda: page.evaluate(front) == [0, 3, 1], 30, "the new front point")
        assert page.evaluate("window.sameDocument") is True
        assert "Pareto front\n3 trials" in page.text("[data-role=headline]")
        answer = json.loads(fetch(board.url + "api/experiments/live").body)
        assert [p[0] for p in answer["front"]] == [0, 3, 1]
        assert page.console_errors() == []
    finally:
        writer.close()
