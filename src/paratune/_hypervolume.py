"""The hypervolume of a run with several objectives: its reference point, its value now,
and how it grew over time (what `paratune.analysis` re-exports, and what the figures, the
report and ``paratune status`` show).

The reference point bounds the volume: per objective, the worst loss over the feasible
trials that ended DONE, moved beyond it by 10% of that objective's range over them (by 1
where the range is 0), so every such trial adds to the volume. Users see and give it in
each metric's own direction (a "max" metric's reference is below its worst value).

>>> import paratune as pt
>>> from paratune import analysis
>>> def objective(config):
...     return {"error": config["x"], "cost": 1.0 - config["x"]}
>>> result = pt.tune(objective, {"x": pt.Choice([0.25, 0.5, 0.75])}, searcher="grid",
...                  metric=["error", "cost"], executor="simulated", store=None)
>>> analysis.reference_point(result)
{'error': 0.8, 'cost': 0.8}
>>> analysis.hypervolume_curve(result)["hypervolume"].round(4).tolist()
[0.0275, 0.1025, 0.115]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._coverage import EXACT_SLICES, Coverage
from ._front import frame_losses, front_rows
from .objectives import Objectives
from .pareto import hypervolume, non_dominated

if TYPE_CHECKING:
    import pandas as pd

    from .result import TuneResult

POINTS = 400
"""The most rows `hypervolume_curve` gives: past it, the curve is taken at this many
evenly spaced counts of ended trials (the last one always among them)."""

Reference = Mapping[str, float] | Sequence[float]
"""A reference point as users give it: each metric's value in its own direction, by name
or in the order of the metrics."""


def reference_point(result: TuneResult) -> dict[str, float]:
    """The reference point of ``result``'s hypervolume, each metric in its own direction:
    per metric, the worst value over the feasible trials that ended DONE, made worse by 10%
    of the metric's range over them (by 1 where the range is 0).

    Raises:
        ValueError: no feasible trial ended DONE with every metric.
    """
    goals = result.goals
    losses = reference_losses(result.trials, goals)
    if losses is None:
        raise ValueError(
            "no feasible trial ended with every metric "
            f"({', '.join(goals.metrics)}): there is no reference point"
        )
    return shown_reference(losses, goals)


def hypervolume_curve(result: TuneResult, reference: Reference | None = None) -> pd.DataFrame:
    """The hypervolume of the feasible DONE trials against wall time, with one reference
    point for the whole curve (default: `reference_point`), so its values compare. In four
    objectives or more, where exact volumes at every point would take over a second, the
    curve is estimated as `paratune.pareto.hypervolume` estimates one volume, from one set
    of quasi-random points for the whole curve; its last point is the run's hypervolume.

    Args:
        result: the run (a run of one metric too: its hypervolume is the distance from the
            reference to the best value).
        reference: each metric's reference value in its own direction, by name or in the
            order of the metrics.

    Returns:
        A DataFrame with ``time`` (when a trial ended), ``trials`` (how many had ended by
        then, whatever their status) and ``hypervolume`` (of the feasible trials DONE by
        then): a row per ended trial in the order they ended, or past `POINTS` trials, at
        `POINTS` evenly spaced counts. Its ``attrs["reference"]`` is the reference used
        (None where there is none: no feasible trial, and none given; the curve is 0).

    Raises:
        ValueError: ``reference`` does not give one value per metric.
    """
    import pandas as pd

    goals = result.goals
    trials = result.trials
    bound = (
        reference_losses(trials, goals) if reference is None else given_reference(reference, goals)
    )
    losses, feasible = feasible_losses(trials, goals)
    finished = trials["finished"].to_numpy(dtype=np.float64)
    ended = (trials["status"] != "running").to_numpy() & np.isfinite(finished)
    ids = trials["trial_id"].to_numpy()
    order = np.flatnonzero(ended)
    order = order[np.lexsort((ids[order], finished[order]))]
    counts = _counts(len(order), POINTS if len(goals.metrics) <= 3 else POINTS // 10)
    volumes = _volumes(order, counts, losses, feasible, bound)
    frame = pd.DataFrame(
        {
            "time": finished[order[counts - 1]] if len(order) else [],
            "trials": counts,
            "hypervolume": volumes,
        },
        columns=["time", "trials", "hypervolume"],
    ).astype({"time": float, "trials": "int64", "hypervolume": float})
    frame.attrs["reference"] = None if bound is None else shown_reference(bound, goals)
    return frame


@dataclass(frozen=True)
class FrontSummary:
    """A run's Pareto front and its hypervolume, as the report, the command line and
    ``paratune status`` show them.

    Attributes:
        front: the rows of the trials table on the front.
        hypervolume: of the front, with `reference` (None without a feasible trial).
        reference: the reference point, each metric in its own direction (None without a
            feasible trial).
        infeasible: how many trials ended DONE breaking a constraint.
    """

    front: pd.DataFrame
    hypervolume: float | None
    reference: dict[str, float] | None
    infeasible: int


def front_summary(trials: pd.DataFrame, goals: Objectives) -> FrontSummary:
    """The front of a trials table (`TuneResult.trials`) under ``goals``, its hypervolume
    with the `reference_point` rule, and how many DONE trials broke a constraint."""
    front = front_rows(trials, goals)
    bound = reference_losses(trials, goals)
    volume = None
    if bound is not None:
        volume = hypervolume(frame_losses(front, goals)[0], bound)
    return FrontSummary(
        front=front,
        hypervolume=volume,
        reference=None if bound is None else shown_reference(bound, goals),
        infeasible=count_infeasible(trials, goals),
    )


def described(goals: Objectives) -> str:
    """The metrics with their modes, as the views print them: ``error (min), cost (max)``."""
    return ", ".join(f"{m} ({mode})" for m, mode in zip(goals.metrics, goals.modes, strict=True))


def count_infeasible(trials: pd.DataFrame, goals: Objectives) -> int:
    """How many rows ended DONE with a constraint broken."""
    if not goals.constraints:
        return 0
    _, violations = frame_losses(trials, goals)
    done = (trials["status"] == "done").to_numpy()
    return int(np.count_nonzero(done & (violations > 0)))


def reference_losses(trials: pd.DataFrame, goals: Objectives) -> NDArray[np.float64] | None:
    """The reference point as losses (see `reference_point`), or None without a feasible
    DONE trial."""
    losses, feasible = feasible_losses(trials, goals)
    return reference_from(losses[feasible])


def reference_from(kept: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """The reference point (as losses) of the losses ``(n, m)`` of feasible DONE trials,
    by the rule of `reference_point`; None when there are none."""
    if not len(kept):
        return None
    worst, best = kept.max(axis=0), kept.min(axis=0)
    span = worst - best
    margin: NDArray[np.float64] = np.where(span > 0, 0.1 * span, 1.0)
    bound: NDArray[np.float64] = worst + margin
    return bound


def shown_reference(losses: NDArray[np.float64], goals: Objectives) -> dict[str, float]:
    """A reference point of losses as users read it: each metric in its own direction."""
    values = losses * goals.signs
    return {name: float(value) + 0.0 for name, value in zip(goals.metrics, values, strict=True)}


def given_reference(reference: Reference, goals: Objectives) -> NDArray[np.float64]:
    """A reference point given in the metrics' own directions, as losses.

    Raises:
        ValueError: not one number per metric.
    """
    if isinstance(reference, Mapping):
        if set(reference) != set(goals.metrics):
            raise ValueError(
                f"reference must give a value for each metric ({', '.join(goals.metrics)}), "
                f"got {', '.join(map(str, reference)) or 'none'}"
            )
        values: list[Any] = [reference[name] for name in goals.metrics]
    else:
        values = list(reference)
    if len(values) != len(goals.metrics):
        raise ValueError(
            f"reference must have one value per metric ({', '.join(goals.metrics)}), "
            f"got {len(values)}"
        )
    bound = np.asarray(values, dtype=np.float64)
    if not np.isfinite(bound).all():
        raise ValueError(f"reference must hold finite numbers, got {values!r}")
    shown: NDArray[np.float64] = bound * goals.signs
    return shown


def feasible_losses(
    trials: pd.DataFrame, goals: Objectives
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Every row's losses, and which rows are feasible DONE trials with every metric."""
    losses, violations = frame_losses(trials, goals)
    feasible = np.isfinite(losses).all(axis=1) & (violations == 0)
    feasible &= (trials["status"] == "done").to_numpy()
    return losses, feasible


