"""The ladder of rungs that successive halving climbs: budgets, and the results at each."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..trial import Config, Proposal, Trial
from ._rung_results import RungResults

MAX_RUNGS = 100
"""The most rungs a ladder may have. Budgets from 1 to 10**6 at eta=2 make 21; more than
100 comes only from an eta barely above 1 or budgets hundreds of orders of magnitude
apart, and would take the ladder's bookkeeping ever longer."""

MAX_WIDTH = 10**12
"""The largest ``eta ** (rungs - 1)``: of that many trials started at the lowest rung, one
reaches the top. Hyperband sizes its brackets by it, with floating-point arithmetic that
an absurd eta would overflow."""


def rung_budgets(min_budget: float, max_budget: float, eta: float) -> list[float]:
    """Hyperband's rungs: ``max_budget * eta**-k`` for k = 0, 1, ... down to the last one
    at or above ``min_budget``, lowest first. The ladder is anchored at ``max_budget``, so
    every step, the top one included, multiplies the budget by ``eta``; ``min_budget`` is a
    floor, and the lowest rung is at most ``eta`` times above it. When ``min_budget`` and
    ``max_budget`` are both ints, every rung is rounded to the nearest whole number and
    returned as an int (rungs that round alike are one rung), so that ``range(ctx.budget)``
    works and a report's whole step can fall on a rung; otherwise budgets are floats.

    Raises:
        ValueError: naming min_budget, max_budget or eta, for a budget that is not a finite
            number > 0, max_budget < min_budget, eta not a finite number > 1, an eta above
            max_budget / min_budget (no rung but the top one, though the budgets differ),
            or a ladder of more than `MAX_RUNGS` rungs or wider than `MAX_WIDTH`.

    >>> rung_budgets(1, 64, 2)
    [1, 2, 4, 8, 16, 32, 64]
    >>> rung_budgets(1, 100, 3)
    [1, 4, 11, 33, 100]
    >>> [round(budget, 2) for budget in rung_budgets(1.0, 100.0, 3)]
    [1.23, 3.7, 11.11, 33.33, 100.0]
    """
    check_budget("min_budget", min_budget)
    check_budget("max_budget", max_budget)
    if max_budget < min_budget:
        raise ValueError(f"max_budget ({max_budget}) must be >= min_budget ({min_budget})")
    _check_number("eta", eta, 1)
    exact: list[float] = []
    budget: float = max_budget
    while budget >= min_budget * (1 - 1e-9):  # budget / eta may land a hair below a rung
        exact.append(budget)
        budget = budget / eta
        if len(exact) >= MAX_RUNGS:  # counted as built: an eta of 1 + 1e-15 never ends
            raise ValueError(
                f"min_budget={min_budget!r}, max_budget={max_budget!r} and eta={eta!r} make "
                f"more than {MAX_RUNGS} rungs: raise min_budget or eta, or lower max_budget"
            )
    if len(exact) == 1 and min_budget < max_budget:
        raise ValueError(
            f"eta={eta!r} leaves no rung between min_budget={min_budget!r} and "
            f"max_budget={max_budget!r} but the top one: eta may be at most "
            f"max_budget / min_budget = {max_budget / min_budget:.4g}"
        )
    if _both_whole(min_budget, max_budget):
        budgets = _whole(exact, min_budget)
    else:  # floats, the lowest no lower than min_budget for a rounding error
        budgets = [float(max(budget, min_budget)) for budget in reversed(exact)]
    if (len(budgets) - 1) * math.log(eta) > math.log(MAX_WIDTH):
        raise ValueError(
            f"eta={eta!r} with min_budget={min_budget!r} and max_budget={max_budget!r} "
            f"makes {len(budgets)} rungs, where 1 trial in eta**{len(budgets) - 1} reaches "
            f"the top; at most 1 in {MAX_WIDTH:.0e} may: lower eta or max_budget"
        )
    return budgets


def _both_whole(*budgets: float) -> bool:
    return all(isinstance(budget, int) and not isinstance(budget, bool) for budget in budgets)


def _whole(exact: list[float], floor: float) -> list[float]:
    """``exact`` (highest first) rounded to whole numbers, at least ``floor``, lowest first,
    each once."""
    rounded = {max(math.floor(budget + 0.5), int(floor)) for budget in exact}
    return sorted(rounded)


def check_budget(name: str, value: Any) -> None:
    """Refuse a budget that is not a finite int or float > 0; the message names it."""
    _check_number(name, value, 0)


