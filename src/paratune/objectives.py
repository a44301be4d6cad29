"""What a run tunes: one metric or several, each minimised or maximised, and the
constraints a result must meet to count.

`Objectives` is made from `tune`'s ``metric``, ``mode`` and ``constraints`` (in Python or a
spec) and checks them; it reads a result's metrics as losses (every objective minimised, a
"max" metric negated) and as a violation (0 when every constraint holds), which is what the
searchers, schedulers and `paratune.pareto` work with.

>>> goals = Objectives.of(["error", "latency"], ["min", "min"],
...                       {"memory_mb": ("<=", 2048)})
>>> goals.losses({"error": 0.1, "latency": 3.0, "memory_mb": 4096})
(0.1, 3.0)
>>> goals.violation({"error": 0.1, "latency": 3.0, "memory_mb": 4096})
2048.0
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ._storable import as_float
from .errors import SpecError
from .trial import Status, Trial

__all__ = ["Aimed", "Constraint", "Objectives", "aim"]

_OPERATORS = ("<=", ">=")
_Values = TypeVar("_Values", float, NDArray[np.float64])  # one value, or a column of them


@dataclass(frozen=True, slots=True)
class Constraint:
    """A bound a metric of the result must meet: ``memory_mb <= 2048``.

    Attributes:
        metric: the metric the objective returns.
        operator: ``"<="`` or ``">="``.
        bound: the bound.
    """

    metric: str
    operator: str
    bound: float

    def violation(self, value: float) -> float:
        """How far ``value`` is beyond the bound (0 when the constraint holds)."""
        return max(0.0, self._excess(value))

    def violations(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """`violation` of each of ``values`` (NaN, a missing value, stays NaN)."""
        return np.maximum(self._excess(values), 0.0)

    def _excess(self, value: _Values) -> _Values:
        return value - self.bound if self.operator == "<=" else self.bound - value

    def __str__(self) -> str:
        return f"{self.metric} {self.operator} {self.bound:g}"


@dataclass(frozen=True, slots=True)
class Objectives:
    """The metrics a run tunes, their modes, and its constraints.

    Attributes:
        metrics: the tuned metrics, the first the primary one (the one a single-metric view,
            such as the best-so-far curve, shows).
        modes: ``"min"`` or ``"max"`` for each metric.
        constraints: bounds on metrics of the result; a trial that breaks one is infeasible:
            it is kept, with every metric, but never best nor on the Pareto front.
    """

    metrics: tuple[str, ...]
    modes: tuple[str, ...]
    constraints: tuple[Constraint, ...] = ()

    @classmethod
    def of(
        cls,
        metric: str | Sequence[str],
        mode: str | Sequence[str] | Mapping[str, str] = "min",
        constraints: Mapping[str, Any] | None = None,
    ) -> Objectives:
        """Objectives from `tune`'s arguments, checked.

        Args:
            metric: a metric's name, or a list of distinct names.
            mode: ``"min"`` or ``"max"`` for every metric, a list with one per metric, or a
                mapping of each metric to its mode.
            constraints: a mapping of metric to ``(operator, bound)``, the operator
                ``"<="`` or ``">="`` (a spec writes ``{"memory_mb": ["<=", 2048]}``).

        Raises:
            SpecError: naming the argument, and what was expected.
        """
        metrics = _metrics(metric)
        return cls(metrics, _modes(mode, metrics), _constraints(constraints))

    @property
    def several(self) -> bool:
        """Whether there is more than one metric."""
        return len(self.metrics) > 1

    @property
    def plain(self) -> bool:
        """One metric and no constraint: what every part of paratune handles."""
        return not self.several and not self.constraints

    @property
    def signs(self) -> NDArray[np.float64]:
        """+1 for each minimised metric, -1 for each maximised one."""
        return np.array([1.0 if mode == "min" else -1.0 for mode in self.modes])

    def losses(self, metrics: Mapping[str, Any]) -> tuple[float, ...] | None:
        """The tuned metrics of a result as losses (a "max" metric negated), or None when
        one is missing or not a finite number."""
        losses: list[float] = []
        for name, mode in zip(self.metrics, self.modes, strict=True):
            value = _number(metrics.get(name))
            if value is None:
                return None
            losses.append(value if mode == "min" else -value)
        return tuple(losses)

    def violation(self, metrics: Mapping[str, Any]) -> float | None:
        """How far a result breaks its constraints, summed (0: it meets them all), or
        None when a constrained metric is missing or not a finite number."""
        total = 0.0
        for constraint in self.constraints:
            value = _number(metrics.get(constraint.metric))
            if value is None:
                return None
            total += constraint.violation(value)
        return total

    def problem(self, metrics: Mapping[str, Any]) -> str | None:
        """What makes a result's metrics unusable (a tuned or constrained metric missing,
        or not a finite number), or None."""
        wanted = [*self.metrics, *(c.metric for c in self.constraints)]
        for name in dict.fromkeys(wanted):
            if name not in metrics:
                keys = ", ".join(map(repr, metrics)) or "none"
                role = "tuned" if name in self.metrics else "constrained"
                return f"the objective's result has no {name!r}, a {role} metric (keys: {keys})"
            if _number(metrics[name]) is None:
                shown = _briefly(metrics[name])
                return f"the objective returned {shown} for {name!r}; expected a number"
        return None

    def of_trials(
        self, trials: Iterable[Trial]
    ) -> tuple[list[Trial], NDArray[np.float64], NDArray[np.float64]]:
        """The trials that ended DONE with usable metrics, their losses ``(n, m)`` and their
        violations ``(n,)``, for `paratune.pareto`."""
        kept: list[Trial] = []
        rows: list[tuple[float, ...]] = []
        broken: list[float] = []
        for trial in trials:
            if trial.status is not Status.DONE:
                continue
            metrics = self.metrics_of(trial)
            losses, violation = self.losses(metrics), self.violation(metrics)
            if losses is not None and violation is not None:
                kept.append(trial)
                rows.append(losses)
                broken.append(violation)
        matrix = np.array(rows, dtype=np.float64).reshape(len(rows), len(self.metrics))
        return kept, matrix, np.array(broken, dtype=np.float64)

    def metrics_of(self, trial: Trial) -> Mapping[str, Any]:
        """A trial's metrics; a single number returned is the primary metric."""
        if trial.metrics:
            return trial.metrics
        return {} if trial.value is None else {self.metrics[0]: trial.value}

    def to_dict(self) -> dict[str, Any]:
        """As an experiment's settings keep it (JSON)."""
        return {
            "metrics": list(self.metrics),
            "modes": list(self.modes),
            "constraints": {c.metric: [c.operator, c.bound] for c in self.constraints},
        }

    @classmethod
    def from_dict(cls, kept: Mapping[str, Any]) -> Objectives:
        """Objectives as `to_dict` wrote them."""
        return cls.of(kept["metrics"], kept["modes"], kept.get("constraints") or None)


