"""What `GP` has observed: each config's results by budget, the configs that failed, and
the training set its model fits, at one fidelity."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ..trial import Status, Trial
from ._gpobjectives import value_of

_Array = NDArray[np.float64]
_Key = tuple[float, ...]
_Outcome = tuple[float, ...]


class Observations:
    """Results by config (its `Space.encode` key) and budget, and the failed configs.

    A result is what ``outcome`` makes of a trial (by default its value, as a 1-tuple;
    `_gpobjectives.Goals.outcome` for several metrics or constraints), None when the trial
    has none to give.

    A multi-fidelity scheduler (`ASHA`, `Hyperband`) hands the searcher a trial once per
    rung it completes: the same config at growing budgets. `training_set` gives the model
    either every config at the highest budget it reached, or the results at one budget.
    A trial without a budget (`FIFO`) is at the full budget (``math.inf``).

    Attributes:
        failed: the unit-cube points of the configs that failed (never with a result).
    """

    def __init__(self, outcome: Callable[[Trial], _Outcome | None] = value_of) -> None:
        self._outcome = outcome
        self._points: dict[_Key, _Array] = {}
        self._results: dict[_Key, dict[float, _Outcome]] = {}  # key -> budget -> result
        self._latest: dict[_Key, tuple[float, _Outcome]] = {}  # key -> top budget, result
        self.failed: list[_Array] = []

    def add(self, key: _Key, point: _Array, trial: Trial) -> None:
        """Keep ``trial``'s result at its budget (a later result there replaces an earlier
        one); a FAILED trial of a config without a result is kept as failed; a CANCELLED
        one is dropped (the run stopped it, not its config)."""
        valued = trial.status in (Status.DONE, Status.PRUNED)
        result = self._outcome(trial) if valued else None
        if result is not None:
            budget = math.inf if trial.budget is None else float(trial.budget)
            self._points.setdefault(key, point)
            self._results.setdefault(key, {})[budget] = result
            if budget >= self._latest.get(key, (-math.inf, ()))[0]:
                self._latest[key] = (budget, result)
        elif key in self._results:
            pass  # a promotion that failed or was cancelled: its lower-budget result stands
        elif trial.status is not Status.CANCELLED:
            self.failed.append(point)

    def training_set(
        self, enough: int | None
    ) -> tuple[float | None, list[_Array], list[float], list[_Array]]:
        """`training_results` with each result's first number: the trial's value, by
        default."""
        fidelity, points, results, below = self.training_results(enough)
        return fidelity, points, [result[0] for result in results], below

    def training_results(
        self, enough: int | None
    ) -> tuple[float | None, list[_Array], list[_Outcome], list[_Array]]:
        """The fidelity to fit, the points and results there (in the order the configs were
        first observed), and the points of the configs seen only below it.

        With ``enough`` None, every config at the highest budget it reached (the fidelity
        is None: a mix). Otherwise the fidelity is the highest budget that at least
        ``enough`` configs reached, else
        the lowest budget observed (None before any result). A config that reached it has
        its result there, or, when it was seen only above (a stopped trial's last report, a
        resumed run's stored trials), its result at the lowest budget above: it went on,
        so its result there is what it was worth.
        """
        results = self._results
        if not results:
            return None, [], [], []
        if enough is None:  # kept as results come: no pass over every config's budgets
            latest = [value for _, value in self._latest.values()]
            return None, list(self._points.values()), latest, []
        budgets = sorted({budget for by_budget in results.values() for budget in by_budget})
        reached = [max(by_budget) for by_budget in results.values()]
        fidelity = next(
            (
                budget
                for budget in reversed(budgets)
                if sum(top >= budget for top in reached) >= enough
            ),
            budgets[0],
        )
        points: list[_Array] = []
        values: list[_Outcome] = []
        below: list[_Array] = []
        for key, by_budget in results.items():
            above = [budget for budget in by_budget if budget >= fidelity]
            if above:
                points.append(self._points[key])
                values.append(by_budget[min(above)])
            else:
                below.append(self._points[key])
        return fidelity, points, values, below


def kept_rows(values: _Array, size: int, seed: int) -> NDArray[np.intp]:
    """The indices, in order, of at most ``size`` of ``values`` to fit: all of them when
    there are no more; else the ``size // 2`` best (they shape the model where it matters
    most) and the others drawn uniformly at random from the rest, seeded by ``seed`` and
    the count (so the same observations give the same rows)."""
    count = len(values)
    if count <= size:
        return np.arange(count)
    best = np.argsort(values, kind="stable")[: size // 2]
    others = np.ones(count, dtype=bool)
    others[best] = False
    rest = np.flatnonzero(others)
    picked = np.random.default_rng([seed, count]).choice(
        rest, size=size - len(best), replace=False
    )
    return np.sort(np.concatenate([best, picked]))


def refit_every(observations: int) -> int:
    """How many new observations trigger a refit of the kernel hyperparameters."""
    if observations <= 100:
        return 1
    if observations <= 200:
        return 5
    return 20
