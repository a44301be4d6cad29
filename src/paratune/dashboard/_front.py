"""The Pareto front of an experiment with several objectives (or with constraints), as the
dashboard keeps it while trials arrive.

A trial is on the front as `TuneResult.pareto_front` says: it ended DONE, every tuned and
constrained metric is a finite number, it meets every constraint, and no other such trial
is at least as good in every objective and better in one (`paratune.pareto`). The front is
found once from every trial; then a trial that ends is compared with the front alone (a
front is small beside the trials), and a trial that leaves the front (continued at a higher
budget) frees only the trials it beat: the front is found again among those and the rest
of the front, not among every trial.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._front import stored_objectives
from ..errors import SpecError
from ..objectives import Objectives
from ..pareto import _beaten, non_dominated

_BIG = 1e308  # an int beyond a float's range is no usable number


def goals_of(settings: Mapping[str, Any]) -> Objectives | None:
    """The objectives an experiment was stored with; None for one metric without
    constraints, and for objectives this version cannot read (shown as one metric)."""
    try:
        return stored_objectives(settings)
    except (SpecError, KeyError, TypeError):
        return None


def goals_json(goals: Objectives | None, metric: str, mode: str) -> dict[str, Any]:
    """What an experiment's summary says of its objectives: every tuned metric and its
    mode (the primary first), and the constraints as ``[metric, operator, bound]``."""
    if goals is None:
        return {"metrics": [metric], "modes": [mode], "constraints": []}
    return {
        "metrics": list(goals.metrics),
        "modes": list(goals.modes),
        "constraints": [[c.metric, c.operator, c.bound] for c in goals.constraints],
    }


class Front:
    """The front of one experiment's trials, kept up to date trial by trial.

    Attributes:
        goals: what the experiment tunes.
        infeasible: how many DONE trials break a constraint.
        changed: whether the front changed since this was last set to False.
    """

    def __init__(self, goals: Objectives) -> None:
        self.goals = goals
        self.infeasible = 0
        self.changed = False
        m = len(goals.metrics)
        # Every usable DONE trial, a row each (NaN in a row whose trial is no longer one).
        self._slot: dict[int, int] = {}
        self._tids = np.empty(0, dtype=np.int64)
        self._losses = np.empty((0, m))
        self._violations = np.empty(0)
        self._used = 0
        self._ids: list[int] = []  # the front's trials
        self._front = np.empty((0, m))  # their losses, row by row
        self._left: list[NDArray[np.float64]] = []  # losses of trials that left the front
        self._pending: list[int] = []  # rows that ended while trials had left
        self._json: str | None = None

    @property
    def size(self) -> int:
        """How many trials are on the front."""
        self._settle()
        return len(self._ids)

    def rebuild(self, rows: Sequence[Sequence[Any]]) -> None:
        """Take every trial afresh: ``rows`` of (trial_id, status, value, ..., metrics
        JSON, ...) as `paratune.dashboard._queries.TRIAL_COLUMNS` orders them."""
        ids, losses, violations = usable(self.goals, rows)
        self._tids, self._losses, self._violations = ids, losses, violations
        self._used = len(ids)
        self._slot = dict(zip(ids.tolist(), range(len(ids)), strict=True))
        self.infeasible = int(np.count_nonzero(violations > 0))
        self._left, self._pending = [], []
        self._take(np.flatnonzero(violations <= 0))

    def update(self, row: Sequence[Any]) -> None:
        """Take trial ``row``'s new state (a row as `rebuild` takes them)."""
        tid = int(row[0])
        slot = self._slot.get(tid)
        if slot is not None and not np.isnan(self._violations[slot]):
            self.infeasible -= bool(self._violations[slot] > 0)
            self._violations[slot] = np.nan
            if tid in self._ids:
                self._leave(tid)
        ids, losses, violations = usable(self.goals, [row])
        if not len(ids):
            return
        if slot is None:
            slot = self._slot[tid] = self._grow()
            self._tids[slot] = tid
        self._losses[slot], self._violations[slot] = losses[0], violations[0]
        self.infeasible += bool(violations[0] > 0)
        if violations[0] > 0:
            return
        if self._left:
            self._pending.append(slot)
        else:
            self._join(tid, losses[0])

    def points(self) -> list[list[float | int]]:
        """The front's trials, best first in the first objective: ``[trial_id, each tuned
        metric as the trial returned it]``."""
        self._settle()
        order = np.lexsort(np.column_stack([self._front, self._ids]).T[::-1])
        signs = self.goals.signs
        return [[self._ids[i], *(self._front[i] * signs).tolist()] for i in order.tolist()]

    def points_json(self) -> str:
        """`points` as JSON text (kept until the front changes)."""
        self._settle()
        if self._json is None:
            self._json = json.dumps(self.points(), separators=(",", ":"))
        return self._json

    def settle(self) -> bool:
        """Find the front again where trials left it; whether the front changed since the
        last call."""
        self._settle()
        changed, self.changed = self.changed, False
        return changed

    # ---- keeping it ---------------------------------------------------------------------

    def _grow(self) -> int:
        """A new row, the arrays doubled when full."""
        if self._used == len(self._tids):
            more = max(16, len(self._tids))
            self._tids = np.concatenate([self._tids, np.zeros(more, dtype=np.int64)])
            self._losses = np.vstack([self._losses, np.zeros((more, self._losses.shape[1]))])
            self._violations = np.concatenate([self._violations, np.full(more, np.nan)])
        self._used += 1
        return self._used - 1

    def _join(self, tid: int, losses: NDArray[np.float64]) -> None:
        """Put a feasible trial on the front unless a trial of it beats it; drop those it
        beats."""
        point = losses[None, :]
        if _beaten(self._front, point)[0]:
            return
        stays = np.flatnonzero(~_beaten(point, self._front))
        self._ids = [self._ids[i] for i in stays.tolist()] + [tid]
        self._front = np.vstack([self._front[stays], point])
        self.changed, self._json = True, None

    def _leave(self, tid: int) -> None:
        """Take trial ``tid`` off the front; what it beat is looked at again (`_settle`)."""
        at = self._ids.index(tid)
        self._left.append(self._front[at])
        del self._ids[at]
        self._front = np.delete(self._front, at, axis=0)
        self.changed, self._json = True, None

    def _settle(self) -> None:
        """The front again after trials left it: among the trials they beat (only those
        can join it now), the trials that ended since, and the rest of the front."""
        if not self._left:
            return
        used = slice(0, self._used)
        feasible = self._violations[used] <= 0  # NaN: a row no longer in use
        freed = feasible & _beaten(np.array(self._left), self._losses[used])
        rows = np.union1d(np.flatnonzero(freed), np.array(self._pending, dtype=np.intp))
        rows = rows[self._violations[rows] <= 0]  # a trial pending may have changed again
        kept = np.array([self._slot[tid] for tid in self._ids], dtype=np.intp)
        self._left, self._pending = [], []
        self._take(np.union1d(kept, rows))

    def _take(self, rows: NDArray[np.intp]) -> None:
        """The front is the front of the feasible trials of ``rows``."""
        before = set(self._ids)
        on_front = rows[front_positions(self._losses[rows])]
        self._ids, self._front = self._tids[on_front].tolist(), self._losses[on_front]
        self.changed = self.changed or set(self._ids) != before
        self._json = None