def _metrics(metric: Any) -> tuple[str, ...]:
    names = [metric] if isinstance(metric, str) else metric
    if isinstance(names, Mapping) or not isinstance(names, Sequence) or not names:
        raise SpecError(f"metric must be a name or a non-empty list of names, got {metric!r}")
    for name in names:
        if not isinstance(name, str) or not name:
            raise SpecError(f"metric must hold non-empty strings, got {name!r} in {metric!r}")
    if len(set(names)) < len(names):
        raise SpecError(f"metric names a metric twice: {metric!r}")
    return tuple(names)


def _modes(mode: Any, metrics: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(mode, str):
        modes: list[Any] = [mode] * len(metrics)
    elif isinstance(mode, Mapping):
        if set(mode) != set(metrics):
            raise SpecError(
                f"mode must give a mode for each metric ({', '.join(metrics)}), "
                f"got one for {', '.join(map(str, mode)) or 'none'}"
            )
        modes = [mode[name] for name in metrics]
    elif isinstance(mode, Sequence) and not isinstance(mode, bytes):
        if len(mode) != len(metrics):
            raise SpecError(
                f"mode must have one entry per metric: {len(metrics)} metrics "
                f"({', '.join(metrics)}), {len(mode)} modes"
            )
        modes = list(mode)
    else:
        raise SpecError(f"mode must be 'min' or 'max', a list or a mapping, got {mode!r}")
    for name, each in zip(metrics, modes, strict=True):
        if each not in ("min", "max"):
            raise SpecError(f"mode of {name!r} must be 'min' or 'max', got {each!r}")
    return tuple(modes)


def _constraints(given: Any) -> tuple[Constraint, ...]:
    if given is None:
        return ()
    if not isinstance(given, Mapping):
        raise SpecError(
            f"constraints must map metrics to (operator, bound), such as "
            f"{{'memory_mb': ('<=', 2048)}}; got {given!r}"
        )
    made = []
    for name, rule in given.items():
        if not isinstance(name, str) or not name:
            raise SpecError(f"constraints must name metrics, got {name!r}")
        ok = isinstance(rule, Sequence) and not isinstance(rule, str) and len(rule) == 2
        operator, bound = rule if ok else (None, None)
        number = _number(bound)
        if operator not in _OPERATORS or number is None:
            raise SpecError(
                f"constraint on {name!r} must be (operator, bound) with the operator "
                f"'<=' or '>=' and a finite number, got {rule!r}"
            )
        made.append(Constraint(name, operator, number))
    return tuple(made)


def _number(raw: Any) -> float | None:
    """``raw`` as a finite float, or None."""
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        return None
    value = as_float(raw)
    return value if value is not None and math.isfinite(value) else None


def _briefly(raw: Any) -> str:
    """``raw`` as an error message shows it: short, whatever its size."""
    if isinstance(raw, int) and not isinstance(raw, bool) and as_float(raw) is None:
        return "an int too large for a float"  # whose repr may even raise
    return _REPR.repr(raw)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


@runtime_checkable
class Aimed(Protocol):
    """A searcher or scheduler that works with several metrics or with constraints: an
    optional hook. `aim` is called once, before the run's first ``setup``, with what the run
    tunes; a part without it is used only for one metric without constraints (`aim`)."""

    def aim(self, objectives: Objectives) -> None:
        """Take note of what the run tunes (kept across ``setup``)."""
        ...


# The parts of paratune that have `Aimed.aim`, by role: what a refusal suggests instead.
_CHOICES = {
    "searcher": "'random', 'sobol', 'lhs', 'grid', 'nsga2', 'tpe' or 'gp'",
    "scheduler": "'fifo', 'asha', 'hyperband' or 'successive_halving'",
}


def aim(part: object, objectives: Objectives, role: str, name: object = None) -> None:
    """Tell ``part`` (the run's ``role``, "searcher" or "scheduler", given as ``name``
    where it was named) what the run tunes.

    Raises:
        SpecError: the objectives are not plain and ``part`` has no `Aimed.aim`; the message
            names the part and the parts that have it.
    """
    if isinstance(part, Aimed):
        part.aim(objectives)
    elif not objectives.plain:
        what = "several metrics" if objectives.several else "constraints"
        raise SpecError(
            f"{role} {_shown(part, name)} tunes one metric without constraints; "
            f"with {what} use {_CHOICES.get(role, 'another')}"
        )


def _shown(part: object, name: object) -> str:
    return repr(name) if isinstance(name, str) else type(part).__name__
