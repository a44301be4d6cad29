"""What an objective's result means: the tuned value, every metric, and why a result is not
usable. The driver reads every result here, whatever executor ran it."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from ._storable import as_float, shown, unstorable
from .objectives import Objectives
from .trial import _NO_METRICS


def read_result_safely(
    result: Any, metric: str, objectives: Objectives | None = None
) -> tuple[float | None, Mapping[str, Any], str | None]:
    """`read_result`, where a result whose own code raises (a mapping that cannot be
    iterated, a number that cannot be a float) fails its trial rather than the driver.

    With ``objectives`` beyond one metric (several, or constraints), the result must hold
    every tuned and constrained metric, and one that breaks a constraint has no value (it
    is never best), its metrics kept."""
    try:
        value, metrics, error = read_result(result, metric)
        if error or objectives is None or objectives.plain:
            return value, metrics, error
        error = objectives.problem(metrics or {metric: value})
        if error or objectives.violation(metrics):
            value = None  # failed (as with one metric), or infeasible
        return value, metrics, error
    except Exception as exc:
        kind = type(result).__name__
        return (
            None,
            _NO_METRICS,
            f"the objective's result ({kind}) could not be read: {shown(exc)}",
        )


def read_result(result: Any, metric: str) -> tuple[float | None, Mapping[str, Any], str | None]:
    """The tuned value, every metric, and an error if the result is not usable. A single
    number is the value alone: its trial keeps no metrics dict, which would only repeat it."""
    if type(result) is float and math.isfinite(result):
        return result, _NO_METRICS, None  # as usual: a plain number, read without ABC checks
    metrics: dict[str, Any] | None = None
    raw = result
    if isinstance(result, Mapping):
        metrics = dict(result)
        if problem := unstorable(metrics):
            return None, _NO_METRICS, f"the objective's result cannot be stored: {problem}"
        if metric not in metrics:
            keys = ", ".join(repr(k) for k in metrics) or "none"
            return None, metrics, f"the objective's result has no {metric!r} (keys: {keys})"
        raw = metrics[metric]
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        kind = "None" if raw is None else type(raw).__name__
        return (
            None,
            metrics or _NO_METRICS,
            (
                f"the objective returned {kind} for {metric!r}; expected a number, "
                f"or a dict with a number under {metric!r}"
            ),
        )
    value = as_float(raw)
    if value is None:
        return None, _NO_METRICS, f"the objective returned {metric!r} too large for a float"
    if not math.isfinite(value):
        return None, metrics or _NO_METRICS, f"the objective returned {value} for {metric!r}"
    if metrics is None:
        return value, _NO_METRICS, None
    metrics[metric] = value
    return value, metrics, None
