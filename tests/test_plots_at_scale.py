"""Figures of large runs: past their thresholds they summarise (the best trials and a seeded
sample, busy bands instead of bars) and say so, so the number of artists stays bounded
however many trials; below the thresholds they draw every trial."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

import paratune as pt
from paratune import _columns, _sampling, _timeline, analysis, plots

from ._big_run import big_run, with_reports

SUMMARISED = _sampling.BEST + _sampling.SAMPLED  # how many trials a summarising figure draws


@pytest.fixture(scope="module")
def big() -> pt.TuneResult:
    return big_run(100_000)


def _done(result: pt.TuneResult) -> int:
    return sum(t.status is pt.Status.DONE for t in result.trial_list)


def _scatter(axes: Any) -> PathCollection:
    return next(c for c in axes.collections if isinstance(c, PathCollection))


def _offsets(points: PathCollection) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.asarray(points.get_offsets(), dtype=float)


def _ydata(line: Any) -> list[float]:
    return [float(y) for y in np.asarray(line.get_ydata(), dtype=float)]


def test_best_so_far_samples_its_points_and_keeps_its_step_line(big: pt.TuneResult) -> None:
    axes = plots.plot_best_so_far(big).axes[0]
    done = _done(big)
    assert len(_offsets(_scatter(axes))) == _sampling.SAMPLED
    assert f"2,000 sampled of {done:,} trials" in axes.get_title()
    (line,) = axes.lines
    best = analysis.best_so_far(big)["best"]
    drawn = _ydata(line)
    # Only where the line steps, and the end: the same line from far fewer points.
    assert len(drawn) < 100
    assert drawn == [*sorted(set(drawn), reverse=True), drawn[-1]]
    assert set(drawn) == set(best) and drawn[-1] == big.best_value
    assert float(np.asarray(line.get_xdata())[-1]) == analysis.best_so_far(big)["time"].iloc[-1]


def test_parameters_draw_the_best_trials_and_a_sample(big: pt.TuneResult) -> None:
    figure = plots.plot_parameters(big)
    note = f"(best 500 + 2,000 sampled of {_done(big):,})"
    assert figure.get_suptitle() == f"value (min) against each parameter {note}"
    done = big.trials[big.trials["status"] == "done"]
    for axes in figure.axes:
        points, star = [c for c in axes.collections if isinstance(c, PathCollection)]
        values = np.sort(_offsets(points)[:, 1])
        assert len(values) == SUMMARISED
        # The best 500 are all there, the best of them starred.
        assert values[:500].tolist() == np.sort(done["value"].to_numpy())[:500].tolist()
        assert float(_offsets(star)[0, 1]) == big.best_value


def test_parallel_coordinates_draw_the_best_trials_and_a_sample(big: pt.TuneResult) -> None:
    axes = plots.plot_parallel_coordinates(big).axes[0]
    lines = axes.collections[0]
    assert isinstance(lines, LineCollection) and len(lines.get_paths()) == SUMMARISED
    assert axes.get_title() == f"Parallel coordinates (best 500 + 2,000 sampled of {_done(big):,})"
    assert len(axes.lines) == 0  # one collection, not an artist per trial


def test_timeline_draws_busy_bands_past_the_bar_limit(big: pt.TuneResult) -> None:
    figure = plots.plot_timeline(big)
    bands, below = figure.axes
    assert len(bands.images) == 1 and not bands.collections  # one image, no bar
    assert len(bands.get_children()) < 60 and len(below.get_children()) < 60
    assert np.asarray(bands.images[0].get_array()).shape == (64, _timeline.BINS, 3)
    assert "busy share per worker in 400 time bins (100,000 trials)" in bands.get_title()
    assert below.get_ylabel() == "busy workers (mean per bin)"
    assert figure.get_size_inches()[1] <= 2.0 + 6.0 + 1.4  # 64 rows fit a page
    # The busy workers below, over the bins, add up to the run's busy worker-time.
    (line,) = below.lines[:1]
    busy = np.asarray(_ydata(line))[:-1]
    assert busy.sum() * big.wall_time / _timeline.BINS == pytest.approx(big.busy_time)


def test_the_summary_is_the_same_every_time(big: pt.TuneResult) -> None:
    first, again = plots.plot_parameters(big), plots.plot_parameters(big)
    for one, other in zip(first.axes, again.axes, strict=True):
        assert np.array_equal(_offsets(_scatter(one)), _offsets(_scatter(other)))
    drawn = [_offsets(_scatter(plots.plot_best_so_far(big).axes[0])) for _ in range(2)]
    assert np.array_equal(drawn[0], drawn[1])


def test_learning_curves_of_many_trials_draw_the_best_and_a_sample() -> None:
    reported = with_reports(big_run(1_000, workers=8, failures=False))
    axes = plots.plot_learning_curves(reported).axes[0]
    limit = _sampling.CURVES_BEST + _sampling.CURVES_SAMPLED
    assert len(axes.lines) == limit
    assert axes.get_title() == "Learning curves (best 100 + 400 sampled of 1,000 trials)"
    # The best trial's curve is among them: its last report is the lowest drawn.
    assert min(_ydata(line)[-1] for line in axes.lines) == (reported.best_value or 0.0) + 1 / 3


def test_below_the_thresholds_every_trial_is_drawn() -> None:
    run = big_run(SUMMARISED, workers=64, failures=False)  # bars: 2,500, 40 a worker
    assert not _timeline.summarises(analysis.timeline(run))
    parameters = plots.plot_parameters(run)
    assert parameters.get_suptitle() == "value (min) against each parameter"
    assert len(_offsets(_scatter(parameters.axes[0]))) == SUMMARISED
    best_so_far = plots.plot_best_so_far(run).axes[0]
    assert best_so_far.get_title() == "Best so far against wall time"
    assert len(_ydata(best_so_far.lines[0])) == SUMMARISED
    timeline = plots.plot_timeline(run).axes[0]
    assert not timeline.images and sum(len(c.get_paths()) for c in timeline.collections) == 2500
    more = plots.plot_parameters(big_run(SUMMARISED + 1, failures=False))
    assert more.get_suptitle().endswith("(best 500 + 2,000 sampled of 2,501)")


def test_when_the_timeline_summarises() -> None:
    def bars(per_worker: list[int]) -> pd.DataFrame:
        workers = np.repeat(np.arange(len(per_worker)), per_worker)
        return pd.DataFrame({"worker": workers, "start": 0.0, "end": 1.0, "status": "done"})

    limit, per = _timeline.MAX_BARS, _timeline.MAX_BARS_PER_WORKER
    assert not _timeline.summarises(bars([]))
    assert not _timeline.summarises(bars([per] * (limit // per)))
    assert _timeline.summarises(bars([per] * (limit // per) + [1]))  # too many in all
    assert _timeline.summarises(bars([per + 1]))  # too many on one row
    rows = _timeline.MAX_ROWS
    assert not _timeline.summarises(bars([1] * rows), rows)
    assert _timeline.summarises(bars([1] * (rows + 1)), rows + 1)  # a figure too tall
    assert not _timeline.summarises(bars([]), rows + 1)  # nothing to draw: a note


def test_busy_shares_split_each_bar_over_its_bins() -> None:
    bars = pd.DataFrame(
        {
            "worker": [0, 0, 1],
            "start": [0.0, 2.5, 1.0],
            "end": [1.5, 4.0, 4.0],
            "status": ["done", "failed", "done"],
        }
    )
    edges, shares = _timeline.busy_shares(bars, rows=2, end=4.0, bins=4)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert shares["done"].tolist() == [[1.0, 0.5, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]]
    assert shares["failed"].tolist() == [[0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0]]


def test_best_and_sampled_keeps_the_best_and_the_order() -> None:
    frame = pd.DataFrame({"trial_id": range(10), "value": [5, 3, 9, 1, 1, 7, 2, 8, 6, 4]})
    assert _sampling.best_and_sampled(frame, "min", best=3, sampled=7) == (frame, "")
    rows, note = _sampling.best_and_sampled(frame, "min", best=2, sampled=3)
    assert note == "best 2 + 3 sampled of 10"
    assert len(rows) == 5 and rows["trial_id"].is_monotonic_increasing
    assert {3, 4} <= set(rows["trial_id"])  # the two 1s, the best
    most, _ = _sampling.best_and_sampled(frame, "max", best=1, sampled=1)
    assert 2 in set(most["trial_id"])  # the 9
    again, _ = _sampling.best_and_sampled(frame, "min", best=2, sampled=3)
    assert rows.equals(again)


def test_sample_positions_and_the_note() -> None:
    assert _sampling.sample_positions(3, 5).tolist() == [0, 1, 2]
    drawn = _sampling.sample_positions(1_000, 10)
    assert len(set(drawn.tolist())) == 10 and drawn.tolist() == sorted(drawn.tolist())
    assert drawn.tolist() == _sampling.sample_positions(1_000, 10).tolist()
    assert _sampling.sampled_note(5, 5) == ""
    assert _sampling.sampled_note(2_000, 12_345, "trials") == "2,000 sampled of 12,345 trials"


def test_the_columns_the_parameter_figures_read() -> None:
    trials = pd.DataFrame(
        {
            "config.x": [0.5, 0.25, 0.5],
            "config.epochs": [3, 3, 3],
            "config.mixed": pd.Series([1, 1.0, 1], dtype=object),  # equal, but read apart
            "config.layers": [[1, 2], [1, 2], [3]],  # unhashable: compared as text
            "config.kind": ["b", "a", "b"],
            "value": [1.0, 2.0, 3.0],
        }
    )
    assert _columns.config_columns(trials) == ["config.x", "config.mixed", "config.layers",
                                               "config.kind"]  # fmt: skip
    assert _columns.choices(trials["config.kind"]) == ["b", "a"]  # as first tried
    assert _columns.choices(trials["config.mixed"]) == ["1", "1.0"]
    assert _columns.choices(trials["config.layers"]) == ["[1, 2]", "[3]"]
    assert _columns.numeric(trials["config.x"]) and not _columns.numeric(trials["config.kind"])
    assert _columns.wide(pd.Series([1e-4, 1.0])) and not _columns.wide(pd.Series([1.0, 50.0]))


def test_a_timeline_of_many_workers_draws_bands_that_fit_a_page() -> None:
    figure = plots.plot_timeline(big_run(400, workers=200))
    bands = figure.axes[0]
    assert len(bands.images) == 1 and not bands.collections
    assert figure.get_size_inches()[1] <= 2.0 + 6.0 + 1.4  # not 0.28 inch a worker
    assert bands.get_ylabel() == "worker" and len(bands.get_yticks()) <= 12


def test_best_so_far_of_several_large_runs_samples_each() -> None:
    runs = {"one": big_run(3_000, failures=False), "two": big_run(2_600, failures=False)}
    axes = plots.plot_best_so_far(runs).axes[0]
    assert axes.get_title().endswith("(points: 2,000 sampled of each run over 2,500 trials)")
    points = [c for c in axes.collections if isinstance(c, PathCollection)]
    assert [len(_offsets(c)) for c in points] == [2_000, 2_000]
    legend = axes.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == [
        "one: best so far", "two: best so far"
    ]  # fmt: skip
