"""The HTML report and the trials export."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import paratune as pt
from paratune import analysis
from paratune._browser import check_page, find_chromium
from paratune.export import export_frame, export_trials
from paratune.report import best_configs, report_html, write_report
from paratune.trial import Report

from ._big_run import big_run


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    ctx.elapse(0.2 + config["x"])
    if config["kind"] == 3 and config["x"] > 0.7:
        raise RuntimeError("fails on purpose")
    return {"loss": (config["x"] - 0.3) ** 2, "size": config["x"] * 10}


@pytest.fixture(scope="module")
def result() -> pt.TuneResult:
    space = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", 3, None]), "epochs": 3}
    return pt.tune(objective, space, metric="loss", executor="simulated", workers=4,
                   max_trials=40, store=None, name="demo <run>")  # fmt: skip


def test_the_page_is_self_contained(result: pt.TuneResult, tmp_path: Path) -> None:
    spec = {"metric": "loss", "note": "<script>alert(1)</script>"}
    page = write_report(result, tmp_path / "out" / "demo.html", spec=spec).read_text()
    assert page.startswith("<!DOCTYPE html>")
    # Nothing to fetch: no URL but the embedded images' data URLs.
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "http://" not in page and "https://" not in page
    images = re.findall(r'<img src="data:image/png;base64,', page)
    assert len(images) == 5  # best so far, timeline, what-if, parameters, parallel coordinates
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "paratune report: demo &lt;run&gt;" in page
    for heading in ("Best configurations", "Worker use", "Resources", "What if", "Parameters",
                    "Spec and settings"):  # fmt: skip
        assert f"<h2>{heading}" in page


def test_busy_worker_time_is_not_called_a_speedup(result: pt.TuneResult) -> None:
    page = report_html(result)
    assert f"busy workers (average)<b>{result.concurrency:.2f}</b>" in page
    assert f"utilisation<b>{result.utilisation:.1%}</b>" in page
    # "speedup" appears only where it is against a sequential run: the what-if replay.
    said = re.sub(r"<[^>]+>", " ", page.split("<h2>What if")[0]).lower()
    assert "speedup" not in said.replace("this is not a speedup, which compares", "")
    assert "speedup_vs_sequential" in page.split("<h2>What if")[1]


def test_learning_curves_appear_when_trials_reported(result: pt.TuneResult) -> None:
    assert "Learning curves" not in report_html(result)
    reports = [Report(0, 1, step, {"loss": 1 / step}, step * 0.1) for step in (1, 2, 3)]
    page = report_html(dataclasses.replace(result, report_list=reports))
    assert "<h2>Learning curves</h2>" in page


def test_best_configs_best_first(result: pt.TuneResult) -> None:
    table = best_configs(result, top=3)
    assert list(table.columns) == ["trial_id", "loss", "x", "kind", "epochs", "duration"]
    assert table["loss"].is_monotonic_increasing and len(table) == 3
    assert table["loss"].iloc[0] == result.best_value


@pytest.mark.parametrize("mode", ["min", "max"])
def test_best_configs_are_those_a_full_sort_gives_ties_included(mode: str) -> None:
    run = big_run(5_000)  # values rounded: hundreds of trials share each value
    tied = [t._replace(value=None if t.value is None else round(t.value, 1))
            for t in run.trial_list]  # fmt: skip
    result = dataclasses.replace(run, trial_list=tied, mode=mode)
    done = result.trials[result.trials["status"] == "done"]
    for top in (1, 10, 400, 10_000):
        expected = done.sort_values(["value", "trial_id"], ascending=[mode == "min", True])
        table = best_configs(result, top=top)
        assert table["trial_id"].tolist() == expected["trial_id"].head(top).tolist()
        assert table["value"].tolist() == expected["value"].head(top).tolist()


def test_the_page_says_of_how_many_trials_it_shows_the_best(result: pt.TuneResult) -> None:
    done = sum(t.status is pt.Status.DONE for t in result.trial_list)
    assert f"<p>The 10 best of {done} finished trials.</p>" in report_html(result)


def test_the_report_of_a_large_run_stays_small() -> None:
    big = big_run(30_000)
    page = report_html(big)
    assert len(page.encode()) < 5_000_000
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 5
    done = sum(t.status is pt.Status.DONE for t in big.trial_list)
    assert f"The 10 best of {done:,} finished trials." in page
    assert page.count("<tr>") < 40  # the best rows and the small tables, not a row a trial
    assert report_html(big_run(30_000)) == page  # the samples are seeded: the same page


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_the_what_if_replay_matches_the_tuning_loop(workers: int) -> None:
    seconds = [0.25, 1.0, 1.0, 2.5, 0.1, 3.0, 0.25, 1.0, 0.7, 0.7, 2.0, 0.3] * 4

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(seconds[config["job"]])  # equal durations too: ties between free workers
        return 0.0

    space = {"job": pt.Int(0, len(seconds) - 1)}
    run = pt.tune(objective, space, searcher="grid", executor="simulated", workers=workers,
                  store=None)  # fmt: skip
    assert len(run.trial_list) == len(seconds)
    counts = [1, 2, 3, 5, 16, 100]
    predicted = analysis.what_if(run, counts)["time"].tolist()
    jobs = {trial.config["job"]: trial.worker_time for trial in run.trial_list}
    replayed = [
        pt.tune(objective, space, searcher="grid", executor="simulated", workers=count,
                store=None).wall_time
        for count in counts
    ]  # fmt: skip
    assert sorted(jobs) == list(range(len(seconds)))
    assert predicted == pytest.approx(replayed, rel=1e-12)  # durations as recorded, rounded
    with pytest.raises(ValueError, match="integer >= 1"):
        analysis.what_if(run, [0])


def test_the_report_in_a_real_browser(result: pt.TuneResult, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    page = write_report(result, tmp_path / "demo.html", spec={"metric": "loss"})
    check = check_page(page, screenshot=tmp_path / "demo.png")
    assert check.console_errors == []
    assert check.external_requests == []
    assert len(check.images) == 5
    assert all(image["ok"] and image["width"] > 0 for image in check.images), check.images
    assert check.screenshot is not None
    assert check.screenshot.read_bytes().startswith(b"\x89PNG")
    assert check.screenshot.stat().st_size > 50_000  # a whole page, not a blank one


def test_the_browser_check_sees_errors_and_broken_images(tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><img src='data:image/png;base64,AAAA'>"
        "<script>console.error('bad thing'); undefined_function();</script></body></html>"
    )
    check = check_page(page)
    assert any("bad thing" in e for e in check.console_errors)
    assert any("undefined_function" in e for e in check.console_errors)
    assert [image["ok"] for image in check.images] == [False]


def test_export_round_trips_csv_json_and_parquet(result: pt.TuneResult, tmp_path: Path) -> None:
    expected = export_frame(result)
    # A choice among a string, a number and None is kept as JSON text (None: empty).
    kinds = {t.config["kind"]: t.trial_id for t in result.trial_list}
    assert set(kinds) == {"a", 3, None}
    column = expected.set_index("trial_id")["config.kind"]
    assert column[kinds["a"]] == json.dumps("a") and column[kinds[3]] == json.dumps(3)
    assert pd.isna(column[kinds[None]])
    back = {
        "csv": pd.read_csv(export_trials(result, tmp_path / "t.csv")),
        "json": pd.read_json(export_trials(result, tmp_path / "t.json"), orient="records"),
        "parquet": pd.read_parquet(export_trials(result, tmp_path / "t.pq", "parquet")),
    }
    for name, frame in back.items():
        assert list(frame.columns) == list(expected.columns), name
        assert frame["trial_id"].tolist() == expected["trial_id"].tolist(), name
        assert frame["seed"].tolist() == expected["seed"].tolist(), name
        assert frame["status"].tolist() == expected["status"].tolist(), name
        pd.testing.assert_series_equal(frame["value"], expected["value"], check_dtype=False)
        pd.testing.assert_series_equal(frame["duration"], expected["duration"])


def test_export_refuses_an_unknown_format(result: pt.TuneResult, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="format must be one of csv, json, parquet, trace, got 'xml'"
    ):
        export_trials(result, tmp_path / "t.xml")


def test_the_browser_check_needs_a_page(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no page at"):
        check_page(tmp_path / "missing.html", chromium="/bin/true")
