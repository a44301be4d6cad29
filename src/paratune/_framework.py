"""What the training-framework callbacks (`paratune.lightning`, `paratune.xgboost`,
`paratune.lightgbm`) share: which metrics a callback reports, a report whose stop is an
answer rather than an exception, and the message for a framework that is not installed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .context import Context, TrialPruned
from .errors import ParatuneError

Metrics = str | Sequence[str] | None
"""The metrics a callback reports: one name, several, or None for every one there is."""


def metric_names(metrics: Metrics) -> tuple[str, ...] | None:
    """``metrics`` as a tuple of names, or None for every metric.

    Raises:
        TypeError: a name is not a string.
    """
    if metrics is None:
        return None
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"metric names are strings, got {name!r}")
    return names


def chosen(
    found: Mapping[str, float], names: tuple[str, ...] | None, where: str
) -> dict[str, float]:
    """The metrics of ``found`` that ``names`` asks for (all of them for None).

    Raises:
        ParatuneError: ``found`` is empty, or lacks a name asked for; the message says what
            ``where`` (the framework's results) holds.
    """
    if not found:
        raise ParatuneError(f"{where} hold no metric to report")
    if names is None:
        return dict(found)
    missing = [name for name in names if name not in found]
    if missing:
        raise ParatuneError(
            f"{where} hold no metric {missing[0]!r}; they hold {', '.join(map(repr, found))}"
        )
    return {name: found[name] for name in names}


def report(ctx: Context, step: int, metrics: Mapping[str, float]) -> bool:
    """Report ``metrics`` at ``step``; True when the scheduler stops the trial there.

    A framework stops its training loop its own way (a flag, a return value, its own
    exception), so the `TrialPruned` of `Context.report` becomes an answer here: the context
    stays marked pruned, and the executor records the trial as pruned when the objective
    returns.
    """
    try:
        ctx.report(step, **metrics)
    except TrialPruned:
        return True
    return False


def missing(module: str, framework: str, extra: str) -> ImportError:
    """The error for ``module`` imported without its framework installed."""
    return ImportError(f"{module} needs {framework}: pip install 'paratune[{extra}]'")
