"""Reading a store the way an outside observer does: SQLite in read-only mode, plain SQL.

Plain SQL rather than `paratune.load`, so a status this paratune does not know yet
(``"interrupted"``) reads as text instead of failing, and so that nothing here writes to the
file a driver is about to recover (``mode=ro`` leaves a killed driver's write-ahead log to
the next driver).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ENDED = ("done", "failed", "pruned")
"""Statuses of a trial whose result is committed."""


@dataclass(frozen=True)
class TrialRow:
    """One trial as stored.

    Attributes:
        status: its status, as text.
        config: its config.
        seed: its seed.
        value: its value (None while it has none).
        budget: its budget (None without a multi-fidelity scheduler).
        error: why it failed, or was stopped (None when it has no error).
    """

    status: str
    config: dict[str, Any]
    seed: int
    value: float | None
    budget: float | None
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What the store holds for one experiment at one moment.

    Attributes:
        trials: every trial, by id.
        reports: every report's metrics, by (trial id, step).
        finished: True when the latest session recorded its end.
        stop_reason: the stored stop reason ("" while a session runs or after a kill).
        integrity: what ``PRAGMA integrity_check`` said ("ok" when all is well).
        evaluations: lines in the evaluations log when the snapshot was taken.
    """

    trials: dict[int, TrialRow] = field(default_factory=dict)
    reports: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    finished: bool = False
    stop_reason: str = ""
    integrity: str = "no store"
    evaluations: int = 0


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection to the store at ``path`` (which must exist)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


class Watch:
    """Polls one experiment's committed progress while its driver runs.

    Args:
        path: the store file (it may not exist yet).
        name: the experiment.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._db: sqlite3.Connection | None = None

    def progress(self, unit: str) -> int:
        """Ended trials (``unit="trials"``) or report rows (``"reports"``) committed so far;
        0 while there is no store or no experiment yet."""
        sql = {
            "trials": f"SELECT count(*) FROM trials WHERE experiment = ? AND status IN {ENDED!r}",
            "reports": "SELECT count(*) FROM reports WHERE experiment = ?",
        }[unit]
        try:
            if self._db is None:
                if not self.path.exists():
                    return 0
                self._db = connect(self.path)
            return int(self._db.execute(sql, (self.name,)).fetchone()[0])
        except sqlite3.Error:  # the schema is being created: nothing committed yet
            self.close()
            return 0

    def close(self) -> None:
        """Close the connection (a later `progress` opens a new one)."""
        if self._db is not None:
            self._db.close()
            self._db = None


def snapshot(path: Path, name: str, evaluations: int = 0) -> Snapshot:
    """Read experiment ``name`` from the store at ``path``."""
    if not path.exists():
        return Snapshot(evaluations=evaluations)
    db = connect(path)
    try:
        integrity = "; ".join(row[0] for row in db.execute("PRAGMA integrity_check"))
        experiment = db.execute(
            "SELECT finished, stop_reason FROM experiments WHERE name = ?", (name,)
        ).fetchone()
        if experiment is None:
            return Snapshot(integrity=integrity, evaluations=evaluations)
        trials = {
            row[0]: TrialRow(row[1], json.loads(row[2]), row[3], row[4], row[5], row[6])
            for row in db.execute(
                "SELECT trial_id, status, config, seed, value, budget, error FROM trials "
                "WHERE experiment = ? ORDER BY trial_id",
                (name,),
            )
        }
        reports = {
            (row[0], row[1]): json.loads(row[2])
            for row in db.execute(
                "SELECT trial_id, step, metrics FROM reports WHERE experiment = ?", (name,)
            )
        }
    finally:
        db.close()
    return Snapshot(
        trials, reports, experiment[0] is not None, experiment[1], integrity, evaluations
    )


def count_lines(path: Path) -> int:
    """Whole lines in ``path`` (0 when it does not exist)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class Evaluation:
    """One line of the evaluations log.

    Attributes:
        trial_id: the trial evaluated.
        attempt: the job's attempt.
        budget: the budget it reached (None without one).
        value: the value it returned (None for a failure on purpose).
    """

    trial_id: int
    attempt: int
    budget: int | None
    value: float | None


def read_evaluations(path: Path) -> list[Evaluation]:
    """Every line of the evaluations log, in the order written."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        trial, attempt, budget, value = line.split(",")
        out.append(
            Evaluation(
                int(trial),
                int(attempt),
                None if budget == "-" else int(budget),
                None if value == "failed" else float(value),
            )
        )
    return out
