"""The estimated hypervolume of four or more objectives: the share of a fixed set of seeded
quasi-random points of a box that the losses dominate (what `paratune.pareto.hypervolume`
gives for a large front, and what a run's hypervolume curve takes trial by trial).

A quasi-random point, once dominated, stays dominated as points are added, so the points
still free are kept and each new loss vector is compared with those alone, one objective
at a time: a point is dropped at the first objective that rules it out, which is most of
them at the first objective or two. That costs a small part of comparing every point in
every objective, and a curve over a whole run costs about as much as one estimate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAMPLES_LOG2 = 17
"""The box holds ``2 ** 17`` (131,072) scrambled Sobol' points, seed 0."""

EXACT_SLICES = 20_000
"""The most slices an exact volume may take (about a second): the front's size to the
power of the objectives less two. A larger front's volume is estimated."""


class Coverage:
    """The quasi-random points of the box between ``low`` and ``bound`` (losses), and which
    of them the loss vectors added so far dominate.

    >>> box = Coverage(np.zeros(4), np.ones(4))
    >>> box.add(np.full(4, 0.5))
    >>> round(box.volume, 3)  # exactly 0.5 ** 4 = 0.0625
    0.062
    """

    def __init__(self, low: NDArray[np.float64], bound: NDArray[np.float64]) -> None:
        from scipy.stats import qmc

        unit = qmc.Sobol(len(bound), seed=0).random_base2(SAMPLES_LOG2)
        samples = low + unit * (bound - low)
        self._columns = np.ascontiguousarray(samples.T)  # an objective's values side by side
        self._free = np.arange(len(samples))  # positions no loss vector dominates yet
        self._covered = np.zeros(len(samples), dtype=bool)
        self._total = len(samples)
        self._box = float(np.prod(bound - low))

    def add(self, losses: NDArray[np.float64]) -> None:
        """Count the points ``losses`` dominates (no larger in every objective) as covered."""
        hit = self._free
        for column, value in zip(self._columns, losses.tolist(), strict=True):
            hit = hit[column[hit] >= value]
            if not len(hit):
                return
        self._covered[hit] = True
        self._free = self._free[~self._covered[self._free]]

    @property
    def volume(self) -> float:
        """The box's volume times the share of its points covered so far."""
        return self._box * (self._total - len(self._free)) / self._total


def estimated_volume(front: NDArray[np.float64], bound: NDArray[np.float64]) -> float:
    """The volume ``front`` dominates below ``bound``, in the box from its lowest losses:
    the points that dominate most first, so the later ones scan fewer free points."""
    coverage = Coverage(front.min(axis=0), bound)
    for index in np.argsort(-np.prod(bound - front, axis=1), kind="stable"):
        coverage.add(front[index])
    return coverage.volume
