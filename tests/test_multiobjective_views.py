"""Seeing a run with several metrics: its hypervolume curve worked out by hand, the front and
hypervolume figures, the report, the live display and the exports."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import paratune as pt
from paratune import analysis, plots
from paratune._trace import build_trace
from paratune.export import export_trials
from paratune.objectives import Objectives
from paratune.pareto import hypervolume
from paratune.progress import ConsoleProgress
from paratune.report import front_configs, report_html
from paratune.result import TuneResult
from paratune.trial import Status, Trial
from paratune.tuner import Progress, StopReason

# One worker, a second per trial: trial i ends at i + 1 s. Trial 2 breaks the memory
# bound; trial 3 fails. Feasible: 0, 1 and 4 (error 0.4, 0.2, 0.3; accuracy 0.6, 0.5, 0.8).
ROWS = [
    {"error": 0.4, "accuracy": 0.6, "memory": 1.0},
    {"error": 0.2, "accuracy": 0.5, "memory": 1.0},
    {"error": 0.1, "accuracy": 0.9, "memory": 9.0},
    None,
    {"error": 0.3, "accuracy": 0.8, "memory": 1.0},
]


def tiny(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    ctx.elapse(1.0)
    row: dict[str, float] | None = ROWS[config["row"]]
    if row is None:
        raise RuntimeError("fails on purpose")
    return row


def run_tiny(**overrides: Any) -> TuneResult:
    arguments: dict[str, Any] = {
        "searcher": "grid",
        "metric": ["error", "accuracy"],
        "mode": ["min", "max"],
        "constraints": {"memory": ("<=", 5.0)},
        "executor": "simulated",
        "workers": 1,
        "store": None,
        "name": "tiny",
    }
    return pt.tune(tiny, {"row": pt.Choice(list(range(len(ROWS))))}, **arguments | overrides)


@pytest.fixture(scope="module")
def result() -> TuneResult:
    return run_tiny()


def test_the_reference_point_is_the_worst_value_and_a_tenth_of_the_range_beyond(
    result: TuneResult,
) -> None:
    # error: worst 0.4, range 0.2 -> 0.42; accuracy (max): worst 0.5, range 0.3 -> 0.47.
    assert analysis.reference_point(result) == pytest.approx({"error": 0.42, "accuracy": 0.47})


def test_the_hypervolume_curve_worked_out_by_hand(result: TuneResult) -> None:
    curve = analysis.hypervolume_curve(result)
    assert curve["time"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert curve["trials"].tolist() == [1, 2, 3, 4, 5]
    # 0: 0.02 x 0.13; 1 adds 0.2 x 0.03; 2 breaks the bound, 3 fails: nothing; 4 (0.3,
    # 0.8) beats 0: 0.1 x 0.03 + 0.12 x 0.33.
    expected = [0.0026, 0.0086, 0.0086, 0.0086, 0.0426]
    assert curve["hypervolume"].tolist() == pytest.approx(expected)
    assert curve.attrs["reference"] == pytest.approx({"error": 0.42, "accuracy": 0.47})


def test_a_reference_given_by_name_or_in_order_in_each_metrics_direction(
    result: TuneResult,
) -> None:
    by_name = analysis.hypervolume_curve(result, {"accuracy": 0.5, "error": 0.5})
    in_order = analysis.hypervolume_curve(result, [0.5, 0.5])
    # After trial 0 alone: (0.5 - 0.4) x (0.6 - 0.5).
    assert by_name["hypervolume"].iloc[0] == pytest.approx(0.01)
    assert in_order["hypervolume"].tolist() == by_name["hypervolume"].tolist()
    with pytest.raises(ValueError, match="one value per metric"):
        analysis.hypervolume_curve(result, [0.5])
    with pytest.raises(ValueError, match="a value for each metric"):
        analysis.hypervolume_curve(result, {"error": 0.5})


def test_no_feasible_trial_has_no_reference_and_a_flat_curve() -> None:
    broken = run_tiny(constraints={"memory": ("<=", 0.5)})
    with pytest.raises(ValueError, match="no feasible trial"):
        analysis.reference_point(broken)
    curve = analysis.hypervolume_curve(broken)
    assert curve["hypervolume"].tolist() == [0.0] * 5 and curve.attrs["reference"] is None


def big_result(n: int, *, metrics: int = 2) -> TuneResult:
    rng = np.random.default_rng(3)
    points = rng.random((n, metrics))
    names = [f"f{j}" for j in range(metrics)]
    trials = [
        Trial(
            trial_id=i,
            config={"x": float(points[i, 0])},
            seed=i,
            status=Status.DONE,
            value=float(points[i, 0]),
            metrics=dict(zip(names, points[i].tolist(), strict=True)),
            started=float(i),
            finished=float(i + 1),
            worker=0,
        )
        for i in range(n)
    ]
    return TuneResult(trial_list=trials, metric="f0", mode="min", workers=1, wall_time=float(n),
                      busy_time=float(n), cancelled_time=0.0, stop_reason=StopReason.MAX_TRIALS,
                      objectives=Objectives.of(names, "min"), name="big")  # fmt: skip


def test_a_long_run_gives_a_few_hundred_points_ending_at_the_whole_front() -> None:
    big = big_result(1_000)
    curve = analysis.hypervolume_curve(big)
    assert len(curve) == analysis_points() and curve["trials"].iloc[-1] == 1_000
    assert curve["hypervolume"].is_monotonic_increasing
    losses = big.trials[["metric.f0", "metric.f1"]].to_numpy()
    reference = list(analysis.reference_point(big).values())
    assert curve["hypervolume"].iloc[-1] == pytest.approx(hypervolume(losses, reference))


def analysis_points() -> int:
    from paratune._hypervolume import POINTS

    return POINTS


def labels(axes: Any) -> dict[str, Any]:
    return {artist.get_label(): artist for artist in [*axes.collections, *axes.lines]}


def test_the_front_figure_of_two_metrics(result: TuneResult) -> None:
    axes = plots.plot_pareto_front(result).axes[0]
    drawn = labels(axes)
    assert axes.get_xlabel() == "error (min)" and axes.get_ylabel() == "accuracy (max)"
    front = drawn["Pareto front"].get_offsets().tolist()
    assert sorted(front) == [[0.2, 0.5], [0.3, 0.8]]  # in each metric's own direction
    assert drawn["trial"].get_offsets().tolist() == [[0.4, 0.6]]
    assert drawn["infeasible"].get_offsets().tolist() == [[0.1, 0.9]]
    stairs = drawn["front (staircase)"]
    assert stairs.get_xdata().tolist() == [0.2, 0.3, 0.3]
    assert stairs.get_ydata().tolist() == [0.5, 0.5, 0.8]


def test_the_front_figure_in_given_axes_and_its_refusals(result: TuneResult) -> None:
    from matplotlib.figure import Figure

    own = Figure()
    axes = own.add_subplot()
    assert plots.plot_pareto_front(result, ax=axes) is own
    assert "Pareto front" in labels(axes)
    one = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=3, store=None,
                  executor="serial")  # fmt: skip
    with pytest.raises(ValueError, match="one metric"):
        plots.plot_pareto_front(one)
    three = big_result(30, metrics=3)
    with pytest.raises(ValueError, match="grid of pairs"):
        plots.plot_pareto_front(three, ax=Figure().add_subplot())


def test_the_front_of_three_metrics_is_a_grid_of_pairs() -> None:
    figure = plots.plot_pareto_front(big_result(30, metrics=3))
    shown = [axes for axes in figure.axes if axes.axison]
    pairs = {(axes.get_xlabel(), axes.get_ylabel()) for axes in shown}
    assert pairs == {("f0 (min)", "f1 (min)"), ("f0 (min)", "f2 (min)"), ("f1 (min)", "f2 (min)")}
    assert all("Pareto front" in labels(axes) for axes in shown)
    drawn = [str(line.get_label()) for axes in shown for line in axes.lines]
    assert not any("staircase" in label for label in drawn)  # a projection has none


def test_the_hypervolume_figure_of_one_run_and_of_several(result: TuneResult) -> None:
    axes = plots.plot_hypervolume(result).axes[0]
    (line,) = axes.lines
    assert np.asarray(line.get_ydata())[-1] == pytest.approx(0.0426)
    assert "reference point: error 0.42, accuracy 0.47" in axes.get_title()
    other = run_tiny(name="other", constraints={"memory": ("<=", 10.0)})
    both = plots.plot_hypervolume({"bounded": result, "looser": other}).axes[0]
    assert [line.get_label() for line in both.lines] == ["bounded", "looser"]
    # One reference for both: the worst over the feasible trials of both runs.
    assert "error 0.43, accuracy 0.46" in both.get_title()
    with pytest.raises(ValueError, match="different metrics"):
        plots.plot_hypervolume([result, big_result(5)])


def test_the_parameters_figure_marks_the_front(result: TuneResult) -> None:
    axes = plots.plot_parameters(result).axes[0]
    assert "Pareto front" in labels(axes)
    assert len(labels(axes)["Pareto front"].get_offsets()) == 2


def test_parallel_coordinates_leave_out_the_trials_with_no_value(result: TuneResult) -> None:
    from matplotlib.collections import LineCollection

    figure = plots.plot_parallel_coordinates(result)
    (lines,) = [c for c in figure.axes[0].collections if isinstance(c, LineCollection)][:1]
    assert len(lines.get_segments()) == 3  # trials 0, 1 and 4: 2 broke a bound, 3 failed
    assert np.isfinite(np.asarray(lines.get_colors())).all()


def test_the_report_of_several_metrics_shows_the_front(result: TuneResult) -> None:
    page = report_html(result)
    assert "<h2>Pareto front</h2>" in page and "<figcaption>The Pareto front</figcaption>" in page
    assert "<figcaption>Hypervolume against wall time</figcaption>" in page
    assert "Best so far" not in page and "Best configurations" not in page
    assert "<th>error</th><th>accuracy</th><th>row</th>" in page
    assert "1 finished trial broke one" in page
    assert "hypervolume<b>0.0426</b>" in page


def test_front_configs_lists_the_front_by_the_first_metric(result: TuneResult) -> None:
    table = front_configs(result)
    assert table.columns.tolist() == ["trial_id", "error", "accuracy", "row", "duration"]
    assert table["trial_id"].tolist() == [1, 4]
    assert front_configs(result, top=1)["trial_id"].tolist() in ([1], [4])


def test_a_run_where_every_trial_failed_draws_and_lists_nothing() -> None:
    def fails(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(1.0)
        raise RuntimeError("fails on purpose")

    failed = pt.tune(fails, {"x": pt.Float(0, 1)}, metric=["error", "accuracy"], max_trials=2,
                     executor="simulated", store=None)  # fmt: skip
    table = front_configs(failed)
    assert table.empty
    assert table.columns.tolist() == ["trial_id", "error", "accuracy", "x", "duration"]
    note = plots.plot_pareto_front(failed).axes[0].texts[0].get_text()
    assert note == "no trial ended with every metric"
    curve = analysis.hypervolume_curve(failed)
    assert curve["hypervolume"].tolist() == [0.0, 0.0]
    assert plots.plot_hypervolume(failed).axes[0].lines[0].get_label() == "hypervolume"


def test_the_report_of_one_metric_with_a_constraint_counts_the_infeasible() -> None:
    single = run_tiny(metric="error", mode="min")
    page = report_html(single)
    assert "Best configurations" in page and "Pareto front</h2>" not in page
    assert "Constraints: memory &lt;= 5. 1 finished trial broke one" in page
    assert "best error (min)<b>0.2</b>" in page
    plain = report_html(run_tiny(metric="error", mode="min", constraints=None))
    assert "Constraints:" not in plain and "Best configurations" in plain


SNAPSHOT = Progress(elapsed=4.0, done=3, failed=0, cancelled=0, pruned=0, running=1,
                    max_trials=8, workers=2, best_value=0.2, best_config={"row": 1})  # fmt: skip


def test_the_live_display_shows_the_front_in_place_of_the_best() -> None:
    def shown(progress: Progress) -> str:
        stream = io.StringIO()
        ConsoleProgress(stream)(progress)
        return stream.getvalue()

    text = shown(dataclasses.replace(SNAPSHOT, front=2))
    assert "Pareto front: 2 trials" in text and "best:" not in text
    assert "best: 0.2" in shown(SNAPSHOT)


def test_the_running_front_is_the_front_of_the_trials_ended_so_far() -> None:
    from paratune._front import front_rows
    from paratune._running_front import RunningFront

    goals = Objectives.of(["a", "b"], ["min", "max"], {"c": ("<=", 0.8)})
    rng = np.random.default_rng(5)
    running, trials = RunningFront(goals), []
    for i in range(300):
        a, b, c = (round(float(v), 1) for v in rng.random(3))  # ties and repeats too
        status = Status.FAILED if i % 17 == 0 else Status.DONE
        metrics = {} if status is Status.FAILED else {"a": a, "b": b, "c": c}
        trial = Trial(trial_id=i, config={}, seed=i, status=status, metrics=metrics)
        running.add(trial)
        trials.append(trial)
        if i % 50 == 49:
            ended = TuneResult(trial_list=trials, metric="a", mode="min", workers=1,
                               wall_time=1.0, busy_time=1.0, cancelled_time=0.0,
                               stop_reason=StopReason.MAX_TRIALS, objectives=goals)  # fmt: skip
            expected = front_rows(ended.trials, goals)["trial_id"].tolist()
            assert sorted(running.trial_ids) == expected and running.size == len(expected)


def test_a_trial_that_ends_again_counts_with_its_latest_result() -> None:
    from paratune._running_front import RunningFront

    running = RunningFront(Objectives.of(["a", "b"], "min"))
    first = Trial(trial_id=0, config={}, seed=0, status=Status.DONE, metrics={"a": 2, "b": 2})
    running.add(first)
    running.add(first._replace(trial_id=1, metrics={"a": 1, "b": 3}))
    assert running.trial_ids == [0, 1]
    running.add(first._replace(metrics={"a": 1, "b": 1}))  # at a higher budget: beats 1
    assert running.trial_ids == [0]
    running.add(first._replace(status=Status.FAILED, metrics={}))
    assert running.size == 0


def test_exports_carry_every_metric_and_the_trace_the_objectives(
    result: TuneResult, tmp_path: Path
) -> None:
    for kind in ("csv", "json", "parquet"):
        path = export_trials(result, tmp_path / f"trials.{kind}")
        if kind == "csv":
            table = pd.read_csv(path)
        elif kind == "json":
            table = pd.DataFrame(json.loads(path.read_text()))
        else:
            table = pd.read_parquet(path)
        assert table["metric.memory"].tolist()[:3] == [1.0, 1.0, 9.0], kind
        assert table["metric.accuracy"].iloc[2] == 0.9 and pd.isna(table["value"].iloc[2])
        assert pd.isna(table["metric.error"].iloc[3])  # the failed trial has none
    other = build_trace(result)["otherData"]
    assert other["objectives"] == {"metrics": ["error", "accuracy"], "modes": ["min", "max"],
                                   "constraints": {"memory": ["<=", 5.0]}}  # fmt: skip
    plain = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=2, store=None,
                    executor="serial")  # fmt: skip
    assert "objectives" not in build_trace(plain)["otherData"]


def test_a_stored_run_exports_its_metrics_and_objectives(tmp_path: Path) -> None:
    run_tiny(store=str(tmp_path / "s.db"))
    stored = pt.load(str(tmp_path / "s.db"), "tiny")
    path = export_trials(stored, tmp_path / "stored.csv")
    assert pd.read_csv(path)["metric.accuracy"].tolist()[:3] == [0.6, 0.5, 0.9]
    assert build_trace(stored)["otherData"]["objectives"]["metrics"] == ["error", "accuracy"]
    assert analysis.hypervolume_curve(stored)["hypervolume"].iloc[-1] == pytest.approx(0.0426)
