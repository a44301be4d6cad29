"""Figures of a run, drawn with matplotlib from what `paratune.analysis` computes.

Each function returns a `matplotlib.figure.Figure` (built without pyplot, so nothing is
shown and no global state is touched: safe in scripts, tests and threads); `save` writes
one as PNG or SVG. matplotlib is an optional dependency: ``pip install 'paratune[report]'``.

>>> import paratune as pt
>>> from paratune import plots
>>> result = pt.tune(lambda c: (c["x"] - 1) ** 2, {"x": pt.Float(-2, 2)}, max_trials=10,
...                  store=None)
>>> figure = plots.plot_best_so_far(result)
>>> figure.axes[0].get_xlabel()
'wall time (s)'
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _columns, _sampling, _timeline, analysis

# Re-exported: the figures of a run with several metrics live in a module of their own.
from ._plots_pareto import plot_hypervolume as plot_hypervolume
from ._plots_pareto import plot_pareto_front as plot_pareto_front

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .result import TuneResult

STATUS_COLOURS = {
    "done": "#2a9d8f",
    "pruned": "#e9c46a",
    "failed": "#e63946",
    "cancelled": "#8d99ae",
    "interrupted": "#b8c0cc",
    "running": "#457b9d",
}
"""The colour of each trial status in every figure."""

_IDEAL: dict[str, Any] = {"color": "#6c757d", "linestyle": "--", "linewidth": 1.0}


def _figure(width: float = 7.0, height: float = 4.0, **kwargs: Any) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # an optional extra: say how to get it
        raise ImportError(
            "paratune's figures need matplotlib: pip install 'paratune[report]'"
        ) from exc
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def _note(axes: Axes, message: str) -> None:
    """An empty panel that says why it is empty."""
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _metric_label(result: TuneResult) -> str:
    return f"{result.metric} ({result.mode})"


def plot_best_so_far(
    results: TuneResult | Mapping[str, TuneResult] | Sequence[TuneResult],
) -> Figure:
    """Every finished trial's value against the wall time it finished at, and the best value
    so far as a step line: of one run, or of several in one figure (asynchronous against
    synchronous, one searcher against another), each in a colour of its own.

    Args:
        results: a result; or a mapping of label to result; or a sequence of results,
            labelled by their names (``run 1``, ``run 2``, ... for unnamed or repeated ones).

    Raises:
        ValueError: no result, or results of different metrics or modes.
    """
    runs = _labelled(results)
    figure = _figure()
    axes = figure.add_subplot()
    several = len(runs) > 1
    drawn, sampled = 0, ""
    for index, (label, result) in enumerate(runs.items()):
        table = analysis.best_so_far(result)
        if table.empty:
            continue
        drawn += 1
        own = _PALETTE[index % len(_PALETTE)]
        # Past a few thousand trials: a sample of the points, and the line where it steps.
        many = len(table) > _sampling.BEST + _sampling.SAMPLED
        points = (
            table.iloc[_sampling.sample_positions(len(table), _sampling.SAMPLED)]
            if many
            else table
        )
        sampled = sampled or _sampling.sampled_note(len(points), len(table), "trials")
        axes.scatter(
            points["time"],
            points["value"],
            s=14,
            color=own if several else STATUS_COLOURS["done"],
            alpha=0.35 if several else 0.6,
            label=None if several else "trial",
        )
        steps = _steps(table) if many else table
        axes.step(
            steps["time"],
            steps["best"],
            where="post",
            color=own,
            label=f"{label}: best so far" if several else "best so far",
        )
    if not drawn:
        _note(axes, "no trial finished with a value")
        return figure
    first = next(iter(runs.values()))
    axes.set_xlabel("wall time (s)")
    axes.set_ylabel(_metric_label(first))
    title = "Best so far against wall time"
    if sampled and several:
        limit = _sampling.BEST + _sampling.SAMPLED
        title += f"\n(points: {_sampling.SAMPLED:,} sampled of each run over {limit:,} trials)"
    elif sampled:
        title += f"\n(points: {sampled})"
    axes.set_title(title)
    axes.legend(loc="best")
    return figure


def _steps(table: pd.DataFrame) -> pd.DataFrame:
    """The rows where the best so far changed, and the last one: the same step line."""
    import numpy as np

    best = table["best"].to_numpy()
    keep = np.ones(len(best), dtype=bool)
    keep[1:-1] = best[1:-1] != best[:-2]
    return table[keep]


# Colours of the runs drawn together in one figure.
_PALETTE = ("#264653", "#e76f51", "#2a9d8f", "#8338ec", "#f4a261", "#457b9d", "#e63946")


def _labelled(
    results: TuneResult | Mapping[str, TuneResult] | Sequence[TuneResult],
) -> dict[str, TuneResult]:
    """The runs to draw, by label: a mapping as it is; a sequence by name, made unique."""
    from .result import TuneResult

    runs: dict[str, TuneResult] = {}
    if isinstance(results, TuneResult):
        runs[results.name or "run"] = results
    elif isinstance(results, Mapping):
        runs.update(results)
    else:
        for index, result in enumerate(results):
            label = result.name or f"run {index + 1}"
            runs[label if label not in runs else f"run {index + 1}"] = result
    if not runs:
        raise ValueError("results: give at least one result")
    kinds = {(r.metric, r.mode) for r in runs.values()}
    if len(kinds) > 1:
        raise ValueError(f"results: the runs tune different metrics or modes: {sorted(kinds)}")
    return runs


def plot_parameters(result: TuneResult) -> Figure:
    """The metric against each parameter that varies, one panel each (finished trials; the
    best one marked with a star). With several metrics: the first one, and the trials of
    the Pareto front marked."""
    trials = result.trials
    done, sampled = _sampling.best_and_sampled(trials[trials["status"] == "done"], result.mode)
    columns = _columns.config_columns(trials)
    cols = min(3, max(1, len(columns)))
    rows = max(1, math.ceil(len(columns) / cols))
    figure = _figure(4.0 * cols, 3.2 * rows)
    if done.empty or not columns:
        _note(figure.add_subplot(), "no finished trial" if done.empty else "no parameter varies")
        return figure
    marked, mark = _marked(result)
    # The marked trials are drawn even where the rest is a sample of the finished ones.
    missing = trials.index[trials["trial_id"].isin(marked)].difference(done.index)
    done = trials.loc[done.index.union(missing)] if len(missing) else done
    for index, column in enumerate(columns):
        axes = figure.add_subplot(rows, cols, index + 1)
        name = column.removeprefix("config.")
        values = done[column]
        if _columns.numeric(values):
            x = values.astype(float)
            if _columns.wide(x):
                axes.set_xscale("log")
        else:
            labels = _columns.choices(trials[column])
            position = {label: i for i, label in enumerate(labels)}
            x = values.astype(str).map(position).astype(float)
            axes.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 4 else 0)
        axes.scatter(x, done["value"], s=14, color=STATUS_COLOURS["done"], alpha=0.7)
        if marked:
            row = done[done["trial_id"].isin(marked)]
            axes.scatter(x[row.index], row["value"], marker="*", s=160, color="#e76f51",
                         zorder=3, label=mark)  # fmt: skip
        axes.set_xlabel(name)
        axes.set_ylabel(result.metric)
    first = f", the first of {len(result.goals.metrics)} metrics," if result.goals.several else ""
    figure.suptitle(
        f"{_metric_label(result)}{first} against each parameter"
        + (f" ({sampled})" if sampled else "")
    )
    return figure


def _marked(result: TuneResult) -> tuple[set[int], str]:
    """The trials a figure of the parameters marks, and what they are: the best one, or
    with several metrics those on the Pareto front."""
    if result.goals.several:
        return set(result.pareto_front["trial_id"].tolist()), "Pareto front"
    best = result.best_trial
    return set() if best is None else {best.trial_id}, "best"


def plot_parallel_coordinates(result: TuneResult) -> Figure:
    """One line per finished trial across every parameter that varies (each scaled to its
    range; choices evenly spaced) and the metric, coloured by the metric. A trial that
    broke a constraint has no value to colour it by and is left out."""
    trials = result.trials
    valued = (trials["status"] == "done") & trials["value"].notna()
    done, sampled = _sampling.best_and_sampled(trials[valued], result.mode)
    columns = _columns.config_columns(trials)
    figure = _figure(max(6.0, 1.6 * (len(columns) + 1)), 4.2)
    axes = figure.add_subplot()
    if done.empty or not columns:
        _note(axes, "no finished trial" if done.empty else "no parameter varies")
        return figure
    import numpy as np

    scaled, ticks = [], []
    for column in [*columns, "value"]:
        values = done[column]
        if column == "value" or _columns.numeric(values):
            x = values.astype(float).to_numpy()
            low, high = float(np.nanmin(x)), float(np.nanmax(x))
            if column != "value" and _columns.wide(values.astype(float)):
                x, low, high = np.log10(x), math.log10(low), math.log10(high)
            scaled.append((x - low) / (high - low) if high > low else np.full(len(x), 0.5))
            ticks.append(f"{values.astype(float).min():.3g}..{values.astype(float).max():.3g}")
        else:
            labels = _columns.choices(trials[column])
            step = 1.0 / max(1, len(labels) - 1)
            scaled.append(values.astype(str).map({k: i * step for i, k in enumerate(labels)})
                          .to_numpy(dtype=float))  # fmt: skip
            ticks.append(" / ".join(labels) if len(labels) <= 4 else f"{len(labels)} choices")
    lines = np.vstack(scaled)
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    value = done["value"].astype(float).to_numpy()
    norm = Normalize(vmin=float(value.min()), vmax=float(value.max()))
    cmap = colormaps["viridis" if result.mode == "min" else "viridis_r"]
    positions = np.arange(lines.shape[0])
    order = np.argsort(-value if result.mode == "min" else value)  # best drawn last
    from matplotlib.collections import LineCollection

    # One collection, not one artist per trial: the same lines (and ends) in one go.
    across = np.broadcast_to(positions, (len(value), len(positions)))
    paths = np.stack([across, lines.T], axis=-1)[order]  # trial, column, (x, y)
    colours = cmap(norm(value[order]))
    axes.add_collection(LineCollection(list(paths), colors=colours, alpha=0.7, lw=1,
                                       capstyle="projecting", joinstyle="round"))  # fmt: skip
    axes.autoscale_view()
    names = [c.removeprefix("config.") for c in columns] + [result.metric]
    axes.set_xticks(positions, [f"{n}\n{t}" for n, t in zip(names, ticks, strict=True)],
                    fontsize=8)  # fmt: skip
    axes.set_yticks([0, 1], ["low", "high"])
    axes.vlines(positions, 0, 1, color="#adb5bd", lw=0.8, zorder=0)  # one axis per column
    from matplotlib.cm import ScalarMappable

    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=result.metric)
    axes.set_title("Parallel coordinates" + (f" ({sampled})" if sampled else ""))
    return figure


def plot_learning_curves(result: TuneResult, metric: str | None = None) -> Figure:
    """Each trial's intermediate results (``ctx.report``) against the step, one line per
    trial, coloured by how the trial ended; for multi-fidelity runs.

    Args:
        result: the run.
        metric: the reported metric to draw (default: the tuned metric, else the first one
            reported).

    Raises:
        ValueError: ``metric`` was never reported.
    """
    figure = _figure()
    axes = figure.add_subplot()
    curves = analysis.learning_curves(result)
    columns = [c for c in curves.columns if c.startswith("metric.")]
    if curves.empty or not columns:
        _note(axes, "no intermediate results (ctx.report) in this run")
        return figure
    wanted = f"metric.{metric or result.metric}"
    if wanted not in columns and metric is not None:
        names = ", ".join(c.removeprefix("metric.") for c in columns)
        raise ValueError(f"metric: {metric!r} was never reported (reported: {names})")
    column = wanted if wanted in columns else columns[0]
    drawn, sampled = _some_curves(result, curves)
    for _, curve in drawn.groupby("trial_id", sort=False):
        colour = STATUS_COLOURS.get(str(curve["status"].iloc[0]), "#457b9d")
        axes.plot(curve["step"], curve[column], color=colour, alpha=0.6, lw=1, marker=".")
    _status_legend(axes, set(drawn["status"]))
    axes.set_xlabel("step")
    axes.set_ylabel(column.removeprefix("metric."))
    axes.set_title("Learning curves" + (f" ({sampled} trials)" if sampled else ""))
    return figure


def _some_curves(result: TuneResult, curves: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The curves of every trial, or past a few hundred, of the best trials (by their final
    value) and a sample of the others; and the note that says which."""
    import pandas as pd

    ids = pd.DataFrame({"trial_id": curves["trial_id"].unique()})
    if len(ids) <= _sampling.CURVES_BEST + _sampling.CURVES_SAMPLED:
        return curves, ""
    values = result.trials.set_index("trial_id")["value"]
    ids["value"] = ids["trial_id"].map(values).astype(float)
    kept, sampled = _sampling.best_and_sampled(
        ids, result.mode, best=_sampling.CURVES_BEST, sampled=_sampling.CURVES_SAMPLED
    )
    return curves[curves["trial_id"].isin(kept["trial_id"])], sampled


