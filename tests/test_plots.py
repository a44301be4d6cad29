"""Figures: each is a Figure with the axes it promises, and saves as PNG and SVG."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

import paratune as pt
from paratune import analysis, plots
from paratune.trial import Report


def _ydata(line: Any) -> list[float]:
    return [float(y) for y in line.get_ydata()]


def _legend(axes: Any) -> list[Any]:
    legend = axes.get_legend()
    assert legend is not None
    return list(legend.get_texts())


@pytest.fixture(scope="module")
def result() -> pt.TuneResult:
    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(0.5 + config["x"])
        if config["kind"] == "c" and config["x"] > 0.8:
            raise RuntimeError("fails on purpose")
        return float((config["x"] - 0.3) ** 2 + (config["kind"] == "b"))

    space = {"x": pt.Float(0, 1), "lr": pt.Float(1e-4, 1, log=True),
             "kind": ["a", "b", "c"], "epochs": 3}  # fmt: skip
    return pt.tune(objective, space, executor="simulated", workers=3, max_trials=30,
                   max_time=9, store=None)  # fmt: skip


def test_best_so_far(result: pt.TuneResult) -> None:
    figure = plots.plot_best_so_far(result)
    axes = figure.axes[0]
    assert isinstance(figure, Figure)
    assert axes.get_ylabel() == "value (min)"
    best = analysis.best_so_far(result)
    assert _ydata(axes.lines[0]) == best["best"].tolist()


def test_parameters_draw_one_panel_per_varying_parameter(result: pt.TuneResult) -> None:
    figure = plots.plot_parameters(result)
    assert [a.get_xlabel() for a in figure.axes] == ["x", "lr", "kind"]  # not the constant
    assert figure.axes[1].get_xscale() == "log"  # four decades
    assert {t.get_text() for t in figure.axes[2].get_xticklabels()} == {"a", "b", "c"}


def test_parallel_coordinates_has_one_line_per_finished_trial(result: pt.TuneResult) -> None:
    figure = plots.plot_parallel_coordinates(result)
    done = sum(t.status is pt.Status.DONE for t in result.trial_list)
    lines, axis_lines = figure.axes[0].collections  # the trials', then one per column
    assert isinstance(lines, LineCollection) and len(lines.get_paths()) == done
    assert len(axis_lines.get_paths()) == 4
    assert figure.axes[0].get_title() == "Parallel coordinates"  # every trial: no sample
    labels = [t.get_text().split("\n")[0] for t in figure.axes[0].get_xticklabels()]
    assert labels == ["x", "lr", "kind", "value"]


def test_timeline_has_a_row_per_worker_and_a_bar_per_trial(result: pt.TuneResult) -> None:
    figure = plots.plot_timeline(result)
    bars, below = figure.axes[0], figure.axes[1]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["worker 0", "worker 1", "worker 2"]
    drawn = sum(len(c.get_paths()) for c in bars.collections)
    assert drawn == len(analysis.timeline(result))
    assert len(bars.collections) == len(set(analysis.timeline(result)["status"]))
    assert not bars.images  # bars, not bands, for a run this small
    assert below.get_ylabel() == "busy workers"
    legend = {t.get_text() for t in _legend(bars)}
    assert legend <= {"done", "failed", "cancelled"} and "done" in legend


def test_learning_curves_one_line_per_trial(result: pt.TuneResult) -> None:
    reports = [Report(i, 1, s, {"loss": 1 / s + i}, s * 0.1) for i in (0, 1) for s in (1, 2, 3)]
    reported = dataclasses.replace(result, report_list=reports)
    figure = plots.plot_learning_curves(reported)
    assert len(figure.axes[0].lines) == 2
    assert figure.axes[0].get_ylabel() == "loss"
    with pytest.raises(ValueError, match="'acc' was never reported"):
        plots.plot_learning_curves(reported, "acc")
    empty = plots.plot_learning_curves(result)
    assert "no intermediate results" in empty.axes[0].texts[0].get_text()


def test_scaling_draws_time_speedup_and_efficiency_with_the_ideal_lines() -> None:
    # Counts in any order: drawn by worker count.
    table = analysis.scaling_table([4, 1, 2], [2.5, 8.0, 4.4], startup=[0.4, 0.2, 0.3])
    figure = plots.plot_scaling(table, label="predicted")
    time, speedup, efficiency = figure.axes
    assert _ydata(time.lines[0]) == [8.0, 4.0, 2.0]  # ideal: the sequential time / workers
    assert _ydata(time.lines[1]) == [8.0, 4.4, 2.5]
    assert _ydata(time.lines[2]) == [0.2, 0.3, 0.4]  # the start-up, apart
    assert [t.get_text() for t in _legend(time)] == ["ideal", "predicted", "start-up (apart)"]
    assert _ydata(speedup.lines[0]) == [1, 2, 4]  # ideal: linear
    assert [t.get_text() for t in _legend(speedup)] == ["ideal", "predicted"]
    assert _ydata(efficiency.lines[0]) == [1.0, 1.0]  # ideal: 1
    assert _ydata(efficiency.lines[1]) == [1.0, 8.0 / 4.4 / 2, 8.0 / 2.5 / 4]


def test_time_and_efficiency_against_workers_alone() -> None:
    table = analysis.scaling_table([1, 2], [6.0, 4.0])
    time = plots.plot_time_vs_workers(table).axes
    assert len(time) == 1 and time[0].get_ylabel() == "wall time (s)"
    assert [_ydata(line) for line in time[0].lines] == [[6.0, 3.0], [6.0, 4.0]]  # no start-up
    efficiency = plots.plot_efficiency_vs_workers(table, label="measured").axes
    assert len(efficiency) == 1 and _ydata(efficiency[0].lines[1]) == [1.0, 0.75]
    assert [t.get_text() for t in _legend(efficiency[0])] == ["ideal", "measured"]


@pytest.fixture(scope="module")
def pair() -> dict[str, pt.TuneResult]:
    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(0.2 + config["x"])
        return float(config["x"])

    return {
        label: pt.tune(objective, {"x": pt.Float(0, 1)}, executor="simulated", workers=4,
                       max_trials=12, synchronous=synchronous, store=None, name=label)
        for label, synchronous in (("asynchronous", False), ("synchronous", True))
    }  # fmt: skip


def test_best_so_far_of_several_runs_in_one_figure(pair: dict[str, pt.TuneResult]) -> None:
    by_mapping = plots.plot_best_so_far(pair).axes[0]
    assert [t.get_text() for t in _legend(by_mapping)] == [
        "asynchronous: best so far", "synchronous: best so far"
    ]  # fmt: skip
    for line, result in zip(by_mapping.lines, pair.values(), strict=True):
        assert _ydata(line) == analysis.best_so_far(result)["best"].tolist()
    assert by_mapping.lines[0].get_color() != by_mapping.lines[1].get_color()
    by_sequence = plots.plot_best_so_far(list(pair.values())).axes[0]  # labelled by name
    assert [t.get_text() for t in _legend(by_sequence)] == [
        t.get_text() for t in _legend(by_mapping)
    ]
    unnamed = [dataclasses.replace(r, name="") for r in pair.values()]
    labels = [t.get_text() for t in _legend(plots.plot_best_so_far(unnamed).axes[0])]
    assert labels == ["run 1: best so far", "run 2: best so far"]


def test_best_so_far_refuses_runs_it_cannot_share_an_axis(
    pair: dict[str, pt.TuneResult],
) -> None:
    with pytest.raises(ValueError, match="at least one result"):
        plots.plot_best_so_far({})
    maximised = dataclasses.replace(pair["synchronous"], mode="max")
    with pytest.raises(ValueError, match="different metrics or modes"):
        plots.plot_best_so_far([pair["asynchronous"], maximised])


@pytest.mark.parametrize(
    ("draw", "says"),
    [
        (plots.plot_best_so_far, "no trial finished with a value"),
        (plots.plot_parameters, "no finished trial"),
        (plots.plot_parallel_coordinates, "no finished trial"),
    ],
    ids=["best_so_far", "parameters", "parallel_coordinates"],
)
def test_figures_of_a_run_without_results_say_so(draw: Any, says: str) -> None:
    run = pt.tune(lambda c: float("nan"), {"x": pt.Float(0, 1)}, max_trials=2, store=None)
    assert draw(run).axes[0].texts[0].get_text() == says


def test_save_png_and_svg(result: pt.TuneResult, tmp_path: Path) -> None:
    figure = plots.plot_best_so_far(result)
    png = plots.save(figure, tmp_path / "a" / "best.png")
    svg = plots.save(figure, tmp_path / "best.svg")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in svg.read_bytes()[:1000]
    with pytest.raises(ValueError, match=r"must end in \.png or \.svg"):
        plots.save(figure, tmp_path / "best.jpg")
