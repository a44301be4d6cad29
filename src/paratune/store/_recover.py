"""Recovering what SQLite can still read of a damaged store into a new one.

The damaged file is opened read-only and never written. Each table is read in the order of
its key; where SQLite stops on a page it cannot read, the reading starts again after that
page (found by probing keys further on, then halving the step back), so one bad page costs
the rows on it, not the rows after it. A row whose values do not decode (its JSON, its
status) is left out too. The rows read go into a new store of this paratune's schema.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..trial import Status
from ._integrity import (
    APPLICATION_ID,
    cannot_open,
    check_store_file,
    check_structure,
    file_uri,
    read_identity,
    remove_created,
)


@dataclass
class Recovery:
    """What `recover` copied into the new store.

    Attributes:
        copied: rows copied, per table.
        skipped: stretches of a table SQLite could not read and that were skipped, per table.
        undecodable: rows read whose values did not decode, left out, per table.
        missing: per experiment, the ranges of trial ids (first, last) that are absent
            between its first and last recovered trial (paratune numbers trials from 0).
    """

    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    undecodable: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def describe(self, source: Path, target: Path) -> str:
        """What `paratune recover` prints: rows per table, then the missing trial ids."""
        lines = [f"recovered {source} into {target}:"]
        for table, copied in self.copied.items():
            lines.append(
                f"  {table:<12} {copied} rows copied, {self.skipped.get(table, 0)} unreadable "
                f"stretches skipped, {self.undecodable.get(table, 0)} rows that no longer "
                "decode left out"
            )
        for name, gaps in self.missing.items():
            ranges = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in gaps)
            lines.append(f"  experiment {name!r}: trial ids missing: {ranges}")
        lines.append(
            f"{target} is a whole store: read it, or resume from it, with --store {target}"
        )
        return "\n".join(lines)


def recover(source: str | Path, target: str | Path) -> Recovery:
    """Copy what SQLite can still read of the store ``source`` into ``target``, a new store
    file; ``source`` is only read.

    Raises:
        StoreError: ``target`` exists already, or ``source`` is not a paratune store, or
            its list of tables cannot be read at all.
    """
    from .sqlite import SQLiteStore  # the new store is made as any store is

    source, target = Path(source), Path(target)
    if target.exists():
        raise StoreError(f"{target} exists already: recover writes a new file, never over one")
    check_store_file(source)
    if not source.exists():
        raise StoreError(f"no store at {source}")
    old = _open_source(source)
    try:
        tables = _source_columns(old, source)
        SQLiteStore(target).close()
        try:
            return _copy_into(old, target, tables)
        except BaseException:
            remove_created(target)  # no half-made store left behind
            raise
    finally:
        old.close()


def _copy_into(old: sqlite3.Connection, target: Path, tables: dict[str, list[str]]) -> Recovery:
    new = sqlite3.connect(target, isolation_level=None)
    try:
        recovery = Recovery()
        with new:
            new.execute("BEGIN")
            _copy_all(old, new, tables, recovery)
        check_structure(new, target)
        return recovery
    finally:
        new.close()


def _open_source(path: Path) -> sqlite3.Connection:
    """A connection that only reads ``path``: with its write-ahead log (SQLite's
    ``mode=ro``) where it has one; else with ``immutable=1``, which takes no lock and makes
    no -shm file beside it (no writer runs: a writer always keeps a -wal file)."""
    query = "mode=ro" if Path(f"{path}-wal").exists() else "immutable=1"
    try:
        db = sqlite3.connect(file_uri(path, query), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path} cannot be opened for reading: {exc}") from exc
    try:
        db.execute("PRAGMA schema_version").fetchone()  # opens the -wal, if any, here
    except sqlite3.DatabaseError as exc:
        if cannot_open(exc):  # a read-only folder without the -shm file the -wal needs
            db.close()
            raise StoreError(
                f"{path} cannot be read here with its -wal file ({exc}): copy the store and "
                "its -wal file to a writable folder and recover from there"
            ) from exc
        # Otherwise damage: reported, and worked around, table by table.
    return db


def _source_columns(db: sqlite3.Connection, path: Path) -> dict[str, list[str]]:
    """The columns of each of the store's tables; refuses a file that is not a store."""
    try:
        application_id, _, _ = read_identity(db)
        if application_id != APPLICATION_ID:
            raise StoreError(f"{path} is not a paratune store: there is nothing to recover")
        return {
            table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            for table in ("experiments", "trials", "reports")
        }
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: SQLite cannot read even its list of tables ({exc}); nothing can be "
            "recovered from it"
        ) from exc


def _copy_all(
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    tables: dict[str, list[str]],
    recovery: Recovery,
) -> None:
    """Copy the experiments, then each recovered experiment's trials and reports."""
    experiments = _copy(old, new, "experiments", tables, (), ("rowid",), recovery)
    for name in [row["name"] for row in experiments]:
        trials = _copy(old, new, "trials", tables, (name,), ("trial_id",), recovery)
        _copy(old, new, "reports", tables, (name,), ("trial_id", "step"), recovery)
        if gaps := _gaps(sorted({row["trial_id"] for row in trials})):
            recovery.missing[name] = gaps


