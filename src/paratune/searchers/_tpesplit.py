"""What a trial observed by `TPE` counts as, and which of the trials it models are good.

With one metric and no constraint, a trial counts as its value (a loss) and the good ones
are those with the smallest values. With several metrics, or with constraints, a trial
counts as its violation and its losses (``[violation, loss_1, ..., loss_m]``), and the good
ones are the first in `paratune.pareto.pareto_order`: the feasible trials by Pareto front,
then, within a front, the larger crowding distance first, then the earlier trial; an
infeasible trial is good only when too few trials are feasible, the least violating first
(Deb's rule, as Optuna's ``constraints_func`` splits them). Either way, how many are good
is Optuna's ``default_gamma``: ``min(ceil(gamma * n), 25)`` of the ``n`` trials with a
result, feasible or not.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..objectives import Objectives
from ..pareto import pareto_order, pareto_ranks
from ..trial import Status, Trial

_Array = NDArray[np.float64]
_Indices = NDArray[np.intp]

MAX_GOOD = 25  # Optuna's default_gamma: min(ceil(0.1 n), 25)
# Past this many feasible trials in three objectives or more, those dominated by MAX_GOOD
# of a few anchors are dropped before sorting: they cannot be good, and sorting costs
# O(n^2) there.
_FEW = 256
_ANCHORS = 50


def score(trial: Trial) -> float:
    """What a trial counts as under one metric without constraints: its value; inf (a bad
    trial) when it failed or its value is not a number; NaN (left out) when it was
    cancelled or pruned without a value."""
    value = trial.value
    if trial.status in (Status.DONE, Status.PRUNED) and value is not None:
        return float(value) if math.isfinite(value) else math.inf
    return math.inf if trial.status is Status.FAILED else math.nan


def scores(trial: Trial, objectives: Objectives) -> _Array:
    """What a trial counts as under several metrics or constraints: its violation and its
    losses; every number inf (a bad trial) when it failed or ended DONE without usable
    metrics; NaN (left out) when it was cancelled or pruned without them."""
    width = 1 + len(objectives.metrics)
    if trial.status in (Status.DONE, Status.PRUNED):
        metrics = objectives.metrics_of(trial)
        losses, violation = objectives.losses(metrics), objectives.violation(metrics)
        if losses is not None and violation is not None:
            return np.array([violation, *losses], dtype=np.float64)
    bad = trial.status in (Status.DONE, Status.FAILED)
    return np.full(width, math.inf if bad else math.nan)


def good_positions(values: _Array, gamma: float) -> _Indices:
    """The positions of the good ones among the results ``values``, ascending: ``(n,)``
    values (one metric, failed ones inf) or ``(n, 1 + m)`` violations and losses (several
    metrics or constraints, failed ones all inf)."""
    if values.ndim == 2:
        valued = np.flatnonzero(np.isfinite(values[:, 0]))
        count = good_count(len(valued), gamma)
        best = pareto_best(values[valued, 1:], values[valued, 0], count)
        return np.sort(valued[best])
    n = len(values)
    good = good_count(int(np.count_nonzero(np.isfinite(values))), gamma)
    if good == 0:
        return np.empty(0, dtype=np.intp)
    # Failed rows are inf: never among the `good` smallest while `good` <= valued rows.
    return np.sort(np.argpartition(values, good - 1)[:good]) if good < n else np.arange(n)


def good_count(valued: int, gamma: float) -> int:
    """How many of ``valued`` trials with a result are good: Optuna's ``default_gamma``."""
    return min(math.ceil(gamma * valued), MAX_GOOD)


def pareto_best(losses: _Array, violations: _Array, count: int) -> _Indices:
    """The positions of the first ``count`` points in `pareto_order` of ``losses`` ``(n,
    m)`` and ``violations`` ``(n,)``, best first. Only the points that can be among them,
    with every point of their fronts, are sorted (`_contenders`): the same order, at a
    fraction of the cost when there are many."""
    if count <= 0:
        return np.empty(0, dtype=np.intp)
    feasible = np.flatnonzero(violations <= 0)
    if len(feasible) >= count:
        kept = feasible[_contenders(losses[feasible], count)]
    else:
        # Every feasible point, and the infeasible ones up to the count-th smallest
        # violation, ties included: the order sorts ties by crowding among them.
        infeasible = np.flatnonzero(violations > 0)
        wanted = count - len(feasible) - 1
        bound = np.partition(violations[infeasible], wanted)[wanted]
        kept = np.union1d(feasible, infeasible[violations[infeasible] <= bound])
    order = pareto_order(losses[kept], violations[kept])
    return np.asarray(kept[order[:count]], dtype=np.intp)


def _contenders(losses: _Array, count: int) -> _Indices:
    """The positions of the feasible points in the fronts that hold the first ``count``
    points, ascending. The fronts of a point depend only on the points that dominate it,
    all kept, so they are the same as among every point."""
    positions = np.arange(len(losses))
    if losses.shape[1] >= 3 and len(losses) > _FEW:
        positions = positions[_dominated_by_few(losses, count)]
    ranks = pareto_ranks(losses[positions])
    last = np.partition(ranks, count - 1)[count - 1]
    return np.asarray(positions[ranks <= last], dtype=np.intp)


def _dominated_by_few(losses: _Array, count: int) -> NDArray[np.bool_]:
    """Which points fewer than ``count`` of a few anchors dominate (the anchors: the points
    with the smallest sums of their ranks per objective). A point that ``count`` points
    dominate is behind them all, so it is never among the first ``count``; and whatever
    dominates a kept point is kept too (an anchor that dominates it dominates the point)."""
    rank_sums = losses.argsort(axis=0).argsort(axis=0).sum(axis=1)
    anchors = np.argsort(rank_sums, kind="stable")[:_ANCHORS]
    dominated = np.zeros(len(losses), dtype=np.intp)
    for anchor in losses[anchors]:
        dominated += np.all(anchor <= losses, axis=1) & np.any(anchor < losses, axis=1)
    kept: NDArray[np.bool_] = dominated < count
    return kept
