"""Figures: each is a Figure with the axes it promises, and saves as PNG and SVG."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
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
    assert len(figure.axes[0].lines) == done
    labels = [t.get_text().split("\n")[0] for t in figure.axes[0].get_xticklabels()]
    assert labels == ["x", "lr", "kind", "value"]


def test_timeline_has_a_row_per_worker_and_a_bar_per_trial(result: pt.TuneResult) -> None:
    figure = plots.plot_timeline(result)
    bars, below = figure.axes[0], figure.axes[1]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["worker 0", "worker 1", "worker 2"]
    assert len(bars.collections) == len(analysis.timeline(result))
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


def test_scaling_has_the_ideal_lines() -> None:
    table = analysis.scaling_table([1, 2, 4], [8.0, 4.4, 2.5])
    figure = plots.plot_scaling(table, label="predicted")
    speedup, efficiency = figure.axes
    assert _ydata(speedup.lines[0]) == [1, 2, 4]  # ideal: linear
    assert [t.get_text() for t in _legend(speedup)] == ["ideal", "predicted"]
    assert _ydata(efficiency.lines[1]) == table["efficiency"].tolist()


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
