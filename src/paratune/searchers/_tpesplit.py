"""What a trial observed by `TPE` counts as, and which of the trials it models are good.

With one metric and no constraint, a trial counts as its value (a loss) and the good ones
are those with the smallest values. With several metrics, or with constraints, a trial
counts as its violation and its losses (``[violation, loss_1, ..., loss_m]``), and the good
ones are the first in `paratune.pareto.pareto_order`: the feasible trials by Pareto front,
then, within a front, the larger crowding distance first (with three metrics or more,
the larger hypervolume contribution, for the last front cut short), then the earlier trial; an
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
from ..pareto import (
    crowding_distance,
    hypervolume,
    non_dominated,
    pareto_order,
    pareto_ranks,
)
from ..trial import Status, Trial

_Array = NDArray[np.float64]
_Indices = NDArray[np.intp]

MAX_GOOD = 25  # Optuna's default_gamma: min(ceil(0.1 n), 25)
_TINY = 1e-12  # Optuna's EPS: the weight of a good trial that adds no volume
_GRID_CELLS = 2_000_000  # cells of the grid that `_contributions` sums at most


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


def good_weights(results: _Array) -> _Array:
    """The weights of the good trials' kernels under several metrics or constraints, from
    their violations and losses ``(g, 1 + m)``: each feasible trial's share of the volume
    its front dominates that no other trial does (its hypervolume contribution, against
    the reference 1.1 times the good trials' worst loss), over the largest share; a
    dominated or an infeasible trial a tiny weight. Optuna's MOTPE weights, which keep the
    good model on the front: with three metrics or more most good trials are on no front
    better than their own, and weighing them as much as the front's drew candidates that
    random search beat (B14, DTLZ2)."""
    weights = np.where(results[:, 0] <= 0, 1.0, _TINY)
    feasible = np.flatnonzero(results[:, 0] <= 0)
    if len(feasible) <= 1:
        return weights
    losses = results[feasible, 1:]
    reference = _reference(losses)
    on_front = np.flatnonzero(non_dominated(losses))
    front = losses[on_front]
    whole = hypervolume(front, reference)
    if not math.isfinite(whole):
        return weights
    contributions = np.zeros(len(feasible))
    contributions[on_front] = _contributions(front, reference, whole)
    weights[feasible] = np.maximum(contributions / max(contributions.max(), _TINY), _TINY)
    return weights


def _contributions(front: _Array, reference: _Array, whole: float) -> _Array:
    """Each point's hypervolume contribution to ``front`` (every point below
    ``reference``): the volume only it dominates. On the grid of the points' coordinates,
    prefix sums count the points that dominate each cell and add up their numbers, so a
    cell dominated by one point alone names it (`_GRID_CELLS` cells at most); else by
    leaving each point out in turn."""
    count, objectives = front.shape
    if (count + 1) ** objectives > _GRID_CELLS:
        return np.array(
            [whole - hypervolume(np.delete(front, i, axis=0), reference) for i in range(count)]
        )
    edges = [np.unique(np.append(front[:, j], reference[j])) for j in range(objectives)]
    # Each point's corner cell; it dominates every cell from there up on every axis.
    corners = tuple(np.searchsorted(edges[j], front[:, j]) for j in range(objectives))
    shape = tuple(len(edge) - 1 for edge in edges)
    covering, named = np.zeros(shape), np.zeros(shape)
    np.add.at(covering, corners, 1.0)
    np.add.at(named, corners, np.arange(count, dtype=np.float64))
    for axis in range(objectives):
        covering, named = covering.cumsum(axis=axis), named.cumsum(axis=axis)
    volumes = np.ones(shape)
    for axis, edge in enumerate(edges):
        volumes = volumes * np.diff(edge).reshape(
            [-1 if j == axis else 1 for j in range(objectives)]
        )
    alone = covering == 1.0
    return np.bincount(
        named[alone].astype(np.intp), weights=volumes[alone], minlength=count
    ).astype(np.float64)


def good_count(valued: int, gamma: float) -> int:
    """How many of ``valued`` trials with a result are good: Optuna's ``default_gamma``."""
    return min(math.ceil(gamma * valued), MAX_GOOD)