def _check_number(name: str, value: Any, low: int) -> None:
    """Refuse a value that is not an int or float greater than ``low``, or not finite (a
    whole number too large for a float is not finite here: budgets are floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > low:
        raise ValueError(f"{name} must be a number > {low}, got {_shown(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(f"{name} must be finite, got {_shown(value)}")


def _shown(value: Any) -> str:
    """``repr(value)``, cut short: a number of 400 digits makes a poor message."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


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
        results: per rung, ``(loss, trial_id)`` sorted best first (a sequence: index it,
            slice it, iterate it, compare it with a list).
        promoted: per rung, the trials promoted from it (or known to have gone above it).
    """

    budgets: list[float]
    eta: float
    results: list[RungResults] = field(default_factory=list)
    promoted: list[set[int]] = field(default_factory=list)
    _seen: list[dict[int, float]] = field(default_factory=list)
    _rung_by_budget: dict[float, int] = field(  # what rung_of found, to find it again
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        rungs = len(self.budgets)
        self.results = [RungResults(self.eta) for _ in range(rungs)]
        self.promoted = [set() for _ in range(rungs)]
        self._seen = [{} for _ in range(rungs)]

    def rung_of(self, budget: float | None) -> int | None:
        """The rung whose budget this is, or None."""
        if budget is None:
            return None
        found = self._rung_by_budget.get(budget)
        if found is not None:
            return found
        for rung, rung_budget in enumerate(self.budgets):
            if math.isclose(budget, rung_budget, rel_tol=1e-9):
                self._rung_by_budget[budget] = rung
                return rung
        return None

    def record(self, rung: int, trial_id: int, loss: float) -> bool:
        """Keep ``trial_id``'s result at ``rung`` (once: a repeat is ignored), and mark it
        as having left every rung below. Return whether the result is new."""
        self.climbed(rung, trial_id)
        if trial_id in self._seen[rung]:
            return False
        self._seen[rung][trial_id] = loss
        self.results[rung].add((loss, trial_id))
        return True

    def climbed(self, rung: int, trial_id: int) -> None:
        """Mark ``trial_id``, which has a result at ``rung``, as having left every rung below
        (promoted from there, or known to have gone above)."""
        for below in range(rung):
            self.promoted[below].add(trial_id)

    def count(self, rung: int) -> int:
        """Results recorded at ``rung``."""
        return len(self.results[rung])

    def best_fraction(self, rung: int) -> int:
        """How many of the rung's results are in its top 1/eta (at least one)."""
        return max(1, int(self.count(rung) // self.eta)) if self.count(rung) else 0

    def rank(self, rung: int, loss: float) -> int:
        """How many results at ``rung`` are strictly better than ``loss``."""
        return self.results[rung].position((loss, -1))

    def in_top(self, rung: int, loss: float, trial_id: int) -> bool:
        """Whether ``trial_id``'s result ``loss``, recorded at ``rung``, is among the rung's
        best ``int(count // eta)`` (none while the rung has fewer than eta results): what a
        promotion from the rung requires."""
        results = self.results[rung]
        threshold = results.threshold()
        if threshold is None or int(len(results) // self.eta) < 1:
            return False
        return (loss, trial_id) <= threshold

    def in_best_fraction(self, rung: int, loss: float) -> bool:
        """Whether fewer of the results at ``rung`` than its `best_fraction` are strictly
        better than ``loss``: what the stopping rule lets go on. The same as
        ``rank(rung, loss) < best_fraction(rung)``, without sorting the rung."""
        threshold = self.results[rung].threshold()
        return threshold is not None and not threshold < (loss, -1)


class Continuations:
    """What continuing an ended trial takes: its config, and the step of its checkpoint
    where it saved one. Kept instead of the trial's record, which is several times the
    size, and a long run has one per trial."""

    def __init__(self) -> None:
        self._configs: dict[int, Config] = {}
        self._checkpoints: dict[int, int] = {}

    def keep(self, trial: Trial) -> None:
        """Keep what continuing ``trial`` takes, as its latest state has it."""
        self._configs[trial.trial_id] = trial.config
        if trial.checkpoint_step is None:
            self._checkpoints.pop(trial.trial_id, None)
        else:
            self._checkpoints[trial.trial_id] = trial.checkpoint_step

    def proposal(self, trial_id: int, budget: float) -> Proposal:
        """Continue ``trial_id`` to ``budget``: from its checkpoint, when it saved one below
        that budget, else from the start (it retrains)."""
        step = self._checkpoints.get(trial_id)
        start = step if step is not None and 0 < step < budget else 0
        return Proposal(self._configs[trial_id], budget, trial_id, start)