def _status_legend(axes: Axes, statuses: set[str], *, outside: bool = False) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=s) for s, c in STATUS_COLOURS.items() if s in statuses]
    if handles and outside:  # beside the axes, where it hides no bar
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    elif handles:
        axes.legend(handles=handles, loc="best", fontsize=8)


def plot_timeline(result: TuneResult) -> Figure:
    """A trace view: one row per worker, one bar per trial (its latest attempt) coloured by
    how it ended; below it, how many workers were busy over time. With more bars than the
    figure has room for (see `paratune._timeline.summarises`), each worker's row shows its
    busy share per time bin instead, in the colours of the statuses, and the panel below
    the busy workers averaged per bin."""
    bars = analysis.timeline(result)
    rows = max(result.workers, int(bars["worker"].max()) + 1 if len(bars) else 0)
    banded = _timeline.summarises(bars, rows)
    # Bands need no room per bar: their rows stay within a page, however many workers.
    height = min(0.28 * rows, 6.0) if banded else 0.28 * rows
    figure = _figure(8.0, 2.0 + height + 1.4)
    grid = figure.add_gridspec(2, 1, height_ratios=[max(2.0, height), 1.4])
    axes = figure.add_subplot(grid[0])
    below = figure.add_subplot(grid[1], sharex=axes)
    if bars.empty:
        _note(axes, "no trial ran on a worker")
        return figure
    end = max(result.wall_time, float(bars["end"].max()))
    if banded:
        _timeline.draw_bands(axes, below, bars, rows, end, STATUS_COLOURS)
    else:
        _timeline.draw_bars(axes, bars, STATUS_COLOURS)
        busy = analysis.utilisation(result)
        below.step(busy["time"], busy["busy"], where="post", color="#264653")
        below.fill_between(busy["time"], busy["busy"], step="post", alpha=0.3, color="#264653")
    axes.set_ylim(rows - 0.5, -0.5)
    if banded and rows > 32:  # a tick per worker would run together
        axes.yaxis.set_major_locator(_timeline.worker_ticks())
        axes.set_ylabel("worker")
    else:
        axes.set_yticks(range(rows), [f"worker {w}" for w in range(rows)] if rows <= 32 else None)
    axes.set_xlim(0, end)
    _status_legend(axes, set(bars["status"]), outside=True)
    bands = f"\nbusy share per worker in {_timeline.BINS} time bins ({len(bars):,} trials)"
    axes.set_title(
        f"Worker timeline: {result.concurrency:.2f} of {result.workers} workers busy on "
        f"average (utilisation {result.utilisation:.0%})" + (bands if banded else "")
    )
    below.axhline(result.workers, **_IDEAL)
    below.set_ylim(0, result.workers * 1.1 + 0.1)
    below.set_ylabel("busy workers" + (" (mean per bin)" if banded else ""))
    below.set_xlabel("wall time (s)")
    return figure