def pareto_best(losses: _Array, violations: _Array, count: int) -> _Indices:
    """The positions of the first ``count`` points in `pareto_order` of ``losses`` ``(n,
    m)`` and ``violations`` ``(n,)``, best first. Only the fronts that hold them are
    sorted (`_first_fronts`): the same order, at a fraction of the cost when there are
    many points."""
    if count <= 0:
        return np.empty(0, dtype=np.intp)
    feasible = np.flatnonzero(violations <= 0)
    if len(feasible) < count:
        # Every feasible point, and the infeasible ones up to the count-th smallest
        # violation, ties included: the order sorts ties by crowding among them.
        infeasible = np.flatnonzero(violations > 0)
        wanted = count - len(feasible) - 1
        bound = np.partition(violations[infeasible], wanted)[wanted]
        kept = np.union1d(feasible, infeasible[violations[infeasible] <= bound])
        order = pareto_order(losses[kept], violations[kept])
        return np.asarray(kept[order[:count]], dtype=np.intp)
    points = losses[feasible]
    positions, ranks = _first_fronts(points, count)
    crowding = np.zeros(len(positions))
    last = int(ranks.max())
    for rank in range(last + 1):
        members = np.flatnonzero(ranks == rank)
        cut = rank == last and len(positions) > count  # only the last front is cut short
        crowding[members] = _tie_break(points[positions[members]], cut)
    # pareto_order's keys: front, larger crowding distance, earlier position.
    order = np.lexsort((positions, -crowding, ranks))[:count]
    return np.asarray(feasible[positions[order]], dtype=np.intp)


def _tie_break(front: _Array, cut: bool) -> _Array:
    """What orders the points of one front, larger first: the crowding distance; with
    three metrics or more, for a front cut short, the hypervolume contribution (against
    1.1 times its worst losses). Crowding keeps each metric's extremes first, up to two
    per metric, and then the loneliest points: in three metrics a front holds most
    trials, and the good trials so chosen were far from the true front, which left TPE
    below random search on DTLZ2; Optuna breaks this tie by hypervolume too."""
    if not cut or front.shape[1] < 3 or (len(front) + 1) ** front.shape[1] > _GRID_CELLS:
        return crowding_distance(front)
    reference = _reference(front)
    return _contributions(front, reference, hypervolume(front, reference))


def _reference(losses: _Array) -> _Array:
    """Optuna's MOTPE reference point for ``losses``: each objective's worst made 10%
    worse (away from 0 either way), and a tiny positive value where the worst is 0."""
    worst = losses.max(axis=0)
    reference: _Array = np.maximum(1.1 * worst, 0.9 * worst)
    reference[reference == 0] = _TINY
    return reference


def _first_fronts(losses: _Array, count: int) -> tuple[_Indices, _Indices]:
    """The positions, ascending, of the points in the fronts that hold the first ``count``
    points, and their fronts. A point's front depends only on the points that dominate
    it, so the first fronts are found without sorting the others: by `pareto_ranks` in
    one or two objectives (O(n log n)), by peeling fronts off (`non_dominated`) in more."""
    if losses.shape[1] <= 2:
        ranks = pareto_ranks(losses)
        last = np.partition(ranks, count - 1)[count - 1]
        positions = np.flatnonzero(ranks <= last)
        return positions, ranks[positions]
    left = np.arange(len(losses))
    fronts: list[_Indices] = []
    while sum(map(len, fronts)) < count:
        on_front = non_dominated(losses[left])
        fronts.append(left[on_front])
        left = left[~on_front]
    positions = np.concatenate(fronts)
    ranks = np.repeat(np.arange(len(fronts)), [len(front) for front in fronts])
    ascending = np.argsort(positions)
    return positions[ascending], ranks[ascending]
