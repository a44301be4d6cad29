"""What `GP` fits for a run's objectives: with one metric and no constraint, each trial's
value; with several metrics or constraints, a scalar made afresh for each suggestion from
every result's losses and violation (ParEGO: a random augmented Chebyshev scalarisation,
infeasible results behind every feasible one)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..objectives import Objectives
from ..trial import Trial

_Array = NDArray[np.float64]

AUGMENTATION = 0.05
"""The weight of the sum in the augmented Chebyshev function (ParEGO's rho): with the max
alone, points equal in their worst weighted objective tie whatever the others are."""


def value_of(trial: Trial) -> tuple[float] | None:
    """A trial's result for one metric without constraints: its value (the loss), or None
    when it has none or not a finite one."""
    value = trial.value
    return (float(value),) if value is not None and math.isfinite(value) else None


class Goals:
    """What the GP's model fits, from the objectives `GP.aim` was given (plain ones when
    none were).

    With plain objectives a result is the trial's value and the model fits it as it is.
    Otherwise a result is its losses (each metric as a loss, `Objectives.losses`) followed
    by its violation (`Objectives.violation`), and `scalars` turns them into the values to
    fit.

    Attributes:
        objectives: what the run tunes; None for one metric as `Trial.value` gives it.
        plain: whether a result is the trial's value (one metric, no constraint).
        weights: the weights of the latest scalarisation, one per metric (None before the
            first).
    """

    def __init__(self, objectives: Objectives | None = None) -> None:
        self.objectives = objectives
        self.plain = objectives is None or objectives.plain
        self.weights: _Array | None = None

    def outcome(self, trial: Trial) -> tuple[float, ...] | None:
        """What the model learns from a trial that ended with a result: its value, or its
        losses and then its violation; None when a metric is missing or not a number."""
        objectives = self.objectives
        if objectives is None or self.plain:
            return value_of(trial)
        metrics = objectives.metrics_of(trial)
        losses, violation = objectives.losses(metrics), objectives.violation(metrics)
        if losses is None or violation is None:
            return None
        return (*losses, violation)

    def scalars(self, outcomes: list[tuple[float, ...]], rng: np.random.Generator) -> list[float]:
        """The values to fit for ``outcomes`` (as `outcome` gives them), under a weight
        vector drawn uniformly on the simplex from ``rng`` (one metric: weight 1, no draw)."""
        if self.objectives is None or self.plain:
            return [outcome[0] for outcome in outcomes]
        metrics = len(self.objectives.metrics)
        weights = rng.dirichlet(np.ones(metrics)) if metrics > 1 else np.ones(1)
        self.weights = weights
        if not outcomes:
            return []
        table = np.array(outcomes, dtype=np.float64)
        return [float(value) for value in scalarise(table[:, :-1], table[:, -1], weights)]


def scalarise(losses: _Array, violations: _Array, weights: _Array) -> _Array:
    """One value to minimise per result, from its ``losses`` ``(n, m)`` and ``violations``
    ``(n,)`` under ``weights`` ``(m,)``.

    Each loss is scaled to [0, 1] by the smallest and largest among the feasible results
    (the infeasible ones' losses are not fitted, and could squeeze the others' range), and
    a feasible result's value is ``max_j(w_j f_j) + 0.05 * sum_j(w_j f_j)``, the augmented
    Chebyshev function. An infeasible result's value is the worst feasible value plus its
    violation divided by the largest violation: worse than every feasible result and
    ordered by violation (Deb's rule, as `paratune.pareto` ranks), and in a range of at
    most one above the feasible values whatever the constraints' units, so that one huge
    violation does not squeeze every other value together. With no feasible result yet
    the value is the violation itself: the model then leads towards the feasible region.
    """
    feasible = violations <= 0
    if not feasible.any():
        return violations.astype(np.float64, copy=True)
    low = losses[feasible].min(axis=0)
    span = losses[feasible].max(axis=0) - low
    span[span <= 0] = 1.0  # one value among the feasible results: it scales to 0
    weighted = (losses - low) / span * weights
    values: _Array = weighted.max(axis=1) + AUGMENTATION * weighted.sum(axis=1)
    if not feasible.all():
        broken = violations[~feasible]
        values[~feasible] = values[feasible].max() + broken / broken.max()
    return values