def plot_scaling(
    table: pd.DataFrame, *, title: str = "Scaling", label: str = "measured"
) -> Figure:
    """Time, speedup and efficiency against the number of workers, each with its ideal
    dashed (the sequential time / workers, linear speedup, efficiency 1): the panels of
    `plot_time_vs_workers` and `plot_efficiency_vs_workers` with the speedup between them.

    Args:
        table: a table with ``number_of_workers``, ``time``, ``speedup_vs_sequential`` and
            ``efficiency`` (and ``startup``, drawn on the time panel when present), as
            `paratune scaling` or `paratune.analysis.what_if` make; rows in any order.
        title: the figure's title.
        label: what the table's figures are (``"measured"``, ``"predicted"``).
    """
    figure = _figure(12.0, 3.6)
    time_axes, speedup_axes, efficiency_axes = figure.subplots(1, 3)
    rows = table.sort_values("number_of_workers")
    _draw_time(time_axes, rows, label)
    workers = rows["number_of_workers"]
    speedup_axes.plot(workers, workers, label="ideal", **_IDEAL)
    speedup_axes.plot(workers, rows["speedup_vs_sequential"], marker="o", color="#2a9d8f",
                      label=label)  # fmt: skip
    speedup_axes.set_xlabel("workers")
    speedup_axes.set_ylabel("speedup vs sequential")
    speedup_axes.set_xticks(list(workers))
    speedup_axes.legend(loc="best")
    _draw_efficiency(efficiency_axes, rows, label)
    figure.suptitle(title)
    return figure


