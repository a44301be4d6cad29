"""Dominance, Pareto fronts, crowding and hypervolume, over losses (every objective
minimised: a metric tuned with mode "max" is negated first, as `Objectives.losses` does).

One module that searchers, schedulers, results and plots share, so that "better" means the
same thing everywhere. Arrays are ``(n, m)``: n points, m objectives. Constraints enter as
a violation per point (0 when every constraint holds), with Deb's rule: a feasible point
beats every infeasible one, and of two infeasible points the smaller violation wins.

>>> import numpy as np
>>> losses = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0]])
>>> pareto_ranks(losses).tolist()
[0, 0, 1, 0]
>>> hypervolume(losses, reference=[5.0, 5.0])
11.0
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._coverage import EXACT_SLICES, estimated_volume

__all__ = [
    "crowding_distance",
    "dominates",
    "hypervolume",
    "non_dominated",
    "pareto_order",
    "pareto_ranks",
]

_Floats = NDArray[np.float64]


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """Whether losses ``a`` dominate ``b``: no worse in every objective, better in one."""
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(first <= second) and np.any(first < second))


def pareto_ranks(losses: ArrayLike, violations: ArrayLike | None = None) -> NDArray[np.intp]:
    """Each point's front: 0 for the non-dominated ones, 1 for those only they dominate,
    and so on (non-dominated sorting). Equal points share a front.

    Args:
        losses: ``(n, m)`` losses.
        violations: ``(n,)`` how far each point breaks its constraints (0: none); the
            infeasible points come after every feasible front, ranked by violation.
    """
    points = _matrix(losses)
    ranks = np.zeros(len(points), dtype=np.intp)
    broken = _violations(violations, len(points))
    feasible = broken <= 0
    if feasible.any():
        ranks[feasible] = _feasible_ranks(points[feasible])
    if not feasible.all():
        first = int(ranks[feasible].max()) + 1 if feasible.any() else 0
        # Of two infeasible points the smaller violation wins: dense ranks of violation.
        _, dense = np.unique(broken[~feasible], return_inverse=True)
        ranks[~feasible] = first + dense
    return ranks


def non_dominated(losses: ArrayLike, violations: ArrayLike | None = None) -> NDArray[np.bool_]:
    """Which points are on the Pareto front: feasible, and dominated by no feasible point."""
    points = _matrix(losses)
    feasible = np.flatnonzero(_violations(violations, len(points)) <= 0)
    on_front = np.zeros(len(points), dtype=bool)
    on_front[feasible[_front_of(points[feasible])]] = True
    return on_front


def _front_of(points: _Floats) -> NDArray[np.intp]:
    """The positions of the non-dominated points, without comparing every pair: a sort for
    two objectives, a sweep for three, blocks culled as arrays beyond."""
    if points.shape[1] <= 2:
        return np.flatnonzero(_feasible_ranks(points) == 0)
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if unique.shape[1] == 3:
        kept = _three_objective_front(unique)
    else:
        kept = _blocked_front(unique)
    return np.flatnonzero(kept[inverse])


def _three_objective_front(unique: _Floats) -> NDArray[np.bool_]:
    """Distinct points sorted by (first, second, third), as np.unique leaves them: an earlier
    point dominates a later one exactly when its second and third objectives are no larger,
    so a tree of the smallest third objective over the second's ranks answers each."""
    seconds = np.unique(unique[:, 1])
    ranks = (np.searchsorted(seconds, unique[:, 1]) + 1).tolist()
    size = len(seconds)
    lowest = [math.inf] * (size + 1)  # a Fenwick tree of prefix minima
    kept = np.zeros(len(unique), dtype=bool)
    for index, (rank, third) in enumerate(zip(ranks, unique[:, 2].tolist(), strict=True)):
        at, best = rank, math.inf
        while at > 0:
            best = min(best, lowest[at])
            at -= at & -at
        kept[index] = best > third
        at = rank
        while at <= size:
            if third < lowest[at]:
                lowest[at] = third
            at += at & -at
    return kept


