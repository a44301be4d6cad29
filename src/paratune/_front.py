"""The Pareto front of a run's trials table, and the objectives an experiment was stored
with: what `TuneResult.pareto_front` and `paratune.load` read."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._storable import as_float
from .objectives import Objectives
from .pareto import non_dominated

if TYPE_CHECKING:
    import pandas as pd


def stored_objectives(settings: Mapping[str, Any]) -> Objectives | None:
    """The objectives kept in an experiment's settings: None for one metric without
    constraints (the experiment's own metric and mode say all)."""
    kept = settings.get("objectives")
    return Objectives.from_dict(kept) if isinstance(kept, Mapping) else None


def front_rows(trials: pd.DataFrame, goals: Objectives) -> pd.DataFrame:
    """The rows of a trials table (`TuneResult.trials`) on the Pareto front of ``goals``:
    DONE, every tuned metric a number, every constraint met, and beaten in every metric by
    no other such row."""
    losses, violations = frame_losses(trials, goals)
    usable = np.isfinite(losses).all(axis=1) & np.isfinite(violations)
    usable &= (trials["status"] == "done").to_numpy()
    positions = np.flatnonzero(usable)
    on_front = non_dominated(losses[positions], violations[positions])
    return trials.iloc[positions[on_front]].reset_index(drop=True)


def frame_losses(
    trials: pd.DataFrame, goals: Objectives
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each row's losses ``(n, m)`` (every tuned metric, a "max" one negated; NaN where a
    row has none) and its violation ``(n,)`` (0 when it meets every constraint; NaN where
    a constrained metric is missing)."""
    columns = [metric_column(trials, name, goals) for name in goals.metrics]
    losses = np.column_stack(columns) * goals.signs if columns else np.empty((len(trials), 0))
    violations = np.zeros(len(trials))
    for constraint in goals.constraints:
        violations = violations + constraint.violations(
            metric_column(trials, constraint.metric, goals)
        )
    return losses, violations


def metric_column(trials: pd.DataFrame, name: str, goals: Objectives) -> NDArray[np.float64]:
    """A metric of every row as floats (NaN where missing): its ``metric.<name>`` column;
    for the primary metric of an objective that returned a number, ``value``."""
    import pandas as pd

    column = f"metric.{name}"
    if column in trials:
        try:
            numbers = pd.to_numeric(trials[column], errors="coerce")
        except (OverflowError, TypeError, ValueError):
            # A failed trial may keep what pandas cannot coerce: an int too large for a
            # float, an array. Such a value is no number here, as `Objectives` reads it.
            numbers = trials[column].map(_float_or_nan)
        return np.asarray(numbers, dtype=np.float64)
    if name == goals.metrics[0] and "value" in trials:
        return np.asarray(trials["value"], dtype=np.float64)
    return np.full(len(trials), np.nan)


def _float_or_nan(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        return math.nan
    value = as_float(raw)
    return math.nan if value is None else value