def plot_time_vs_workers(
    table: pd.DataFrame, *, title: str = "Time against workers", label: str = "measured"
) -> Figure:
    """Wall time against the number of workers, with the ideal (the sequential time divided
    by the workers) dashed, and the start-up apart where the table has it; a scaling
    study's first figure. ``table`` and ``label`` as for `plot_scaling`."""
    figure = _figure(5.0, 3.6)
    _draw_time(figure.add_subplot(), table.sort_values("number_of_workers"), label)
    figure.suptitle(title)
    return figure


def plot_efficiency_vs_workers(
    table: pd.DataFrame, *, title: str = "Efficiency against workers", label: str = "measured"
) -> Figure:
    """Efficiency (speedup / workers) against the number of workers, with the ideal (1)
    dashed; a scaling study's second figure. ``table`` and ``label`` as for
    `plot_scaling`."""
    figure = _figure(5.0, 3.6)
    _draw_efficiency(figure.add_subplot(), table.sort_values("number_of_workers"), label)
    figure.suptitle(title)
    return figure


def _draw_time(axes: Axes, rows: pd.DataFrame, label: str) -> None:
    workers = rows["number_of_workers"]
    sequential = float((rows["time"] * rows["speedup_vs_sequential"]).iloc[0])
    axes.plot(workers, sequential / workers, label="ideal", **_IDEAL)
    axes.plot(workers, rows["time"], marker="o", color="#264653", label=label)
    if "startup" in rows and (rows["startup"] > 0).any():
        axes.plot(workers, rows["startup"], marker="s", linestyle=":", color="#8d99ae",
                  label="start-up (apart)")  # fmt: skip
    axes.set_ylim(bottom=0)
    axes.set_xlabel("workers")
    axes.set_ylabel("wall time (s)")
    axes.set_xticks(list(workers))
    axes.legend(loc="best")


def _draw_efficiency(axes: Axes, rows: pd.DataFrame, label: str) -> None:
    workers = rows["number_of_workers"]
    axes.axhline(1.0, label="ideal", **_IDEAL)
    axes.plot(workers, rows["efficiency"], marker="o", color="#e76f51", label=label)
    axes.set_ylim(0, max(1.1, float(rows["efficiency"].max()) * 1.05))
    axes.set_xlabel("workers")
    axes.set_ylabel("efficiency (speedup / workers)")
    axes.set_xticks(list(workers))
    axes.legend(loc="best")


def save(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Write ``figure`` to ``path``; the suffix (``.png`` or ``.svg``) picks the format.

    Raises:
        ValueError: the suffix is neither.
    """
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"path: {target} must end in .png or .svg")
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=dpi)
    return target
