"""One experiment's trials and reports as the page receives them, kept up to date from the
store by reading only what may have changed, with a log of what changed at each reading:
what the change cursor of ``GET /api/experiments/{name}?since=`` counts in.

The store has no change column (trials are replaced in place), so a reading finds what may
have changed since the last one from how a driver writes:

- trials with a greater id: ids are given in order, and each commit holds every trial
  created before it;
- trials that were running: they end, fail with a retry left (and stay running), settle;
- trials that ran again: a multi-fidelity scheduler continues an ended trial at a higher
  budget and records it as submitted again, at a time no earlier than any submission
  already committed (a scan of the submission times; skipped under FIFO, whose ended
  trials never run again within a session);
- all of them when a new session began (a resume queues trials at its own times).

A report is written only while its trial runs or as it ends, so only the reports of those
trials are read: past the latest step seen, for a trial still running the same attempt;
all of them, compared with what is kept, for the others. A candidate whose JSON is the same
as before did not change. An experiment replaced (overwritten) gets a new mirror, whose
cursors are all new: the page then starts over.
"""

from __future__ import annotations

import math
import operator
import secrets
import sqlite3
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..store._lease import Owner
from ._front import Front, goals_of
from ._queries import (
    STATUSES,
    ExperimentRow,
    Stats,
    report_json,
    reports_beyond,
    reports_of,
    trial_jsons,
    trials_after,
    trials_among,
    trials_submitted_since,
)

LOG_LIMIT = 600
"""Readings with changes whose changes are kept: a page whose cursor is older (ten
minutes of readings once a second) is sent everything again."""


# What the summary and the next reading need of a trial: its status, value, worker time,
# submission, end and attempts, as a plain tuple (a named tuple per trial would cost the
# first load of 100,000 trials a third more).
_State = tuple[Any, ...]
_STATE_OF_ROW = operator.itemgetter(1, 2, 12, 9, 11, 6)
STATUS, VALUE, WORKER_TIME, SUBMITTED, FINISHED, ATTEMPTS = range(6)


class Changes(NamedTuple):
    """What one reading changed."""

    version: int
    trials: list[int]
    reports: list[tuple[int, int]]


