"""NSGA-II's parts: binary tournament, simulated binary crossover and polynomial mutation in
the unit cube, and `Archive`, the observations and the survivors among them.

The operators are Deb's bounded versions (as DEAP's ``cxSimulatedBinaryBounded`` and
``mutPolynomialBounded`` and pymoo's defaults), on ``[0, 1]`` in every coordinate. Each
draws a fixed count of numbers, so a searcher's sequence depends only on the calls made.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..pareto import pareto_order

_Array = NDArray[np.float64]
_Rows = NDArray[np.intp]

# Each ordering keeps this many times the population of the best rows for the next one: a
# margin beyond the survivors, for rows that new ones push down, while the cost of an
# ordering stays flat however many trials were observed.
_KEPT = 3
_CLOSE = 1e-14  # parents closer than this in a coordinate are not crossed there


def tournament(size: int, rng: np.random.Generator) -> int:
    """A binary tournament among ``size`` survivors kept best first: of two drawn at
    random, the one placed earlier wins (lower front, then larger crowding distance)."""
    first, second = rng.integers(size, size=2).tolist()
    return int(min(first, second))


def crossover(
    first: _Array, second: _Array, rng: np.random.Generator, *, eta: float, probability: float
) -> _Array:
    """One child of two parents by simulated binary crossover (SBX), bounded to the cube.

    With ``probability`` the parents are crossed, each coordinate with chance one half; the
    child takes, in each crossed coordinate, one of the pair of values SBX makes there, at
    random. Otherwise the child is the first parent.
    """
    draws = rng.random((4, len(first)))
    child = first.copy()
    if draws[0, 0] >= probability:
        return child
    low, high = np.minimum(first, second), np.maximum(first, second)
    gap = high - low
    crossed = (draws[1] < 0.5) & (gap > _CLOSE)
    if not crossed.any():
        return child
    low, high, gap, u = low[crossed], high[crossed], gap[crossed], draws[2, crossed]
    lower = 0.5 * (low + high - _spread(1.0 + 2.0 * low / gap, u, eta) * gap)
    upper = 0.5 * (low + high + _spread(1.0 + 2.0 * (1.0 - high) / gap, u, eta) * gap)
    swap = draws[3, crossed] < 0.5
    child[crossed] = np.clip(np.where(swap, upper, lower), 0.0, 1.0)
    return child


def _spread(beta: _Array, u: _Array, eta: float) -> _Array:
    """SBX's spread factor for uniform draws ``u``, its distribution cut so that the child
    stays within the bound that ``beta`` measures."""
    alpha = 2.0 - beta ** -(eta + 1.0)
    inside = u <= 1.0 / alpha
    # Both branches are computed and one is kept: keep the other one's base positive.
    near = (np.where(inside, u * alpha, 1.0)) ** (1.0 / (eta + 1.0))
    far = (1.0 / np.where(inside, 1.0, 2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
    spread: _Array = np.where(inside, near, far)
    return spread


def mutation(point: _Array, rng: np.random.Generator, *, eta: float, probability: float) -> _Array:
    """``point`` after polynomial mutation: each coordinate, with ``probability``, moves by
    a step whose distribution (index ``eta``) keeps it within ``[0, 1]``."""
    draws = rng.random((2, len(point)))
    moved = draws[0] < probability
    if not moved.any():
        return point
    x, u = point[moved], draws[1, moved]
    power = 1.0 / (eta + 1.0)
    below = u < 0.5
    # Towards 0 the room is x, towards 1 it is 1 - x.
    room = np.where(below, x, 1.0 - x)
    shrink = (1.0 - room) ** (eta + 1.0)
    down = (2.0 * u + (1.0 - 2.0 * u) * shrink) ** power - 1.0
    up = 1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * shrink) ** power
    result = point.copy()
    result[moved] = np.clip(x + np.where(below, down, up), 0.0, 1.0)
    return result


class Archive:
    """The usable observations (each a row: its losses and its violation) and the best
    ``population`` of them, the survivors, in `paratune.pareto.pareto_order`.

    Each ordering keeps only the best ``3 * population`` rows for the next one, which
    orders them with the rows added since: a margin beyond the survivors, for the rows that
    new ones push down. So, while the fronts are not crowded, the survivors are those of
    every row observed, whatever order the rows came in; on a front of more than that many
    rows, the crowding distance is measured among the kept ones (NSGA-II's own selection
    keeps only the population). An ordering costs the same after 100 rows and after
    100,000.
    """

    def __init__(self, population: int) -> None:
        self.population = population
        self._losses: list[tuple[float, ...]] = []
        self._violations: list[float] = []
        self._kept: set[int] = set()  # the rows that may still be survivors
        self._fresh: list[int] = []  # rows added or changed since the last ordering
        self._survivors: _Rows = np.empty(0, dtype=np.intp)

    def __len__(self) -> int:
        return len(self._losses)

    def add(self, losses: tuple[float, ...], violation: float) -> int:
        """Add an observation; return its row."""
        self._losses.append(losses)
        self._violations.append(violation)
        self._fresh.append(len(self._losses) - 1)
        return len(self._losses) - 1

    def replace(self, row: int, losses: tuple[float, ...], violation: float) -> None:
        """A later result of the trial at ``row`` (a promotion to a higher budget) replaces
        its earlier one."""
        self._losses[row], self._violations[row] = losses, violation
        self._fresh.append(row)

    def survivors(self) -> _Rows:
        """The rows of the best ``population`` observations, best first."""
        if not self._fresh:
            return self._survivors
        rows = np.array(sorted(self._kept.union(self._fresh)), dtype=np.intp)
        self._fresh = []
        losses = np.array([self._losses[row] for row in rows.tolist()], dtype=np.float64)
        violations = np.array([self._violations[row] for row in rows.tolist()])
        order = pareto_order(losses, violations)
        self._kept = set(rows[order[: _KEPT * self.population]].tolist())
        self._survivors = rows[order[: self.population]]
        return self._survivors
