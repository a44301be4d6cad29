"""The SQLite store: one file, write-ahead log, the driver its only writer.

Durability: the file is in WAL mode with ``synchronous=NORMAL``. A transaction committed
before the driver process crashes (or is killed) is never lost. On power loss or an
operating-system crash, the last transactions committed before it (at most those since the
last WAL checkpoint) may be lost, but the file stays consistent. Readers (``paratune status``,
`paratune.load`, a notebook) open the file read-only and never block the writer.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ExperimentBusy, StoreError
from ..trial import Report, Trial
from . import _integrity as integrity
from ._base import Experiment, RunTotals, refuse_reopening
from ._columns import TrialColumns
from ._columns import trial_from_row as _trial
from ._integrity import APPLICATION_ID, guard_sqlite_errors
from ._lease import Heartbeat, Owner, hold, let_go, read_owner, token_of
from ._location import file_id, store_file
from ._read_columns import read_trial_columns, status_counts
from ._schema import (
    ADDED_IN_2,
    ADDED_IN_3,
    SAVE_REPORT,
    SAVE_TRIAL,
    SCHEMA,
    SCHEMA_VERSION,
    TRIAL_COLUMNS,
    TRIAL_COLUMNS_1,
    TRIAL_COLUMNS_2,
)


def _dumps(value: Any) -> str:
    if value == {}:  # most trials have no metrics besides their value: no encoder for that
        return "{}"
    return json.dumps(value, separators=(",", ":"), default=_jsonable, allow_nan=True)


def _jsonable(value: Any) -> Any:
    """NumPy scalars and arrays as numbers and lists; anything else as its text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@guard_sqlite_errors  # an sqlite3.Error of a public method is raised as a StoreError
