"""A small Gaussian-process regressor in NumPy and SciPy, for `GP`.

Kernel ``scale * Matern52(r) + noise * I`` with ``r^2 = sum_i ils_i (x_i - x'_i)^2`` (one
inverse squared length scale per input column). The hyperparameters are fitted by maximum a
posteriori: the log marginal likelihood plus weak priors, which keep length scales and noise
away from the degenerate values that plain maximum likelihood reaches with few points in many
dimensions. Everything works on standardised outputs (mean 0, standard deviation 1), which
`warp_outputs` also brings closer to normal.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import NDArray

_Array = NDArray[np.float64]

_SQRT5 = math.sqrt(5.0)
_MIN_NOISE = 1e-6  # noise variance floor: keeps the covariance factorisable
_JITTER = 1e-10
_FIT_ITERATIONS = 200
_FIT_GTOL = 1e-2  # loose: the acquisition needs the hyperparameters roughly, not exactly
_LOG_ILS_LOW = math.log(0.25)  # inverse squared length scale >= 1/4: length scale <= 2
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)


def default_theta(width: int) -> _Array:
    """Log hyperparameters ``[log ils (width), log scale, log (noise - floor)]`` to start from:
    unit length scales, unit signal variance and unit noise, as the outputs are standardised."""
    return np.zeros(width + 2)


def standardise(y: _Array) -> _Array:
    """``y`` shifted and scaled to mean 0 and standard deviation 1 (only shifted when
    every value is the same)."""
    centred: _Array = y - y.mean()
    spread = float(centred.std())
    return centred / spread if spread > 0 else centred


def warp_outputs(y: _Array) -> _Array:
    """``y`` standardised, made closer to normally distributed by a Yeo-Johnson power
    transform (its exponent by maximum likelihood), then standardised again.

    The transform is increasing, so the order of the values and the best one stay as they
    are. A GP assumes normal values: a long tail of very bad results (Rosenbrock's corners)
    otherwise spreads the scale so wide that the differences among the good results, the
    ones that matter, look like noise. It cannot separate results that a single extreme
    value (a score of 1e10 for a failed run) has squeezed together: report such a run as
    failed instead. Values the transform cannot handle come back only standardised, and so
    do values whose fitted exponent is above 1: they have a long tail of *good* results
    (Hartmann-6), which the transform would squeeze together where the model must resolve
    the optimum (on B8's seeds it cost Hartmann-6 at 8 workers its last 1e-4).
    """
    from scipy.stats import yeojohnson

    standard = standardise(y)
    if len(y) < 3 or not standard.any():
        return standard
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # An extreme exponent can overflow inside the maximum-likelihood search.
        warnings.simplefilter("ignore")
        transformed, exponent = yeojohnson(standard)
        warped = np.asarray(transformed, dtype=np.float64)
    if exponent > 1.0 or not np.all(np.isfinite(warped)) or not float(np.ptp(warped)) > 0:
        return standard
    return standardise(warped)


def _matern(r2: _Array) -> tuple[_Array, _Array]:
    """Matern 5/2 of unit variance as a function of the squared distance, and its derivative
    with respect to the squared distance (finite at zero, unlike the one in ``r``)."""
    r = np.sqrt(np.maximum(r2, 0.0))
    decay = np.exp(-_SQRT5 * r)
    value = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * decay
    slope = -(5.0 / 6.0) * (1.0 + _SQRT5 * r) * decay
    return value, slope


def _unpack(theta: _Array) -> tuple[_Array, float, float]:
    width = len(theta) - 2
    ils = np.exp(theta[:width])
    return ils, float(np.exp(theta[width])), float(np.exp(theta[width + 1])) + _MIN_NOISE


def _log_prior(theta: _Array) -> tuple[float, _Array]:
    """Log prior density (up to a constant) of the hyperparameters and its gradient in theta.

    Inverse squared length scales: ``-(0.1 / ils + 0.1 * ils)``, which penalises both a
    dimension the model ignores and one it treats as noise; signal variance: Gamma(2, 1);
    noise variance: Gamma(1.1, 30), most of its mass below 0.1 of the standardised variance.
    """
    ils, scale, noise = _unpack(theta)
    width = len(ils)
    value = -float((0.1 / ils + 0.1 * ils).sum()) + (math.log(scale) - scale)
    value += 0.1 * math.log(noise) - 30.0 * noise
    gradient = np.empty(width + 2)
    gradient[:width] = 0.1 / ils - 0.1 * ils
    gradient[width] = 1.0 - scale
    gradient[width + 1] = (0.1 / noise - 30.0) * (noise - _MIN_NOISE)
    return value, gradient


def _negative_log_posterior(theta: _Array, squares: _Array, y: _Array) -> tuple[float, _Array]:
    """The loss to minimise over theta, and its gradient; ``squares`` holds the squared
    differences of every pair of rows per column, shape (n, n, width)."""
    from scipy.linalg import LinAlgError, cho_solve, cholesky

    ils, scale, noise = _unpack(theta)
    n, width = len(y), len(ils)
    value, slope = _matern(squares @ ils)
    covariance = scale * value
    covariance[np.diag_indices(n)] += noise + _JITTER
    try:
        lower = cholesky(covariance, lower=True, check_finite=False)
    except LinAlgError:
        return 1e20, np.zeros_like(theta)  # L-BFGS-B backs off from it
    alpha = cho_solve((lower, True), y, check_finite=False)
    loss = 0.5 * float(y @ alpha) + float(np.log(np.diag(lower)).sum()) + n * _LOG_SQRT_2PI
    # d loss / d theta_j = -0.5 trace(W dK/dtheta_j), W = alpha alpha^T - K^-1.
    weights = np.outer(alpha, alpha) - cho_solve((lower, True), np.eye(n), check_finite=False)
    gradient = np.empty_like(theta)
    gradient[:width] = -0.5 * ils * np.einsum("jk,jki->i", weights * (scale * slope), squares)
    gradient[width] = -0.5 * float((weights * (scale * value)).sum())
    gradient[width + 1] = -0.5 * float(np.trace(weights)) * (noise - _MIN_NOISE)
    prior, prior_gradient = _log_prior(theta)
    return loss - prior, gradient - prior_gradient


def fit_theta(x: _Array, y: _Array, start: _Array) -> _Array:
    """MAP hyperparameters for inputs ``x`` and standardised outputs ``y``, by L-BFGS-B from
    ``start`` (the previous fit: a warm start converges in a few steps) and, when that is not
    the default, from the default too; the better of the two wins."""
    from scipy.optimize import minimize

    squares = (x[:, np.newaxis, :] - x[np.newaxis, :, :]) ** 2
    # Length scales at most 2 (the unit cube's width is 1): a longer one says the dimension
    # does not matter, which a few points near one optimum can suggest wrongly. On Hartmann-6
    # with 8 workers (30 seeds) it took the runs in the global basin at 50 trials from 10% to
    # 23%, and cost nothing elsewhere in B8.
    bounds = [(_LOG_ILS_LOW, 10.0)] * x.shape[1] + [(-10.0, 10.0), (-25.0, 2.0)]
    starts = [start]
    default = default_theta(x.shape[1])
    if not np.array_equal(start, default):
        starts.append(default)
    best, best_loss = start, math.inf
    for initial in starts:
        result = minimize(
            _negative_log_posterior,
            np.clip(initial, [low for low, _ in bounds], [high for _, high in bounds]),
            args=(squares, y),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": _FIT_ITERATIONS, "gtol": _FIT_GTOL},
        )
        if math.isfinite(result.fun) and result.fun < best_loss:
            best, best_loss = np.asarray(result.x, dtype=np.float64), float(result.fun)
    return best


class Posterior:
    """The GP given rows ``x`` with standardised values ``y`` and fixed hyperparameters."""

    def __init__(self, theta: _Array, x: _Array, y: _Array) -> None:
        from scipy.linalg import cho_solve, cholesky, solve_triangular

        self.ils, self.scale, self.noise = _unpack(theta)
        self.x = x
        covariance = self.scale * _matern(self._r2(x))[0]
        covariance[np.diag_indices(len(x))] += self.noise + _JITTER
        lower = cholesky(covariance, lower=True, check_finite=False)
        self.weights = cho_solve((lower, True), y, check_finite=False)
        # With the inverse factor kept, a prediction is two matrix products.
        self.inverse = solve_triangular(lower, np.eye(len(x)), lower=True, check_finite=False)
        self.precision = self.inverse.T @ self.inverse

    def _r2(self, points: _Array) -> _Array:
        return _r2(points, self.x, self.ils)

    def predict(self, points: _Array) -> tuple[_Array, _Array]:
        """The posterior mean and variance of the noise-free function at each row."""
        cross = self.scale * _matern(self._r2(points))[0]
        projected = cross @ self.inverse.T
        variance = self.scale - (projected**2).sum(axis=1)
        return cross @ self.weights, np.maximum(variance, 1e-20)

    def cross(self, points: _Array, others: _Array) -> tuple[_Array, _Array]:
        """The covariance of each of ``points`` with each of ``others`` (m, k), and its
        gradient in the point's columns (m, k, width)."""
        differences = points[:, np.newaxis, :] - others[np.newaxis, :, :]
        value, slope = _matern((differences**2) @ self.ils)
        # d k / d point = scale * slope * 2 * ils * (point - other), per column.
        gradient = (2.0 * self.scale * slope)[:, :, np.newaxis] * differences * self.ils
        return self.scale * value, gradient

    def predict_with_gradient(self, points: _Array) -> tuple[_Array, _Array, _Array, _Array]:
        """Mean and variance as `predict`, and their gradients in each point's columns."""
        cross, d_cross = self.cross(points, self.x)
        mean = cross @ self.weights
        d_mean = np.einsum("mnd,n->md", d_cross, self.weights)
        solved = cross @ self.precision
        variance = self.scale - (solved * cross).sum(axis=1)
        d_variance = -2.0 * np.einsum("mn,mnd->md", solved, d_cross)
        small = variance < 1e-20
        variance[small] = 1e-20
        d_variance[small] = 0.0
        return mean, variance, d_mean, d_variance


def _r2(points: _Array, others: _Array, ils: _Array) -> _Array:
    root = np.sqrt(ils)
    scaled_points, scaled_others = points * root, others * root
    r2 = (
        (scaled_points**2).sum(axis=1)[:, np.newaxis]
        - 2.0 * scaled_points @ scaled_others.T
        + (scaled_others**2).sum(axis=1)[np.newaxis, :]
    )
    return np.asarray(np.maximum(r2, 0.0), dtype=np.float64)


def log_ei(mean: _Array, variance: _Array, best: float) -> tuple[_Array, _Array, _Array]:
    """Log expected improvement below ``best`` (minimisation), computed stably far from
    ``best`` where EI itself underflows, and its derivatives in the mean and the variance."""
    from scipy.special import erfc, erfcx, ndtr

    sigma = np.sqrt(variance)
    z = np.asarray((best - mean) / sigma, dtype=np.float64)
    far = z < -25.0
    near_z = np.where(far, 0.0, z)
    # h(z) = z * Phi(z) + phi(z): EI / sigma.
    h = 0.5 * near_z * erfc(-_SQRT_HALF * near_z) + np.exp(-0.5 * near_z**2) / math.sqrt(
        2.0 * math.pi
    )
    log_h = np.log(np.maximum(h, 1e-300))
    d_log_h = ndtr(near_z) / np.maximum(h, 1e-300)  # dh/dz = Phi(z)
    if far.any():
        zf = z[far]
        log_h[far] = (
            -0.5 * zf**2
            - _LOG_SQRT_2PI
            + np.log(1.0 + _SQRT_HALF_PI * zf * erfcx(-_SQRT_HALF * zf))
        )
        d_log_h[far] = -zf - 2.0 / zf  # the derivative of the leading terms
    value = log_h + np.log(sigma)
    # z = (best - mean) / sigma; sigma = sqrt(variance).
    d_mean = -d_log_h / sigma
    d_variance = (1.0 - d_log_h * z) / (2.0 * variance)
    return value, d_mean, d_variance