def _blocked_front(unique: _Floats) -> NDArray[np.bool_]:
    """Distinct points in lexicographic order, by blocks: what dominates a point comes
    before it, in the front found so far or in its own block."""
    front = np.empty(0, dtype=np.intp)
    for start in range(0, len(unique), 512):
        block = np.arange(start, min(start + 512, len(unique)))
        block = block[~_beaten(unique[front], unique[block])]
        block = block[~_beaten(unique[block], unique[block])]
        front = np.concatenate([front, block])
    kept = np.zeros(len(unique), dtype=bool)
    kept[front] = True
    return kept


def _beaten(front: _Floats, points: _Floats) -> NDArray[np.bool_]:
    """Which of ``points`` some point of ``front`` dominates, all pairs at once (also the
    live fronts' test: `paratune._running_front`, the dashboard's)."""
    # Objective by objective, on (points, front) tables: no third axis to hold in memory.
    no_worse = np.ones((len(points), len(front)), dtype=bool)
    better = np.zeros((len(points), len(front)), dtype=bool)
    for column in range(points.shape[1]):
        mine, theirs = points[:, column, None], front[None, :, column]
        no_worse &= theirs <= mine
        better |= theirs < mine
    beaten: NDArray[np.bool_] = np.any(no_worse & better, axis=1)
    return beaten


def crowding_distance(losses: ArrayLike) -> _Floats:
    """NSGA-II's crowding distance of each point among ``losses`` (one front): the sum over
    objectives of the gap between its neighbours, relative to the objective's range; the
    extremes of each objective get infinity, so they are kept first."""
    points = _matrix(losses)
    return _crowding(points, np.zeros(len(points), dtype=np.intp))


def _crowding(points: _Floats, groups: NDArray[np.intp]) -> _Floats:
    """The crowding distance of each point within its group (its front), every group at
    once: per objective, one sort by (group, value) and the neighbours' gaps."""
    distance = np.zeros(len(points))
    if not len(points):
        return distance
    for j in range(points.shape[1]):
        order = np.lexsort((points[:, j], groups))  # stable: equal values by position
        group, value = groups[order], points[order, j]
        first = np.r_[True, group[1:] != group[:-1]]
        last = np.r_[group[1:] != group[:-1], True]
        span = np.zeros(int(groups.max()) + 1)
        span[group[last]] = value[last] - value[first]
        width = span[group]
        gap = np.r_[value[1:], value[-1]] - np.r_[value[0], value[:-1]]
        inside = ~first & ~last & (width > 0)
        distance[order[inside]] += gap[inside] / width[inside]
        distance[order[first | last]] = np.inf
    return distance


def pareto_order(losses: ArrayLike, violations: ArrayLike | None = None) -> NDArray[np.intp]:
    """The points' positions, best first: by front (`pareto_ranks`), then, within a
    front, the larger crowding distance first (the less crowded point keeps more of the
    front's spread), then the earlier position. NSGA-II keeps its survivors in this order
    and multi-objective successive halving promotes in it."""
    points = _matrix(losses)
    ranks = pareto_ranks(points, violations)
    crowding = _crowding(points, ranks)
    positions = np.arange(len(points))
    return np.lexsort((positions, -crowding, ranks)).astype(np.intp)


def hypervolume(losses: ArrayLike, reference: Sequence[float] | ArrayLike) -> float:
    """The volume the points dominate, bounded by ``reference`` (a point every objective of
    interest beats). Points that do not beat the reference in every objective add nothing.

    Exact (a sweep in two objectives, slices along the last objective beyond) for up to
    three objectives, and beyond while the front is small enough for slices to be quick.
    An exact volume's cost grows as the front's size to the power of the objectives less
    two, so a larger front in four or more objectives gets an estimate instead: the share
    of 131,072 quasi-random points of the box between the front and the reference that it
    dominates (seeded: the same points give the same estimate), within about 0.5%."""
    points = _matrix(losses)
    bound = np.asarray(reference, dtype=np.float64).reshape(-1)
    if points.shape[1] != len(bound):
        raise ValueError(f"reference has {len(bound)} objectives, the points {points.shape[1]}")
    inside = points[np.all(points < bound, axis=1)]
    with np.errstate(over="ignore"):  # a volume past the largest float is inf, quietly
        if len(inside) and inside.shape[1] > 3:
            inside = inside[_front_of(inside)]
            if float(len(inside)) ** (inside.shape[1] - 2) > EXACT_SLICES:
                return estimated_volume(inside, bound)
        return _volume(inside, bound)