class SQLiteStore:
    """Experiments and trials in one SQLite file.

    Args:
        path: the file, or ``sqlite:///FILE``; created (with its folder, mode 0600) when
            missing, unless ``readonly``. A reader also opens one in a read-only place.
        readonly: open for reading only, as ``paratune status`` and `paratune.load` do.
        check_meanwhile: a reader's quick_check runs in a thread while it reads, and
            `checked` waits for it (a reader that returns nothing before it has checked).

    Raises:
        StoreError: the path is a folder, the file is not SQLite, is an SQLite file of
            something else, was written by a newer paratune, is damaged (SQLite's
            quick_check), or cannot be written (a writer). Nothing is written to the file
            before these checks pass. Every method raises StoreError for SQLite's errors.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        check_meanwhile: bool = False,
    ) -> None:
        self.path = Path(store_file(path))
        self.readonly = readonly
        self._check_meanwhile = readonly and check_meanwhile
        self._check: integrity.StructureCheck | None = None  # the check running beside
        self._name: str | None = None
        self._token = ""  # this driver's lease, once it opens an experiment
        self._file: tuple[int, int] | None = None  # the file it opened: device and inode
        self._heartbeat: Heartbeat | None = None
        integrity.check_store_file(self.path)
        if readonly and not self.path.exists():
            raise StoreError(f"no store at {self.path}")
        self._db, created = integrity.open_connection(self.path, readonly=readonly)
        try:
            self._check_or_create()
        except BaseException as exc:
            integrity.abandon(self._db, self.path, created=created)  # leaves nothing behind
            if isinstance(exc, sqlite3.Error):
                raise integrity.store_error(self.path, exc, "opening it") from exc
            raise

    def _check_or_create(self) -> None:
        new, version = self._identity()
        if not new and self._check_meanwhile:
            self._check = integrity.StructureCheck(self.path)  # waited for by checked()
        elif not new:
            integrity.check_structure(self._db, self.path)  # before reading or writing it
        self._columns = {1: TRIAL_COLUMNS_1, 2: TRIAL_COLUMNS_2}.get(version, TRIAL_COLUMNS)
        self._lost_time = "lost_time" if new or version >= 4 else "0"  # read, not upgraded
        if self.readonly:
            return
        if new or version < SCHEMA_VERSION:
            # Schema, identity and upgrade in one transaction, decided again under its lock
            # (another driver may have made the store meanwhile): readers see none or all.
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                for statement in self._changes(*self._identity()):
                    self._db.execute(statement)
        # WAL only once the store is whole (a no-op for a store already in WAL mode).
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._columns, self._lost_time = TRIAL_COLUMNS, "lost_time"

    def _identity(self) -> tuple[bool, int]:
        """Whether the file is still empty, and its schema version; a file that is not a
        store, or a store of a newer paratune, is refused."""
        application_id, version, tables = integrity.read_identity(self._db)
        new = application_id != APPLICATION_ID
        if new:
            if tables or application_id:
                raise StoreError(f"{self.path} is an SQLite database but not a paratune store")
            if self.readonly:
                raise StoreError(f"{self.path} is an empty file, not a paratune store")
        elif version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer paratune (store schema {version}; this "
                f"version reads up to {SCHEMA_VERSION}): upgrade paratune to open it"
            )
        return new, version

    def _changes(self, new: bool, version: int) -> list[str]:
        """The statements that make an empty file a store, or upgrade an older store."""
        if new:
            return [
                *integrity.statements(SCHEMA),
                f"PRAGMA application_id = {APPLICATION_ID}",
                f"PRAGMA user_version = {SCHEMA_VERSION}",
            ]
        if version >= SCHEMA_VERSION:
            return []  # upgraded meanwhile by another driver
        added = []
        if version == 1:
            added += [f"ALTER TABLE trials ADD COLUMN {c}" for c in ADDED_IN_2]
            added += ["ALTER TABLE reports ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0"]
        if version <= 2:
            added += [f"ALTER TABLE experiments ADD COLUMN {c}" for c in ADDED_IN_3]
            added += ["ALTER TABLE trials ADD COLUMN moved INTEGER NOT NULL DEFAULT 0"]
        added += ["ALTER TABLE experiments ADD COLUMN lost_time REAL NOT NULL DEFAULT 0"]
        return [*added, f"PRAGMA user_version = {SCHEMA_VERSION}"]

    # ---- writing (the driver) ----------------------------------------------------------

    def open(self, experiment: Experiment, *, resume: bool, overwrite: bool) -> list[Trial]:
        """Start, continue or replace ``experiment``, taking its lease; see `Store.open`.

        Raises:
            StoreError: as `Store.open` says, or another live driver owns the experiment
                (the message names its host, process and start).
        """
        self._stop_heartbeat()  # reused for another experiment: one lease renewed at a time
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only")
        try:
            space = json.dumps(experiment.space, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"experiment {experiment.name!r}: a store keeps the space as JSON, and this "
                f"space holds a value JSON cannot ({exc}); use store=None to keep it in memory"
            ) from exc
        now = time.time()
        token = token_of(os.getpid())
        lease = (socket.gethostname(), os.getpid(), token, now)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            # Read inside the write transaction: no other driver can open it in between.
            stored = self._experiment(experiment.name)
            if stored is not None:
                self._take_over(experiment.name, now)
            if stored is not None and not overwrite:
                refuse_reopening(stored, experiment, resume=resume, where=str(self.path))
                self._db.execute(
                    "UPDATE experiments SET session_started = ?, finished = NULL, "
                    "driver_host = ?, driver_pid = ?, lease = ?, heartbeat = ?, settings = ? "
                    "WHERE name = ?",
                    (now, *lease, _dumps(experiment.settings), experiment.name),
                )
            else:
                for table in ("experiments", "trials", "reports"):
                    column = "name" if table == "experiments" else "experiment"
                    sql = f"DELETE FROM {table} WHERE {column} = ?"
                    self._db.execute(sql, (experiment.name,))
                self._db.execute(
                    "INSERT INTO experiments (name, space, metric, mode, seed, objective, "
                    "settings, created, session_started, driver_host, driver_pid, lease, "
                    "heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        experiment.name,
                        space,
                        experiment.metric,
                        experiment.mode,
                        experiment.seed,
                        experiment.objective,
                        _dumps(experiment.settings),
                        now,
                        now,
                        *lease,
                    ),
                )
        self._name, self._token = experiment.name, token
        self._file = file_id(self.path)
        self._heartbeat = Heartbeat(self.path, experiment.name, token)
        hold(self.path, experiment.name)
        return self.trials()

    def _take_over(self, name: str, now: float) -> None:
        """Refuse an experiment a live driver holds; warn when taking over a gone one's."""
        owner = self._owner(name)
        if owner is None:
            return
        why_gone = owner.gone(now, self.path, name)
        if why_gone is None:
            raise ExperimentBusy(
                f"experiment {name!r} in {self.path} is being run by another driver "
                f"({owner.describe()}): wait for it to end, stop it, or choose another name"
            )
        warnings.warn(
            f"experiment {name!r} in {self.path}: taking over from its driver "
            f"({owner.describe()}), which stopped without ending: {why_gone}",
            stacklevel=3,
        )

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        """Write the trials and reports in one transaction, committed before this returns;
        for a trial (or a trial's step) given twice, the last one given is kept."""
        latest = {trial.trial_id: trial for trial in trials}
        steps = [
            (name, r.trial_id, r.step, _dumps(dict(r.metrics)), r.time, r.attempt)
            for name in [self._require_open()]
            for r in reports
        ]
        if not latest and not steps:
            return
        name = self._require_open()
        # After the metrics, the columns are the Trial's fields as they are, in order.
        rows = [
            (name, t.trial_id, _dumps(t.config), t.seed, t.status.value, t.value,
             _dumps(dict(t.metrics)), *t[6:])
            for t in latest.values()
        ]  # fmt: skip
        with self._db:
            # IMMEDIATE: a read first would pin a snapshot, and the heartbeat's commit after
            # it would make the write fail at once as busy, however long the busy timeout.
            self._db.execute("BEGIN IMMEDIATE")
            self._check_lease(name)
            if rows:
                self._db.executemany(SAVE_TRIAL, rows)
            if steps:
                self._db.executemany(SAVE_REPORT, steps)

    def reports(self) -> list[Report]:
        """Every report of the open (or selected) experiment, by trial and step (the
        attempt reads 0 in a store written before schema 2)."""
        attempt = "0" if self._columns is TRIAL_COLUMNS_1 else "attempt"
        rows = self._db.execute(
            f"SELECT trial_id, {attempt}, step, metrics, time FROM reports "
            "WHERE experiment = ? ORDER BY trial_id, step",
            (self._require_open(),),
        )
        return [Report(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def finish(self, totals: RunTotals) -> None:
        """Record the session's totals, mark it ended and release the lease."""
        name = self._require_open()
        self._stop_heartbeat()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")  # as in save: no snapshot before the write
            self._check_lease(name)
            self._db.execute(
                "UPDATE experiments SET finished = ?, wall_time = ?, busy_time = ?, "
                "cancelled_time = ?, workers = ?, stop_reason = ?, lost_time = ?, "
                "lease = NULL WHERE name = ?",
                (
                    time.time(),
                    totals.wall_time,
                    totals.busy_time,
                    totals.cancelled_time,
                    totals.workers,
                    totals.stop_reason,
                    totals.lost_time,
                    name,
                ),
            )

    def checked(self) -> None:
        """Wait for the quick_check ``check_meanwhile`` left running; raise as opening does."""
        if self._check is not None:
            self._check.wait()

    def close(self) -> None:
        """Close the connection (the file stays). A lease not released by `finish` stays,
        for the next driver to take over once it sees this process gone."""
        if self._check is not None and not self._check.passed():
            integrity.close_unchanged(self._db, self.path)  # a damaged file stays as it is
            return
        self._stop_heartbeat()
        self._db.close()

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
            let_go(self.path, self._require_open())

    def _check_lease(self, name: str) -> None:
        """Within a write transaction: refuse to write if another driver has taken the
        experiment over (this one was thought gone), or if the file was removed or replaced
        (what is written would reach no one). Read, not written: the heartbeat thread renews
        the lease, and a write here would add a page to every commit."""
        if file_id(self.path) != self._file:
            raise StoreError(
                f"{self.path} was removed or replaced while this run wrote to it: the trials "
                "committed since are not in the file there now; this run stops"
            )
        row = self._db.execute("SELECT lease FROM experiments WHERE name = ?", (name,)).fetchone()
        if row is None or row[0] != self._token:
            owner = self._owner(name)
            holder = owner.describe() if owner is not None else "no driver"
            raise StoreError(
                f"experiment {name!r} in {self.path} is now held by another driver "
                f"({holder}): this driver stops, writing nothing more"
            )

    def _require_open(self) -> str:
        if self._name is None:
            raise StoreError("no experiment is open in this store: call open() first")
        return self._name

    # ---- reading (anyone) ----------------------------------------------------------------

    def select(self, name: str) -> None:
        """Make ``name`` the experiment that `trials` and `totals` read."""
        if self._experiment(name) is None:
            known = ", ".join(repr(n) for n in self.names()) or "none"
            raise StoreError(f"no experiment {name!r} in {self.path} (experiments: {known})")
        self._name = name

    def names(self) -> list[str]:
        """The experiments in the store, oldest first."""
        rows = self._db.execute("SELECT name FROM experiments ORDER BY created").fetchall()
        return [row[0] for row in rows]

    def experiment(self) -> Experiment:
        """The open (or selected) experiment."""
        stored = self._experiment(self._require_open())
        assert stored is not None  # checked when it was opened or selected
        return stored

    def _experiment(self, name: str) -> Experiment | None:
        row = self._db.execute(
            "SELECT name, space, metric, mode, seed, objective, settings FROM experiments "
            "WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Experiment(
            row[0], json.loads(row[1]), row[2], row[3], row[4], row[5], json.loads(row[6])
        )

    def totals(self) -> RunTotals:
        """The totals of the finished sessions; for a session still running, its elapsed
        time so far is added to the wall time and its trials' time to the busy time."""
        row = self._db.execute(
            "SELECT wall_time, busy_time, cancelled_time, workers, stop_reason, finished, "
            f"session_started, {self._lost_time} FROM experiments WHERE name = ?",
            (self._require_open(),),
        ).fetchone()
        wall, busy, cancelled, workers, reason, finished, started, lost = row
        if finished is None and self.readonly:
            wall += max(0.0, time.time() - started)
            busy = self._db.execute(
                "SELECT coalesce(sum(worker_time), 0) FROM trials WHERE experiment = ?",
                (self._name,),
            ).fetchone()[0]
        return RunTotals(wall, busy, cancelled, workers, reason, lost)

    def running_driver(self) -> Owner | None:
        """The driver of the selected experiment's session that has not ended, or None."""
        return self._owner(self._require_open())

    def _owner(self, name: str) -> Owner | None:
        return read_owner(self._db, name)

    def trials(self) -> list[Trial]:
        """Every trial of the open (or selected) experiment, in id order."""
        rows = self._db.execute(
            f"SELECT {self._columns} FROM trials WHERE experiment = ? ORDER BY trial_id",
            (self._require_open(),),
        ).fetchall()
        return [_trial(r) for r in rows]

    def trial_columns(
        self, *, after: int | None = None, before: int | None = None
    ) -> TrialColumns:
        """The trials of the open (or selected) experiment whose ids lie between ``after``
        and ``before`` (both excluded; None: no bound), in id order, as columns read from
        one snapshot of the file: the table of a million trials with no `Trial` built.

        A live view reads what changed since its last reading with ``after``: the trials
        with a greater id are new, and those from the oldest one it saw running on may have
        changed (a trial a multi-fidelity scheduler continues changes again after it ended:
        such a view reads after the last id it saw not finished at every budget)."""
        expressions = self._columns.split(", ")
        name = self._require_open()
        return read_trial_columns(self._db, name, expressions, after=after, before=before)

    def best_valued(self) -> Trial | None:
        """The trial with the best value for the experiment's mode, whatever its status
        (a pruned trial has one too); the earliest among equals; None without values."""
        order = "DESC" if self.experiment().mode == "max" else "ASC"
        row = self._db.execute(
            f"SELECT {self._columns} FROM trials WHERE experiment = ? AND value IS NOT NULL "
            f"ORDER BY value {order}, trial_id LIMIT 1",
            (self._require_open(),),
        ).fetchone()
        return None if row is None else _trial(row)

    def counts(self) -> dict[str, dict[str, Any]]:
        """Per experiment: trial counts by status and the best value so far."""
        return status_counts(self._db)
