"""Parzen estimators for `TPE`: weighted mixtures of product kernels over a group of
parameters, which draw points and score them.

A point is a row of coordinates, one per parameter of the group: a Float or Int parameter
is its unit-cube coordinate (log ranges in log space), a Choice is the index of its value.
Each observation is a kernel: a truncated normal on ``[0, 1]`` for each numeric coordinate,
and for each Choice a distribution that puts most of its mass on the observed value. One
more kernel, the prior, is wide: a normal centred on the range of width 1 and a uniform
choice. These are the kernels of Optuna's `TPESampler` (its ``_ParzenEstimator``, as of
Optuna 5), with its defaults (``consider_prior``, ``consider_magic_clip``, no
``consider_endpoints``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_Array = NDArray[np.float64]
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# A kernel is at least 0.01 wide and keeps at least a third of its mass on [0, 1]: over up
# to 100 coordinates the product of those factors stays far above the smallest float64.
_PRODUCT_COLUMNS = 100
_NEGLIGIBLE = -60.0  # log of a kernel's share of a density that no float64 sum would keep


@dataclass(frozen=True)
class Mixture:
    """A fitted Parzen estimator over a group of parameters (the last kernel is the prior).

    Attributes:
        log_weights: each kernel's log mixture weight, shape ``(k,)``; they sum to one.
        numeric: the positions, in a point of the group, of the numeric coordinates.
        categorical: the positions of the Choice coordinates.
        means: each kernel's centre on each numeric coordinate, shape ``(k, numeric)``.
        sigmas: each kernel's standard deviation there, the same shape.
        cdf_low: the normal CDF of each kernel at 0, the same shape.
        cdf_high: the normal CDF of each kernel at 1, the same shape.
        base: each kernel's log weight less its log normaliser (``log sigma +
            log(cdf_high - cdf_low) + log(2 pi) / 2`` per numeric coordinate) and half its
            ``sum(mean**2 / sigma**2)``: the constant part of its log density, shape ``(k,)``.
        precisions: ``1 / sigmas**2``, shape ``(k, numeric)``.
        pulls: ``means / sigmas**2``, the same shape.
        values: each kernel's observed index on each Choice coordinate, shape
            ``(k, categorical)``; -1 in the prior's row.
        choices: how many values each Choice coordinate has, shape ``(categorical,)``.
        keep: the probability that a draw from an observation's kernel keeps its value,
            per Choice coordinate (otherwise it draws a value uniformly).
        log_hit: the log probability an observation's kernel gives its own value.
        log_miss: the log probability it gives each other value.
    """

    log_weights: _Array
    numeric: NDArray[np.intp]
    categorical: NDArray[np.intp]
    means: _Array
    sigmas: _Array
    cdf_low: _Array
    cdf_high: _Array
    base: _Array
    precisions: _Array
    pulls: _Array
    values: NDArray[np.intp]
    choices: NDArray[np.intp]
    keep: _Array
    log_hit: _Array
    log_miss: _Array


def fit(
    points: _Array,
    weights: _Array,
    choices: NDArray[np.intp],
    *,
    observed: int,
    prior_weight: float,
) -> Mixture:
    """Fit a Parzen estimator to ``points`` (one kernel each) and the prior.

    Args:
        points: the observations' coordinates, shape ``(n, group)``: unit-cube coordinates
            for numeric parameters, value indices for Choice ones.
        weights: each observation's weight, shape ``(n,)`` (not normalised).
        choices: for each coordinate, 0 when it is numeric, else the number of values.
        observed: how many observations the kernels stand for (more than ``n`` when they
            are a subsample): it sets the narrowest bandwidth and the Choice kernels' spread.
        prior_weight: the prior kernel's weight, next to the observations' weights.

    A kernel's bandwidth on a numeric coordinate is the larger of its gaps to its two
    neighbours there (Optuna's rule, joint kernels or not).
    """
    numeric = np.flatnonzero(choices == 0)
    categorical = np.flatnonzero(choices > 0)
    all_weights = np.append(np.asarray(weights, dtype=np.float64), prior_weight)
    log_weights = np.log(all_weights / all_weights.sum())
    kernels = observed + 1  # the observations and the prior
    means = np.vstack([points[:, numeric], np.full((1, len(numeric)), 0.5)])
    # Optuna's "magic clip" (from hyperopt): no kernel narrower than the range over the
    # number of kernels (at most 100), none wider than the range; the prior spans it.
    narrowest = 1.0 / min(100.0, 1.0 + kernels)
    sigmas = np.clip(_neighbour_sigmas(points[:, numeric]), narrowest, 1.0)
    sigmas = np.vstack([sigmas, np.ones((1, len(numeric)))])
    from scipy.special import ndtr  # here: importing scipy.special costs 0.2 s at start-up

    cdf_low, cdf_high = ndtr(-means / sigmas), ndtr((1.0 - means) / sigmas)
    masses = sigmas * (cdf_high - cdf_low)  # a kernel's normaliser on each coordinate
    log_norm = _log_row_products(masses) + len(numeric) * _HALF_LOG_2PI
    precisions = 1.0 / sigmas**2
    values = np.vstack(
        [points[:, categorical].astype(np.intp), np.full((1, len(categorical)), -1, np.intp)]
    )
    counts = choices[categorical]
    # Optuna's categorical kernel: prior_weight / kernels on every value, plus 1 on the
    # observed one, normalised.
    spread = prior_weight / kernels
    total = 1.0 + counts * spread
    return Mixture(
        log_weights=log_weights,
        numeric=numeric,
        categorical=categorical,
        means=means,
        sigmas=sigmas,
        cdf_low=cdf_low,
        cdf_high=cdf_high,
        base=log_weights - log_norm - 0.5 * np.einsum("kd,kd->k", means * means, precisions),
        precisions=precisions,
        pulls=means * precisions,
        values=values,
        choices=counts,
        keep=np.asarray(1.0 / total, dtype=np.float64),
        log_hit=np.log((1.0 + spread) / total),
        log_miss=np.log(spread / total),
    )


def _log_row_products(masses: _Array) -> _Array:
    """``log(masses).sum(axis=1)``, by one logarithm per row where a row's product cannot
    underflow."""
    if masses.shape[1] <= _PRODUCT_COLUMNS:
        return np.asarray(np.log(masses.prod(axis=1)), dtype=np.float64)
    return np.asarray(np.log(masses).sum(axis=1), dtype=np.float64)


def draw(rng: np.random.Generator, weights: _Array, size: int) -> NDArray[np.intp]:
    """``size`` indices drawn with replacement with probability proportional to
    ``weights`` (by inverse CDF: ``Generator.choice`` with ``p`` checks and copies more)."""
    cumulative = np.cumsum(weights)
    picked = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    return np.asarray(np.minimum(picked, len(weights) - 1), dtype=np.intp)


def _neighbour_sigmas(means: _Array) -> _Array:
    """Optuna's bandwidths: per coordinate, the larger of the gaps to a kernel's two
    neighbours among the observations and the ends 0 and 1; with two observations or more,
    the outermost kernels take their one inner gap."""
    count, columns = means.shape
    if count == 0:
        return np.zeros((0, columns))
    # Column by column as contiguous rows: sorting along a row is several times faster.
    rows = np.ascontiguousarray(means.T)
    order = np.argsort(rows, axis=1)
    padded = np.empty((columns, count + 2))
    padded[:, 0], padded[:, -1] = 0.0, 1.0
    padded[:, 1:-1] = np.take_along_axis(rows, order, axis=1)
    gaps = np.maximum(padded[:, 1:-1] - padded[:, :-2], padded[:, 2:] - padded[:, 1:-1])
    if count >= 2:
        gaps[:, 0] = padded[:, 2] - padded[:, 1]
        gaps[:, -1] = padded[:, -2] - padded[:, -3]
    sigmas = np.empty_like(gaps)
    np.put_along_axis(sigmas, order, gaps, axis=1)
    return np.asarray(sigmas.T, dtype=np.float64)


def sample(mixture: Mixture, rng: np.random.Generator, size: int) -> _Array:
    """Draw ``size`` points from ``mixture``: a kernel by weight, then each coordinate
    from that kernel (the same kernel for every coordinate of a point)."""
    kernel = draw(rng, np.exp(mixture.log_weights), size)
    points = np.empty((size, len(mixture.numeric) + len(mixture.categorical)))
    if len(mixture.numeric):
        low, high = mixture.cdf_low[kernel], mixture.cdf_high[kernel]
        # Inverse-CDF sampling of the truncated normal: the kernels' centres are inside
        # [0, 1] and their widths at least 0.01, so the CDF range is never vanishingly small.
        uniform = low + rng.random(low.shape) * (high - low)
        from scipy.special import ndtri  # as in `fit`: not at start-up

        drawn = mixture.means[kernel] + mixture.sigmas[kernel] * ndtri(uniform)
        points[:, mixture.numeric] = np.clip(drawn, 0.0, 1.0)
    if len(mixture.categorical):
        counts = mixture.choices
        anywhere = np.minimum(
            (rng.random((size, len(counts))) * counts).astype(np.intp), counts - 1
        )
        own = mixture.values[kernel]
        kept = (own >= 0) & (rng.random(own.shape) < mixture.keep)
        points[:, mixture.categorical] = np.where(kept, own, anywhere)
    return points


def log_pdf(mixture: Mixture, points: _Array) -> _Array:
    """The log density of ``mixture`` at each row of ``points``, shape ``(m,)``; a Choice
    coordinate counts as a probability, a numeric one as a density."""
    terms = np.repeat(mixture.base[np.newaxis, :], len(points), axis=0)
    if len(mixture.numeric):
        # sum((x - mean)**2 / sigma**2) expanded: two matrix products instead of an
        # (m, k, numeric) array.
        x = points[:, mixture.numeric]
        terms += x @ mixture.pulls.T - 0.5 * (x**2 @ mixture.precisions.T)
    if len(mixture.categorical):
        chosen = points[:, mixture.categorical].astype(np.intp)
        hits = chosen[:, np.newaxis, :] == mixture.values[np.newaxis, :, :]
        terms = terms + np.where(hits, mixture.log_hit, mixture.log_miss).sum(axis=2)
        # The prior's row matched nothing (its values are -1): it is uniform instead.
        uniform = -np.log(mixture.choices.astype(np.float64))
        terms[:, -1] += float((uniform - mixture.log_miss).sum())
    top = terms.max(axis=1)
    # A kernel this far below the largest adds under 1e-26 of it: flooring such terms keeps
    # exp off its slow underflow path and changes the sum by nothing that float64 keeps.
    relative = np.maximum(terms - top[:, np.newaxis], _NEGLIGIBLE)
    return np.asarray(top + np.log(np.exp(relative).sum(axis=1)))