def _volume(points: _Floats, bound: _Floats) -> float:
    if not len(points):
        return 0.0
    if points.shape[1] == 1:
        return float(bound[0] - points[:, 0].min())
    points = points[_front_of(points)]
    if points.shape[1] == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], points[order, 1]
        # On the front, sorted by the first objective, the second decreases: staircase.
        widths = np.append(xs[1:], bound[0]) - xs
        return float(np.sum(widths * (bound[1] - ys)))
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    total = 0.0
    for index in range(len(points)):
        top = points[index + 1, -1] if index + 1 < len(points) else bound[-1]
        height = top - points[index, -1]
        if height > 0:
            total += height * _volume(points[: index + 1, :-1], bound[:-1])
    return total


def _feasible_ranks(points: _Floats) -> NDArray[np.intp]:
    """Non-dominated sorting of points with no constraint: O(n log n) for two objectives,
    a comparison of every pair beyond."""
    unique, inverse = np.unique(points, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if unique.shape[1] == 1:
        ranks = np.arange(len(unique), dtype=np.intp)  # np.unique sorted them
    elif unique.shape[1] == 2:
        ranks = _two_objective_ranks(unique)
    else:
        ranks = _pairwise_ranks(unique)
    return ranks[inverse]


def _two_objective_ranks(unique: _Floats) -> NDArray[np.intp]:
    """Ranks of distinct points sorted by (first, second) objective, as np.unique leaves
    them: an earlier point dominates a later one exactly when its second objective is no
    larger, so each front's smallest second objective so far decides (a binary search)."""
    ranks = np.empty(len(unique), dtype=np.intp)
    lowest: list[float] = []  # per front, the smallest second objective in it so far
    for index, second in enumerate(unique[:, 1].tolist()):
        front = bisect.bisect_right(lowest, second)
        if front == len(lowest):
            lowest.append(second)
        else:
            lowest[front] = second
        ranks[index] = front
    return ranks


def _pairwise_ranks(unique: _Floats) -> NDArray[np.intp]:
    n = len(unique)
    beaten_by = np.zeros(n, dtype=np.intp)
    beats: list[NDArray[np.intp]] = []
    for index in range(n):
        no_worse = np.all(unique[index] <= unique, axis=1)
        better = np.any(unique[index] < unique, axis=1)
        dominated = np.flatnonzero(no_worse & better)
        beats.append(dominated)
        beaten_by[dominated] += 1
    ranks = np.zeros(n, dtype=np.intp)
    front = np.flatnonzero(beaten_by == 0)
    rank = 0
    while len(front):
        ranks[front] = rank
        following: list[int] = []
        for index in front.tolist():
            beaten_by[beats[index]] -= 1
            following.extend(beats[index][beaten_by[beats[index]] == 0].tolist())
        front = np.unique(np.asarray(following, dtype=np.intp))
        rank += 1
    return ranks


def _matrix(losses: ArrayLike) -> _Floats:
    points = np.asarray(losses, dtype=np.float64)
    if points.ndim == 1:
        points = points.reshape(len(points), 1) if len(points) else points.reshape(0, 1)
    if points.ndim != 2:
        raise ValueError(f"losses must be an (n, m) array, got shape {points.shape}")
    return points


def _violations(violations: ArrayLike | None, n: int) -> _Floats:
    if violations is None:
        return np.zeros(n)
    broken = np.asarray(violations, dtype=np.float64).reshape(-1)
    if len(broken) != n:
        raise ValueError(f"{len(broken)} violations for {n} points")
    return broken