def _counts(ended: int, most: int) -> NDArray[np.int64]:
    """The counts of ended trials the curve is taken at: each, or ``most`` of them (fewer
    in four objectives or more, where a hypervolume may take a second)."""
    if ended <= most:
        return np.arange(1, ended + 1, dtype=np.int64)
    return np.unique(np.linspace(1, ended, most).round().astype(np.int64))


def _volumes(
    order: NDArray[np.intp],
    counts: NDArray[np.int64],
    losses: NDArray[np.float64],
    feasible: NDArray[np.bool_],
    bound: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """The hypervolume after each count of ``order`` (rows in the order they ended): the
    front so far is kept, so each step sorts only the trials it adds to it.

    In four objectives or more, once exact volumes at every point of the curve would take
    over a second (`_Estimate`), the curve goes on from an estimate that each new point of
    the front adds to; its last point is the run's hypervolume, as `hypervolume` gives it."""
    volumes = np.zeros(len(counts))
    if bound is None:
        return volumes
    inside = feasible & np.all(losses < bound, axis=1)  # beyond the reference: adds nothing
    estimate = _Estimate(losses[inside], bound, len(counts))
    front = np.empty((0, losses.shape[1]))
    volume, start = 0.0, 0
    for index, count in enumerate(counts.tolist()):
        rows = order[start:count]
        start = count
        added = losses[rows[inside[rows]]]
        if len(added):
            joined = np.concatenate([front, added])
            kept = non_dominated(joined)
            new = joined[len(front) :][kept[len(front) :]]
            front = joined[kept]
            volume = estimate.volume(front, new)
        volumes[index] = volume
    if estimate.coverage is not None and len(front):
        volumes[-1] = hypervolume(front, bound)  # the same, unless small enough to be exact
    return volumes


class _Estimate:
    """How `_volumes` measures each front: exactly, until the fronts grow so large that
    exact volumes at every point of the curve would take over a second in all; from then
    on by the `Coverage` of one set of quasi-random points over the box of every feasible
    loss (which `hypervolume` also takes for the whole front), each new point of the front
    added to it once."""

    def __init__(self, kept: NDArray[np.float64], bound: NDArray[np.float64], points: int):
        self.bound, self.points = bound, points
        self.low = kept.min(axis=0) if len(kept) else bound
        self.coverage: Coverage | None = None

    def volume(self, front: NDArray[np.float64], new: NDArray[np.float64]) -> float:
        """The volume ``front`` dominates; ``new``: its points added since the last call."""
        objectives = front.shape[1]
        slices = self.points * float(len(front)) ** (objectives - 2)  # at every point
        if self.coverage is None and objectives > 3 and slices > EXACT_SLICES:
            self.coverage, new = Coverage(self.low, self.bound), front
        if self.coverage is None:
            return hypervolume(front, self.bound)
        for point in new:
            self.coverage.add(point)
        return self.coverage.volume