def _copy(
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    table: str,
    tables: dict[str, list[str]],
    prefix: tuple[str, ...],
    key: tuple[str, ...],
    recovery: Recovery,
) -> list[dict[str, Any]]:
    """Copy the readable rows of ``table`` (those of experiment ``prefix[0]``, if given)
    into ``new``, read in the order of ``key``; returns the rows copied."""
    target = {row[1] for row in new.execute(f"PRAGMA table_info({table})")}
    columns = [c for c in tables[table] if c in target]
    reader = _Reader(old, table, columns, prefix, key)
    rows = reader.rows()
    insert = (
        f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    copied = []
    for row in rows:
        values = dict(zip(columns, row[len(key) :], strict=True))
        if not _DECODES[table](values):
            recovery.undecodable[table] = recovery.undecodable.get(table, 0) + 1
            continue
        new.execute(insert, row[len(key) :])
        copied.append(values)
    recovery.copied[table] = recovery.copied.get(table, 0) + len(copied)
    recovery.skipped[table] = recovery.skipped.get(table, 0) + reader.skipped
    return copied


class _Reader:
    """Reads a table in the order of its integer key, around the pages SQLite cannot read.

    Keys are tuples of integers, numbered in order by an ordinal (each integer a 64-bit
    digit), so that the search for the next readable key is a search over one number.
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        table: str,
        columns: list[str],
        prefix: tuple[str, ...],
        key: tuple[str, ...],
    ) -> None:
        self._db, self._prefix, self._width = db, prefix, len(key)
        where = "experiment = ? AND " if prefix else ""
        self._select = (
            f"SELECT {', '.join(key)}, {', '.join(columns)} FROM {table} "
            f"WHERE {where}({', '.join(key)}) >= ({', '.join('?' * len(key))}) "
            f"ORDER BY {', '.join(key)}"
        )
        self._last = 2 ** (64 * len(key)) - 1  # the largest ordinal
        self.skipped = 0  # stretches SQLite could not read

    def _key(self, ordinal: int) -> tuple[int, ...]:
        digits = [(ordinal >> (64 * i)) & (2**64 - 1) for i in reversed(range(self._width))]
        return tuple(digit - 2**63 for digit in digits)

    def _ordinal(self, row: tuple[Any, ...]) -> int:
        ordinal = 0
        for value in row[: self._width]:
            ordinal = (ordinal << 64) | (int(value) + 2**63)
        return ordinal

    def _one(self, ordinal: int) -> tuple[Any, ...] | None:
        """The first row at or after ``ordinal`` (None: there is none); raises where SQLite
        cannot read it. One row: SQLite reads no further than it."""
        query = f"{self._select} LIMIT 1"
        row: tuple[Any, ...] | None = self._db.execute(
            query, (*self._prefix, *self._key(ordinal))
        ).fetchone()
        return row

    def _readable(self, ordinal: int) -> bool:
        try:
            self._one(ordinal)
        except sqlite3.DatabaseError:
            return False
        return True

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row SQLite can read, in key order."""
        rows: list[tuple[Any, ...]] = []
        start: int | None = 0
        while start is not None:
            count = len(rows)
            try:
                cursor = self._db.execute(self._select, (*self._prefix, *self._key(start)))
                rows.extend(cursor)
                return rows
            except sqlite3.DatabaseError:
                # sqlite3 drops the row before a failing one: read on one row at a time.
                at = self._ordinal(rows[-1]) + 1 if len(rows) > count else start
                start = self._one_by_one(rows, at)
        return rows

    def _one_by_one(self, rows: list[tuple[Any, ...]], at: int) -> int | None:
        """Read single rows from ``at`` into ``rows`` until one cannot be read; then the
        ordinal to scan on from (None: nothing more)."""
        while at <= self._last:
            try:
                row = self._one(at)
            except sqlite3.DatabaseError:
                self.skipped += 1
                return self._next_readable(after=at)
            if row is None:
                return None
            rows.append(row)
            at = self._ordinal(row) + 1
        return None

    def _next_readable(self, after: int) -> int | None:
        """The smallest ordinal after ``after`` from which SQLite can read (None: none):
        steps that double until a read succeeds, then halve back."""
        bad, step = after, 1
        while not self._readable(after + step):
            bad = after + step
            if bad >= self._last:
                return None
            step = min(step * 2, self._last - after)
        good = after + step
        while good - bad > 1:  # readable from good, not from bad: halve the gap
            middle = (bad + good) // 2
            bad, good = (bad, middle) if self._readable(middle) else (middle, good)
        return good


def _gaps(ids: list[int]) -> list[tuple[int, int]]:
    """The ranges of integers absent from the sorted ``ids``, from 0 to its largest."""
    gaps, expected = [], 0
    for trial_id in ids:
        if trial_id > expected:
            gaps.append((expected, trial_id - 1))
        expected = trial_id + 1
    return gaps


def _decodes(*texts: Any) -> bool:
    try:
        for text in texts:
            json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def _experiment_ok(row: dict[str, Any]) -> bool:
    return isinstance(row.get("name"), str) and _decodes(row.get("space"), row.get("settings"))


def _trial_ok(row: dict[str, Any]) -> bool:
    statuses = {status.value for status in Status}
    return (
        isinstance(row.get("trial_id"), int)
        and row.get("status") in statuses
        and _decodes(row.get("config"), row.get("metrics"))
    )


def _report_ok(row: dict[str, Any]) -> bool:
    return isinstance(row.get("trial_id"), int) and _decodes(row.get("metrics"))


_DECODES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "experiments": _experiment_ok,
    "trials": _trial_ok,
    "reports": _report_ok,
}
