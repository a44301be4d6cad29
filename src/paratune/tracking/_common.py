"""What the tracking callbacks share: importing their library, and a trial's numbers."""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Experiment
    from ..trial import Trial


def imported(module: str, extra: str) -> ModuleType:
    """``module``, or an ImportError that names the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"paratune.tracking needs {extra}, and {module} cannot be imported ({error}): "
            f"pip install 'paratune[{extra}]'"
        ) from error


def numbers_of(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The metrics that are numbers, as floats (others cannot be charted)."""
    return {
        name: float(value)
        for name, value in metrics.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool)
    }


def final_metrics(experiment: Experiment, trial: Trial) -> dict[str, float]:
    """A trial's final metrics: all it returned, or its value under the tuned metric."""
    if trial.metrics:
        return numbers_of(trial.metrics)
    return {} if trial.value is None else {experiment.metric: float(trial.value)}


def unlogged(
    final: Mapping[str, float], last: Mapping[str, tuple[int, float]], budget: float | None
) -> tuple[int, dict[str, float]]:
    """Where a trial's final metrics go, and which of them: at the last step its job logged
    (``last``: each metric's latest step and value), else at its budget, else at 0; those
    not logged there already with that value (a job's result at its budget is also its
    report at that step)."""
    step = max((at for at, _ in last.values()), default=None)
    if step is None:
        step = int(budget) if budget is not None else 0
    return step, {name: value for name, value in final.items() if last.get(name) != (step, value)}
