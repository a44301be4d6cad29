"""How far each trial observed by `TPE` went, and which trials its models fit.

A multi-fidelity scheduler (`ASHA`, `Hyperband`) hands the searcher a trial once per rung
it completes: the same config at growing budgets. Trials that stopped at a low budget say
less than those that went on, so the models fit the trials that reached one budget (BOHB's
rule, Falkner et al. 2018). A trial without a budget (`FIFO`) is at the full budget,
``math.inf``. A result is a number (the value, one metric) or a short vector of numbers
(a violation and the losses of several metrics: `_tpesplit`).
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from numpy.typing import NDArray

_Array = NDArray[np.float64]
_Indices = NDArray[np.intp]


class ResultsByBudget:
    """Each row's highest budget and its result there: a row is a trial, numbered in the
    order first seen; a result is ``width`` numbers.

    A budget ``b`` is *reached* by a row with a result at ``b`` or above. A model at ``b``
    fits the rows that reached it, each at its latest result: the one at the highest budget
    it reached (a later result at that budget replaces an earlier one; one below it is
    ignored). Failed rows (no result anywhere) are in every budget's rows, with an infinite
    value (every one of its numbers infinite).

    Per budget it keeps how many rows reached it, updated as results arrive, so choosing
    the budget to fit costs one step per budget; the rows at a budget are found with one
    NumPy comparison over the rows' highest budgets.

    Attributes:
        budgets: every budget with a result, ascending.
    """

    def __init__(self, width: int = 1) -> None:
        self.budgets: list[float] = []
        self._reached: list[int] = []  # per budget: the rows with a result there or above
        self._top = np.empty(64)  # per row: its highest budget with a result; -inf: none
        self._latest = np.empty((64, width))  # per row: its result there; inf: none (failed)
        self._rows = 0

    @property
    def valued(self) -> int:
        """How many rows have a result (every one of them reached the lowest budget)."""
        return self._reached[0] if self._reached else 0

    def add(self, row: int, budget: float, score: float | _Array) -> None:
        """Keep row ``row``'s result ``score`` (``width`` numbers) at ``budget`` unless the
        row has one at a higher budget. ``row`` is an existing row or the next one (a new
        row, failed until it has a finite result); a ``score`` with a number that is not
        finite adds nothing else.
        """
        if row == self._rows:
            self._new_row()
        top = self._top[row]
        if not np.isfinite(score).all() or budget < top:
            return
        index = self._index(budget)
        self._latest[row] = score
        if budget > top:
            # The budgets above the row's old highest, up to this one, gain a reached row.
            for above in range(bisect.bisect_right(self.budgets, top), index + 1):
                self._reached[above] += 1
            self._top[row] = budget

    def fidelity(self, enough: int) -> int | None:
        """The index of the highest budget that at least ``enough`` rows reached, else of
        the lowest budget (which every row with a result reached); None with no result."""
        if not self.budgets:
            return None
        for index in range(len(self.budgets) - 1, 0, -1):
            if self._reached[index] >= enough:
                return index
        return 0

    def at(self, index: int | None) -> tuple[_Indices, _Array]:
        """The rows that reached budget ``budgets[index]``, in order, and their latest
        results, ``(n,)`` of width 1, else ``(n, width)``; failed rows with ``inf``. With
        ``index`` None (no result yet): every row, all failed."""
        count = self._rows
        if index is None:
            rows = np.arange(count)
        else:
            top = self._top[:count]
            rows = np.flatnonzero((top >= self.budgets[index]) | (top == -math.inf))
        latest = self._latest[rows]
        return rows, latest[:, 0] if latest.shape[1] == 1 else latest

    def _new_row(self) -> None:
        if self._rows == len(self._top):  # full: double, so a row costs O(1) on average
            self._top = np.concatenate([self._top, np.empty_like(self._top)])
            self._latest = np.vstack([self._latest, np.empty_like(self._latest)])
        self._top[self._rows] = -math.inf
        self._latest[self._rows] = math.inf
        self._rows += 1

    def _index(self, budget: float) -> int:
        """The index of ``budget`` among the budgets, added if it is new."""
        index = bisect.bisect_left(self.budgets, budget)
        if index < len(self.budgets) and self.budgets[index] == budget:
            return index
        # No row's highest budget lies between the new budget and the next one up: the
        # rows that reached that one are those that reach the new one.
        reached = self._reached[index] if index < len(self._reached) else 0
        self.budgets.insert(index, budget)
        self._reached.insert(index, reached)
        return index
