"""The ladder of rungs that successive halving climbs: budgets, and the results at each."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from ..trial import Trial


def rung_budgets(min_budget: float, max_budget: float, eta: float) -> list[float]:
    """``min_budget * eta**k`` for k = 0, 1, ... up to ``max_budget``, which is always the
    top rung. Whole numbers stay whole.

    >>> rung_budgets(1, 64, 2)
    [1, 2, 4, 8, 16, 32, 64]
    >>> rung_budgets(1, 10, 3)
    [1, 3, 9, 10]
    """
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if max_budget < min_budget:
        raise ValueError(f"max_budget ({max_budget}) must be >= min_budget ({min_budget})")
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not 1 < eta < math.inf:
        raise ValueError(f"eta must be a number > 1, got {eta!r}")
    budgets: list[float] = []
    budget: float = min_budget
    while budget < max_budget * (1 - 1e-9):
        budgets.append(budget)
        budget = budget * eta
    budgets.append(max_budget)
    return budgets


def check_label(budget: Any) -> str:
    """The budget's name (``"epochs"``, say), as the schedulers take it."""
    if not isinstance(budget, str) or not budget:
        raise ValueError(f"budget must name the budget (e.g. 'epochs'), got {budget!r}")
    return budget


@dataclass
class Ladder:
    """One ladder of successive halving: the results at each rung, kept best first, and who
    was promoted from where. Losses: lower is better.

    Attributes:
        budgets: the budget of each rung, lowest first.
        eta: the halving rate: the best 1/eta of a rung are promoted.
        results: per rung, ``(loss, trial_id)`` sorted best first.
        promoted: per rung, the trials promoted from it (or known to have gone above it).
    """

    budgets: list[float]
    eta: float
    results: list[list[tuple[float, int]]] = field(default_factory=list)
    promoted: list[set[int]] = field(default_factory=list)
    _seen: list[dict[int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rungs = len(self.budgets)
        self.results = [[] for _ in range(rungs)]
        self.promoted = [set() for _ in range(rungs)]
        self._seen = [{} for _ in range(rungs)]

    def rung_of(self, budget: float | None) -> int | None:
        """The rung whose budget this is, or None."""
        if budget is None:
            return None
        for rung, rung_budget in enumerate(self.budgets):
            if math.isclose(budget, rung_budget, rel_tol=1e-9):
                return rung
        return None

    def record(self, rung: int, trial_id: int, loss: float) -> None:
        """Keep ``trial_id``'s result at ``rung`` (once: a repeat is ignored), and mark it
        as having left every rung below."""
        for below in range(rung):
            self.promoted[below].add(trial_id)
        if trial_id in self._seen[rung]:
            return
        self._seen[rung][trial_id] = loss
        bisect.insort(self.results[rung], (loss, trial_id))

    def count(self, rung: int) -> int:
        """Results recorded at ``rung``."""
        return len(self.results[rung])

    def best_fraction(self, rung: int) -> int:
        """How many of the rung's results are in its top 1/eta (at least one)."""
        return max(1, int(self.count(rung) // self.eta)) if self.count(rung) else 0

    def rank(self, rung: int, loss: float) -> int:
        """How many results at ``rung`` are strictly better than ``loss``."""
        return bisect.bisect_left(self.results[rung], (loss, -1))


def start_step(trial: Trial, budget: float) -> int:
    """Where a promotion of ``trial`` to ``budget`` starts: its checkpoint, when it saved
    one below that budget, else 0 (it retrains)."""
    step = trial.checkpoint_step
    return step if step is not None and 0 < step < budget else 0
