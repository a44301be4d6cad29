"""B14's test problems: ZDT1, ZDT2, ZDT3 (30 variables) and DTLZ2 (3 objectives, 12
variables), from their published formulas, with the reference point of each hypervolume and
the hypervolume of each problem's true Pareto front.

ZDT (Zitzler, Deb and Thiele 2000), x in [0, 1]^30, ``g = 1 + 9 * sum(x[1:]) / 29``::

    f1 = x[0]
    ZDT1: f2 = g * (1 - sqrt(f1 / g))
    ZDT2: f2 = g * (1 - (f1 / g)^2)
    ZDT3: f2 = g * (1 - sqrt(f1 / g) - (f1 / g) * sin(10 pi f1))

The front is at ``g = 1`` (x[1:] = 0). DTLZ2 (Deb, Thiele, Laumanns and Zitzler 2002), M = 3
objectives, k = 10, so n = M + k - 1 = 12 variables in [0, 1],
``g = sum((x[2:] - 0.5)^2)``::

    f1 = (1 + g) cos(x0 pi/2) cos(x1 pi/2)
    f2 = (1 + g) cos(x0 pi/2) sin(x1 pi/2)
    f3 = (1 + g) sin(x0 pi/2)

Its front is the unit sphere's positive octant (g = 0).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paratune.pareto import hypervolume, non_dominated

ZDT_VARIABLES = 30
DTLZ_OBJECTIVES, DTLZ_K = 3, 10
# ZDT: (11, 11), the reference of many ZDT studies: g = 1 + 9 * mean(x[1:]) is at most 10, so
# every point of the box, random ones included, lies inside it and each method scores from
# its first evaluation. DTLZ2: a uniform point has E[g] = 10 / 12 ~ 0.83, so objectives up to
# about 1.9; (2.5, 2.5, 2.5) holds nearly every point that random search draws and leaves the
# front's volume (15.625 - pi/6) its share of the total.
ZDT_REFERENCE = (11.0, 11.0)
DTLZ2_REFERENCE = (2.5, 2.5, 2.5)


def _zdt_g(x: Sequence[float]) -> float:
    return 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)


def zdt1(x: Sequence[float]) -> tuple[float, float]:
    """ZDT1: a convex front, f2 = 1 - sqrt(f1)."""
    f1, g = float(x[0]), _zdt_g(x)
    return f1, g * (1.0 - math.sqrt(f1 / g))


def zdt2(x: Sequence[float]) -> tuple[float, float]:
    """ZDT2: a concave front, f2 = 1 - f1^2."""
    f1, g = float(x[0]), _zdt_g(x)
    return f1, g * (1.0 - (f1 / g) ** 2)


def zdt3(x: Sequence[float]) -> tuple[float, float]:
    """ZDT3: a front in five disconnected pieces (f2 goes below 0)."""
    f1, g = float(x[0]), _zdt_g(x)
    return f1, g * (1.0 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10.0 * math.pi * f1))


def dtlz2(x: Sequence[float]) -> tuple[float, ...]:
    """DTLZ2 with 3 objectives: the front is the positive octant of the unit sphere."""
    g = sum((float(v) - 0.5) ** 2 for v in x[DTLZ_OBJECTIVES - 1 :])
    a, b = float(x[0]) * math.pi / 2, float(x[1]) * math.pi / 2
    return (
        (1 + g) * math.cos(a) * math.cos(b),
        (1 + g) * math.cos(a) * math.sin(b),
        (1 + g) * math.sin(a),
    )


def _zdt_front_volume(fn: Callable[[Sequence[float]], tuple[float, ...]]) -> float:
    """The hypervolume of a ZDT front from 100,001 points on it (g = 1: x[1:] = 0, here one
    0, which gives the same g): exact to about 1e-5 (the staircase under the curve)."""
    points = np.array([fn([v, 0.0]) for v in np.linspace(0.0, 1.0, 100_001).tolist()])
    front = points[non_dominated(points)]
    return hypervolume(front, ZDT_REFERENCE)


@dataclass(frozen=True)
class Problem:
    """A multi-objective box problem: its variables, its function, the reference point of
    its hypervolume, and the hypervolume of its true front (the most any method scores)."""

    key: str
    label: str
    variables: int
    fn: Callable[[Sequence[float]], tuple[float, ...]]
    reference: tuple[float, ...]
    best_volume: Callable[[], float]

    @property
    def objectives(self) -> int:
        return len(self.reference)

    @property
    def metrics(self) -> list[str]:
        """The objectives' names: f1, f2, ..."""
        return [f"f{i + 1}" for i in range(self.objectives)]

    @property
    def names(self) -> list[str]:
        """The variables' names: x00, x01, ..."""
        return [f"x{i:02d}" for i in range(self.variables)]


def _zdt(key: str, label: str, fn: Callable[[Sequence[float]], tuple[float, float]]) -> Problem:
    volume = functools.cache(lambda: _zdt_front_volume(fn))
    return Problem(key, label, ZDT_VARIABLES, fn, ZDT_REFERENCE, volume)


PROBLEMS = (
    _zdt("zdt1", "ZDT1 (30 variables, convex front)", zdt1),
    _zdt("zdt2", "ZDT2 (30 variables, concave front)", zdt2),
    _zdt("zdt3", "ZDT3 (30 variables, disconnected front)", zdt3),
    Problem(
        "dtlz2",
        "DTLZ2 (3 objectives, k=10: 12 variables, spherical front)",
        DTLZ_OBJECTIVES + DTLZ_K - 1,
        dtlz2,
        DTLZ2_REFERENCE,
        lambda: math.prod(DTLZ2_REFERENCE) - math.pi / 6,  # the box less the octant
    ),
)


def problem_named(key: str) -> Problem:
    """The problem whose key is ``key``."""
    for problem in PROBLEMS:
        if problem.key == key:
            return problem
    known = ", ".join(problem.key for problem in PROBLEMS)
    raise SystemExit(f"unknown problem {key!r}; known: {known}")


def volume_after(
    losses: Sequence[Sequence[float]], budget: int, reference: Sequence[float]
) -> float:
    """The hypervolume of the first ``budget`` points (trial-id order) against
    ``reference``: the front a run has found after that many evaluations."""
    points = np.asarray(losses[:budget], dtype=np.float64)
    if not len(points):
        return 0.0
    return hypervolume(points[non_dominated(points)], reference)