def usable(
    goals: Objectives, rows: Sequence[Sequence[Any]]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """The DONE trials of ``rows`` (as `Front.rebuild` takes them) whose tuned and
    constrained metrics are all finite numbers: their ids, losses ``(n, m)`` and
    violations ``(n,)``, as `Objectives.losses` and `Objectives.violation` give them (read
    column by column: a first load of 100,000 trials pays one parse)."""
    done = [r for r in rows if r[1] == "done"]
    parsed = json.loads(f"[{','.join(r[4] for r in done)}]") if done else []
    primary = goals.metrics[0]
    # A single number returned is the primary metric (`Objectives.metrics_of`).
    found = [
        m if isinstance(m, dict) and m else {} if r[2] is None else {primary: r[2]}
        for m, r in zip(parsed, done, strict=True)
    ]
    names = [*goals.metrics, *(c.metric for c in goals.constraints)]
    columns = np.array([_numbers([m.get(n) for m in found]) for n in names], dtype=np.float64)
    columns = columns.reshape(len(names), len(found)).T
    m = len(goals.metrics)
    losses = columns[:, :m] * goals.signs
    violations = np.zeros(len(found))
    for j, constraint in enumerate(goals.constraints):
        violations = violations + constraint.violations(columns[:, m + j])  # NaN: unusable
    keep = np.isfinite(losses).all(axis=1) & np.isfinite(violations)
    ids = np.array([int(r[0]) for r in done], dtype=np.int64)
    return ids[keep], losses[keep], violations[keep]


def _numbers(values: list[Any]) -> list[float]:
    """Numbers as floats, anything else (a string, a bool, None) as NaN."""
    return [
        v if (kind := type(v)) is float or (kind is int and -_BIG < v < _BIG) else math.nan
        for v in values
    ]


def front_positions(losses: NDArray[np.float64]) -> NDArray[np.intp]:
    """The positions of the points of ``losses`` that no other beats
    (`paratune.pareto.non_dominated`). For two objectives, only the points of the lower
    staircase (each no worse in the second objective than every point before it in the
    first) can be on the front, and `non_dominated` decides among those alone."""
    if losses.shape[1] != 2 or not len(losses):
        return np.flatnonzero(non_dominated(losses))
    order = np.lexsort((losses[:, 1], losses[:, 0]))
    second = losses[order, 1]
    lowest = np.minimum.accumulate(np.concatenate([[np.inf], second[:-1]]))
    candidates = np.sort(order[second <= lowest])  # the others: an earlier point beats them
    return candidates[non_dominated(losses[candidates])]


def with_breaches(trial: str, goals: Objectives) -> str:
    """A trial's JSON (the trial page's) with ``"broken"``: the constraints it breaks, as
    text (``"memory_mb <= 2048"``), for a trial that ended DONE with every constrained
    metric (null for another; none without constraints)."""
    if not goals.constraints:
        return trial
    found = json.loads(trial)
    metrics = found.get("metrics") or {}
    broken: list[str] | None = None
    if found.get("status") == "done" and goals.violation(metrics) is not None:
        broken = [str(c) for c in goals.constraints if c.violation(metrics[c.metric]) > 0]
    return f'{trial[:-1]},"broken":{json.dumps(broken)}}}'


def front_counts(db: sqlite3.Connection, name: str, goals: Objectives) -> tuple[int, int]:
    """How many trials of experiment ``name`` are on its front, and how many DONE trials
    break a constraint, read from the store."""
    rows = db.execute(
        "SELECT trial_id, status, value, NULL, metrics FROM trials "
        "WHERE experiment = ? AND status = 'done'",
        (name,),
    ).fetchall()
    front = Front(goals)
    front.rebuild(rows)
    return front.size, front.infeasible
