"""How `GP` sees a space and scores points: the model's inputs for unit-cube points
(`Layout`, with inactive parameters imputed), the acquisition over a fitted posterior
(`Acquisition`) and the local searches that climb it (`polish`), and the one BLAS thread
the model's linear algebra runs on (`one_blas_thread`)."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..space import Choice, Space
from ..trial import Config
from ._gpmodel import Posterior, log_ei
from ._lbfgsb import minimize_each

_Array = NDArray[np.float64]

_LCB_KAPPA = 2.0
_POLISH_ITERATIONS = 100  # at most, per local search
# A search stops once no projected gradient component of log EI (per length scale) exceeds
# this: the peak is then found to well within the spacing that matters to the model.
_POLISH_TOLERANCE = 1e-2

INACTIVE = -0.5
"""The unit-cube coordinate of an inactive parameter (`Space.encode` gives NaN there):
half a range below every active value, so that configs where a parameter is inactive are
alike in that coordinate and apart from every config where it is active, and no
active value is nearer to them than another."""


def impute(points: _Array) -> _Array:
    """``points`` (from `Space.encode`) with `INACTIVE` where they hold NaN."""
    return np.where(np.isnan(points), INACTIVE, points)


class Layout:
    """How the GP sees a space: a column per Float or Int, a one-hot block per Choice; an
    inactive parameter's coordinate is `INACTIVE`, and so is its column (an inactive
    Choice's block is all zeros).

    On a conditional space (`Space.conditional`), `canonical` maps unit-cube points to the
    points of the configs they decode to, so that the acquisition is scored where a trial
    would really run: a coordinate of a parameter inactive there becomes `INACTIVE`.
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.conditional = bool(getattr(space, "conditional", ()))
        self.dimension = space.dimension
        continuous: list[int] = []
        self.blocks: list[tuple[int, int, int]] = []  # (unit coordinate, first column, k)
        self.width = 0
        columns: list[int] = []  # the feature column of each continuous coordinate
        for index, domain in enumerate(space.domains.values()):
            if isinstance(domain, Choice):
                k = len(domain.values)
                if k > 1:  # a Choice of one value tells the model nothing
                    self.blocks.append((index, self.width, k))
                    self.width += k
            else:
                continuous.append(index)
                columns.append(self.width)
                self.width += 1
        self.continuous = np.array(continuous, dtype=np.intp)
        self.columns = np.array(columns, dtype=np.intp)

    def encode(self, config: Config) -> _Array:
        """``config``'s unit-cube point, `INACTIVE` at its inactive parameters."""
        return impute(self.space.encode(config))

    def decode(self, point: _Array) -> Config:
        """The config at a unit-cube ``point`` (`INACTIVE` coordinates are dropped by the
        space, whatever they decode to)."""
        return self.space.decode(np.clip(point, 0.0, 1.0))

    def canonical(self, points: _Array) -> _Array:
        """The points of the configs that ``points`` decode to, on a conditional space;
        ``points`` themselves on another (where decoding changes only rounding)."""
        if not self.conditional or len(points) == 0:
            return points
        configs = self.space.decode_many(np.clip(points, 0.0, 1.0))
        return np.array([self.encode(config) for config in configs], dtype=np.float64)

    def features(self, points: _Array) -> _Array:
        """The model's inputs for unit-cube ``points`` of shape (n, dimension)."""
        n = len(points)
        features = np.zeros((n, self.width))
        features[:, self.columns] = points[:, self.continuous]
        for index, first, k in self.blocks:
            # The Choice's own decoding: the value whose cell holds the coordinate; none
            # for an inactive Choice.
            rows = np.flatnonzero(points[:, index] != INACTIVE)
            cell = np.clip(points[rows, index], 0.0, 1.0) * k
            features[rows, first + np.minimum(cell.astype(np.intp), k - 1)] = 1.0
        return features


class Acquisition:
    """The posterior over every row and the acquisition to maximise over it (on warped
    values: ``best`` is the least warped result)."""

    def __init__(self, posterior: Posterior, best: float, acquisition: str) -> None:
        self._posterior = posterior
        self._best = best
        self._acquisition = acquisition
        self.lengths = 1.0 / np.sqrt(posterior.ils)  # per feature column

    def score(self, features: _Array) -> _Array:
        """The acquisition at each row of ``features``: higher is better. For EI, its
        logarithm, which keeps ranks and gradients where EI itself underflows."""
        mean, variance = self._posterior.predict(features)
        if self._acquisition == "lcb":
            return -(mean - _LCB_KAPPA * np.sqrt(variance))
        return log_ei(mean, variance, self._best)[0]

    def score_with_gradient(self, features: _Array) -> tuple[_Array, _Array]:
        """`score` and its gradient in each row's features."""
        mean, variance, d_mean, d_variance = self._posterior.predict_with_gradient(features)
        if self._acquisition == "lcb":
            std = np.sqrt(variance)
            gradient = -(d_mean - _LCB_KAPPA * d_variance / (2.0 * std)[:, np.newaxis])
            return -(mean - _LCB_KAPPA * std), gradient
        value, by_mean, by_variance = log_ei(mean, variance, self._best)
        gradient = by_mean[:, np.newaxis] * d_mean + by_variance[:, np.newaxis] * d_variance
        return value, gradient


def polish(model: Acquisition, layout: Layout, starts: _Array) -> tuple[_Array, _Array]:
    """Refine each start by its own L-BFGS-B search over its continuous coordinates
    (their Choice values stay as they are, and so do coordinates inactive at the start),
    in coordinates divided by the length scales so that every direction is equally
    steep. The ends are made canonical (`Layout.canonical`) and scored again. Returns
    the points and their scores."""
    columns = layout.continuous
    feature_columns = layout.columns
    lengths = model.lengths[feature_columns]
    base = layout.features(starts)
    initial = model.score(base)
    held = starts[:, columns] == INACTIVE  # what the search must not make active

    def negative(indices: NDArray[np.intp], scaled: _Array) -> tuple[_Array, _Array]:
        features = base[indices]  # the starts' Choice columns, then the searched ones
        features[:, feature_columns] = np.where(held[indices], INACTIVE, scaled * lengths)
        values, gradient = model.score_with_gradient(features)
        moved = np.where(held[indices], 0.0, gradient[:, feature_columns] * lengths)
        return -values, -moved

    ends, _ = minimize_each(
        negative,
        np.clip(starts[:, columns], 0.0, 1.0) / lengths,
        [(0.0, 1.0 / length) for length in lengths],
        max_iterations=_POLISH_ITERATIONS,
        gradient_tolerance=_POLISH_TOLERANCE,
    )
    points = starts.copy()
    points[:, columns] = np.where(held, INACTIVE, np.clip(ends * lengths, 0.0, 1.0))
    points = layout.canonical(points)  # a search may have switched a parameter on or off
    values = model.score(layout.features(points))
    worse = ~(values > initial)  # keep a start that its search did not improve
    points[worse], values[worse] = starts[worse], initial[worse]
    return points, values


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread.

    The model's matrices (a few hundred rows) gain little from threads, and the workers own
    the cores: on a busy machine, BLAS threads waiting for cores made suggestions up to ten
    times slower in our measurements.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller() -> Any:
    import scipy.linalg  # noqa: F401  (load scipy's BLAS before taking stock of them)
    import sklearn  # noqa: F401

    # threadpoolctl comes with scikit-learn; it has no type information.
    return importlib.import_module("threadpoolctl").ThreadpoolController()
