"""Figures of a run with several objectives: its Pareto front, and its hypervolume over
time (re-exported by `paratune.plots`, whose conventions they follow: a `Figure` built
without pyplot, every metric shown in its own direction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from . import _hypervolume, _sampling
from ._front import frame_losses
from .pareto import non_dominated

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .objectives import Objectives
    from .result import TuneResult

# How each kind of point is drawn: the other feasible trials quiet, the front loud.
_TRIAL: dict[str, Any] = {"s": 12, "color": "#adb5bd", "alpha": 0.6, "linewidths": 0}
_INFEASIBLE: dict[str, Any] = {"s": 18, "color": "#e63946", "alpha": 0.5, "marker": "x"}
_FRONT: dict[str, Any] = {"s": 30, "color": "#e76f51", "edgecolors": "#264653", "zorder": 3}
_STAIRS: dict[str, Any] = {"color": "#e76f51", "linewidth": 1.2, "zorder": 2}


def plot_pareto_front(result: TuneResult, ax: Axes | None = None) -> Figure:
    """The trials of a run with several metrics in the space of its metrics, each in its
    own direction: every feasible trial that ended DONE in grey, the infeasible ones as
    red crosses, and the Pareto front highlighted. With two metrics the front is joined
    as a staircase (the edge of what it dominates); with three or more, a grid of every
    pair of metrics (the front's points highlighted in each). Past a few thousand trials
    the grey and red points are a seeded sample, and the title says so.

    Args:
        result: a run of several metrics.
        ax: the axes to draw in, for two metrics (default: a new figure).

    Raises:
        ValueError: the run tuned one metric (`plot_best_so_far` shows it), or ``ax`` was
            given for three or more metrics.
    """
    from .plots import _figure

    goals = result.goals
    if not goals.several:
        raise ValueError(
            f"the run tuned one metric ({result.metric}): it has no front to draw; "
            "plot_best_so_far shows it"
        )
    points = _Points.of(result)
    if len(goals.metrics) > 2 and ax is not None:
        raise ValueError(
            f"ax: the front of {len(goals.metrics)} metrics is a grid of pairs; give no ax"
        )
    if ax is not None:
        _draw_pair(ax, points, 0, 1, stairs=True)
        ax.set_title(_title(points))
        return _figure_of(ax)
    size = len(goals.metrics) - 1
    figure = _figure(7.0 if size == 1 else 3.4 * size, 4.5 if size == 1 else 3.2 * size)
    panels = figure.subplots(size, size, squeeze=False)
    for row in range(size):
        for column in range(size):
            if column > row:  # the grid's upper half would repeat the lower one
                panels[row][column].set_axis_off()
                continue
            panel = panels[row][column]
            _draw_pair(panel, points, column, row + 1, stairs=size == 1)
            if (row, column) != (0, 0) and (legend := panel.get_legend()) is not None:
                legend.remove()  # one legend says it for the grid
    figure.suptitle(_title(points))
    return figure


class _Points:
    """A run's trials as the front figure draws them: values in the metrics' own
    directions, and which are on the front, feasible or not."""

    def __init__(
        self,
        goals: Objectives,
        values: NDArray[np.float64],
        losses: NDArray[np.float64],
        front: NDArray[np.intp],
        others: NDArray[np.intp],
        infeasible: NDArray[np.intp],
    ) -> None:
        self.goals, self.values, self.losses = goals, values, losses
        self.front, self.others, self.infeasible = front, others, infeasible
        self.note = ""

    @classmethod
    def of(cls, result: TuneResult) -> _Points:
        """The points of ``result``'s trials that ended DONE with every metric."""
        goals = result.goals
        trials = result.trials
        losses, violations = frame_losses(trials, goals)
        usable = np.isfinite(losses).all(axis=1) & (trials["status"] == "done").to_numpy()
        feasible = np.flatnonzero(usable & (violations == 0))
        on_front = feasible[non_dominated(losses[feasible])]
        others = np.setdiff1d(feasible, on_front)
        infeasible = np.flatnonzero(usable & (violations > 0))
        shown, total = [], len(others) + len(infeasible)
        for group in (others, infeasible):  # a sample of each, past what a figure shows
            shown.append(group[_sampling.sample_positions(len(group), _sampling.SAMPLED)])
        points = cls(goals, losses * goals.signs, losses, on_front, *shown)
        drawn = len(points.others) + len(points.infeasible)
        points.note = _sampling.sampled_note(drawn, total, "trials off the front")
        return points


def _draw_pair(axes: Axes, points: _Points, x: int, y: int, *, stairs: bool) -> None:
    """Metric ``x`` against metric ``y``: the trials, the infeasible ones, the front."""
    values, goals = points.values, points.goals
    if not len(points.front) and not len(points.infeasible):
        from .plots import _note

        _note(axes, "no trial ended with every metric")
        return
    axes.scatter(values[points.others, x], values[points.others, y], label="trial", **_TRIAL)
    if len(points.infeasible):
        axes.scatter(values[points.infeasible, x], values[points.infeasible, y],
                     label="infeasible", **_INFEASIBLE)  # fmt: skip
    front = points.front
    axes.scatter(values[front, x], values[front, y], label="Pareto front", **_FRONT)
    if stairs and len(front) > 1:
        xs, ys = _staircase(points.losses[front][:, [x, y]])
        signs = goals.signs[[x, y]]
        axes.plot(xs * signs[0], ys * signs[1], label="front (staircase)", **_STAIRS)
    axes.set_xlabel(f"{goals.metrics[x]} ({goals.modes[x]})")
    axes.set_ylabel(f"{goals.metrics[y]} ({goals.modes[y]})")
    axes.legend(loc="best", fontsize=8)


def _staircase(losses: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The edge of what a two-objective front dominates, as a line through its points:
    sorted by the first loss, each point's second loss holds until the next point."""
    order = np.lexsort((losses[:, 1], losses[:, 0]))
    first, second = losses[order, 0], losses[order, 1]
    xs = np.repeat(first, 2)[1:]
    ys = np.repeat(second, 2)[:-1]
    return xs, ys


def _title(points: _Points) -> str:
    count = len(points.front)
    title = f"Pareto front: {count} trial{'s' if count != 1 else ''}"
    if len(points.infeasible):
        title += " (red crosses break a constraint)"
    return title + (f"\n({points.note})" if points.note else "")


def plot_hypervolume(
    results: TuneResult | Mapping[str, TuneResult] | Sequence[TuneResult],
    ax: Axes | None = None,
    reference: _hypervolume.Reference | None = None,
) -> Figure:
    """The hypervolume of the feasible trials done so far against wall time
    (`paratune.analysis.hypervolume_curve`): of one run, or of several of the same metrics
    in one figure, each in a colour of its own, all with ONE reference point so that
    their curves compare (by default the rule of `paratune.analysis.reference_point` over
    the trials of every run together).

    Args:
        results: a result; or a mapping of label to result; or a sequence of results.
        ax: the axes to draw in (default: a new figure).
        reference: each metric's reference value in its own direction, by name or in the
            metrics' order.

    Raises:
        ValueError: no result, results of different metrics or modes, or a ``reference``
            without one value per metric.
    """
    from .plots import _PALETTE, _figure, _labelled, _note

    runs = _labelled(results)
    goals = _same_goals(runs)
    shown = _shared_reference(runs, goals) if reference is None else reference
    axes = _figure().add_subplot() if ax is None else ax
    drawn = 0
    for index, (label, result) in enumerate(runs.items()):
        curve = _hypervolume.hypervolume_curve(result, shown)
        if curve.empty:
            continue
        drawn += 1
        own = _PALETTE[index % len(_PALETTE)]
        axes.step(curve["time"], curve["hypervolume"], where="post", color=own,
                  label=label if len(runs) > 1 else "hypervolume")  # fmt: skip
    if not drawn:
        _note(axes, "no trial ended")
        return _figure_of(axes)
    axes.set_xlabel("wall time (s)")
    axes.set_ylabel("hypervolume")
    axes.set_title(f"Hypervolume against wall time\n{_reference_text(shown, goals)}")
    axes.legend(loc="best")
    return _figure_of(axes)


def _same_goals(runs: Mapping[str, TuneResult]) -> Objectives:
    goals = [result.goals for result in runs.values()]
    kinds = {(g.metrics, g.modes) for g in goals}
    if len(kinds) > 1:
        raise ValueError(f"results: the runs tune different metrics or modes: {sorted(kinds)}")
    return goals[0]


def _shared_reference(
    runs: Mapping[str, TuneResult], goals: Objectives
) -> dict[str, float] | None:
    """The reference point of every run's feasible DONE trials together (feasible by
    each run's own constraints)."""
    kept = []
    for result in runs.values():
        losses, feasible = _hypervolume.feasible_losses(result.trials, result.goals)
        kept.append(losses[feasible])
    bound = _hypervolume.reference_from(np.concatenate(kept))
    return None if bound is None else _hypervolume.shown_reference(bound, goals)


def _reference_text(reference: _hypervolume.Reference | None, goals: Objectives) -> str:
    if reference is None:
        return "(no feasible trial: no reference point)"
    values = (
        [reference[name] for name in goals.metrics]
        if isinstance(reference, Mapping)
        else list(reference)
    )
    pairs = ", ".join(f"{n} {v:.4g}" for n, v in zip(goals.metrics, values, strict=True))
    return f"(reference point: {pairs})"


def _figure_of(axes: Axes) -> Figure:
    """The figure ``axes`` is drawn in (the whole figure, for axes in a subfigure)."""
    from matplotlib.figure import Figure

    figure = axes.figure
    while not isinstance(figure, Figure):
        figure = figure.figure
    return figure