class Mirror:
    """The trials and reports of experiment ``row`` as JSON texts, with their `Stats`.

    Attributes:
        row: the experiment's row, as the latest reading found it with the trials.
        owner: its driver then (None: its session ended).
        epoch: names this mirror in its cursors (random: a cursor of a mirror gone, or of
            another server, is not taken for one of this).
        version: counts the readings that changed something.
        data_version: the store's ``PRAGMA data_version`` at the latest reading (None
            before the first).
        read_at: the monotonic time of the latest reading.
    """

    def __init__(self, row: ExperimentRow) -> None:
        self.row = row
        self.owner: Owner | None = None
        self.name, self.created = row.name, row.created
        self.session_started = row.session_started
        self._sign = -1.0 if row.mode == "max" else 1.0
        self.epoch = secrets.token_hex(4)
        self.version = 0
        self._oldest = 0  # the oldest cursor version whose changes the log still holds
        self.trials: dict[int, str] = {}
        self.reports: dict[int, dict[int, str]] = {}
        self._states: dict[int, _State] = {}
        self._steps: dict[int, int] = {}  # each trial's highest report step
        self._open: set[int] = set()  # running trials
        self._max_id = -1
        self._max_submitted = -math.inf
        self._log: deque[Changes] = deque()
        self._best_stale = False
        self._full: tuple[int, str, str] | None = None
        goals = goals_of(row.settings)
        self.front = None if goals is None else Front(goals)
        self.front_version = 0  # the version at which the front last changed
        self.stats = Stats(dict.fromkeys(STATUSES, 0))
        self.data_version: int | None = None
        self.read_at = -math.inf
        self.cost = 0.0  # seconds the latest reading took

    @property
    def cursor(self) -> str:
        """The cursor of what this mirror holds now."""
        return f"{self.epoch}-{self.version}"

    def refresh(self, db: sqlite3.Connection, row: ExperimentRow) -> None:
        """Read what may have changed since the last reading (everything, the first time
        or in a new session), inside the caller's read transaction; ``row``: the
        experiment's row, read in it."""
        full = self.data_version is None or row.session_started != self.session_started
        self.row, self.session_started = row, row.session_started
        if full:
            trials = self._reread(trials_after(db, self.name, -1))
            reports = self._apply_reports(reports_of(db, self.name, None))
        else:
            running = {tid: self._states[tid][ATTEMPTS] for tid in self._open}
            rows = self._candidates(db, row)
            trials = self._apply_trials(rows)
            reports = self._apply_reports(self._new_reports(db, [r[0] for r in rows], running))
        if self._best_stale:
            self._find_best()
        if trials or reports:
            self.version += 1
            self._log.append(Changes(self.version, trials, reports))
            if len(self._log) > LOG_LIMIT:
                self._oldest = self._log.popleft().version
        if self.front is not None:
            if self.front.settle():  # only trials change it: the version moved with them
                self.front_version = self.version
            self.stats.front_size, self.stats.infeasible = self.front.size, self.front.infeasible

    def _candidates(self, db: sqlite3.Connection, row: ExperimentRow) -> list[Sequence[Any]]:
        """The rows of the trials that may have changed since the last reading."""
        found = {r[0]: r for r in trials_after(db, self.name, self._max_id)}
        found.update((r[0], r) for r in trials_among(db, self.name, sorted(self._open)))
        if row.restarts and self._max_submitted > -math.inf:
            since = self._max_submitted
            found.update((r[0], r) for r in trials_submitted_since(db, self.name, since))
        return [found[tid] for tid in sorted(found)]

    def _new_reports(
        self, db: sqlite3.Connection, ids: list[int], running: dict[int, int]
    ) -> list[Sequence[Any]]:
        """The reports of trials ``ids`` that may be new; ``running``: the attempt of each
        trial that was running at the last reading."""
        whole: list[int] = []
        rows: list[Sequence[Any]] = []
        for tid in ids:
            state = self._states[tid]
            same_attempt = running.get(tid) == state[ATTEMPTS] and state[STATUS] == "running"
            if same_attempt and tid in self._steps:
                rows += reports_beyond(db, self.name, tid, self._steps[tid])
            else:
                whole.append(tid)
        return rows + reports_of(db, self.name, whole)

    def _reread(self, rows: list[Sequence[Any]]) -> list[int]:
        """Take every trial afresh (a first reading, a new session), in bulk; the ids of
        those that changed."""
        fresh = dict(zip([int(r[0]) for r in rows], trial_jsons(rows), strict=True))
        changed = [tid for tid, text in fresh.items() if self.trials.get(tid) != text]
        self.trials = fresh
        self._states = dict(zip(fresh, map(_STATE_OF_ROW, rows), strict=True))
        states = self._states.values()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(Counter(s[STATUS] for s in states))
        times = [t for s in states for t in (s[SUBMITTED], s[FINISHED]) if t is not None]
        self.stats = Stats(
            counts, math.fsum(s[WORKER_TIME] for s in states), max(times, default=None)
        )
        self._open = {tid for tid, s in self._states.items() if s[STATUS] == "running"}
        self._max_id = max(self._states, default=-1)
        submitted = [s[SUBMITTED] for s in states if s[SUBMITTED] is not None]
        self._max_submitted = max(submitted, default=-math.inf)
        self._find_best()
        if self.front is not None:
            self.front.rebuild(rows)
        return changed

    def _apply_trials(self, rows: list[Sequence[Any]]) -> list[int]:
        """Keep the rows' trials; the ids of those that changed."""
        changed = []
        for r, fragment in zip(rows, trial_jsons(rows), strict=True):  # formatted at once
            tid = int(r[0])
            if self.trials.get(tid) == fragment:
                continue
            self.trials[tid] = fragment
            self._restate(tid, _STATE_OF_ROW(r))
            if self.front is not None:
                self.front.update(r)
            changed.append(tid)
        return changed

    def _restate(self, tid: int, new: _State) -> None:
        """Record trial ``tid``'s new state in the counts, sums and best."""
        stats, old = self.stats, self._states.get(tid)
        if old is not None:
            stats.counts[old[STATUS]] -= 1
            stats.busy -= old[WORKER_TIME]
        stats.counts[new[STATUS]] = stats.counts.get(new[STATUS], 0) + 1
        stats.busy += new[WORKER_TIME]
        self._states[tid] = new
        if new[STATUS] == "running":
            self._open.add(tid)
        else:
            self._open.discard(tid)
        self._max_id = max(self._max_id, tid)
        for time in (new[SUBMITTED], new[FINISHED]):
            if time is not None:
                stats.last = time if stats.last is None else max(stats.last, time)
        if new[SUBMITTED] is not None:
            self._max_submitted = max(self._max_submitted, new[SUBMITTED])
        if tid == stats.best_trial_id and (
            new[STATUS] != "done" or old is None or new[VALUE] != old[VALUE]
        ):
            self._best_stale = True  # the best got worse or is gone: found again after
        elif new[STATUS] == "done" and new[VALUE] is not None and self._better(new[VALUE], tid):
            stats.best_value, stats.best_trial_id = new[VALUE], tid

    def _better(self, value: float, tid: int) -> bool:
        best, best_id = self.stats.best_value, self.stats.best_trial_id
        if best is None or best_id is None:
            return True
        return (self._sign * value, tid) < (self._sign * best, best_id)

    def _find_best(self) -> None:
        """Find the best done trial again, by a pass over them all."""
        sign = self._sign
        done = (
            (sign * s[VALUE], tid)
            for tid, s in self._states.items()
            if s[STATUS] == "done" and s[VALUE] is not None
        )
        best = min(done, default=None)
        self.stats.best_value = None if best is None else sign * best[0]
        self.stats.best_trial_id = None if best is None else best[1]
        self._best_stale = False

    def _apply_reports(self, rows: list[Sequence[Any]]) -> list[tuple[int, int]]:
        """Keep the reports; the (trial, step) of those that changed."""
        changed = []
        for r in rows:
            tid, step = int(r[0]), int(r[1])
            fragment = report_json(r)
            steps = self.reports.setdefault(tid, {})
            if steps.get(step) == fragment:
                continue
            steps[step] = fragment
            self._steps[tid] = max(self._steps.get(tid, step), step)
            changed.append((tid, step))
        return changed

    # ---- answering a page ----------------------------------------------------------------

    def everything(self) -> tuple[str, str]:
        """Every trial and every report, as two JSON arrays (kept for the version)."""
        if self._full is None or self._full[0] != self.version:
            trials = f"[{','.join(self.trials.values())}]"
            reports = ",".join(f for steps in self.reports.values() for f in steps.values())
            self._full = (self.version, trials, f"[{reports}]")
        return self._full[1], self._full[2]

    def changes_since(self, cursor: str) -> tuple[str, str] | None:
        """The trials and reports changed since ``cursor`` (one of this mirror's), as two
        JSON arrays; None when this mirror cannot tell (another mirror's cursor, or one
        older than its log)."""
        epoch, _, version_text = cursor.partition("-")
        if epoch != self.epoch or not version_text.isdigit():
            return None
        since = int(version_text)
        if not self._oldest <= since <= self.version:
            return None
        trials: set[int] = set()
        reports: set[tuple[int, int]] = set()
        for changes in reversed(self._log):
            if changes.version <= since:
                break
            trials.update(changes.trials)
            reports.update(changes.reports)
        trial_texts = ",".join(self.trials[tid] for tid in sorted(trials))
        report_texts = ",".join(self.reports[tid][step] for tid, step in sorted(reports))
        return f"[{trial_texts}]", f"[{report_texts}]"

    def front_since(self, cursor: str | None) -> str | None:
        """The Pareto front's points as JSON (`Front.points`) when it changed since
        ``cursor`` (one `changes_since` took; None: a page sent everything); None when it
        did not, or the experiment has a single objective and no constraint."""
        if self.front is None:
            return None
        if cursor is not None and self.front_version <= int(cursor.partition("-")[2]):
            return None
        return self.front.points_json()
