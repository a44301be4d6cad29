"""An experiment's trials read column by column, for tables of a million trials.

`read_trial_columns` reads them in one read transaction (one snapshot, however a running
driver writes meanwhile): an aggregate query finds the columns that are the same in every
trial or never set, one SELECT in trial order reads the columns that vary, chunk by chunk,
straight into NumPy arrays, the configs and metrics are decoded in bulk (one ``json.loads``
per chunk) into one list per key, and errors and tracebacks are read only where set. No
`Trial` is built: `TrialColumns.trials` builds them, on demand.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..trial import Status, Trial

STATUSES: tuple[Status, ...] = tuple(Status)
"""The statuses in the order of their codes in `TrialColumns.status`."""
STATUS_CODES: dict[Status, int] = {status: code for code, status in enumerate(STATUSES)}
"""Each status's code in `TrialColumns.status`."""

CHUNK = 50_000
"""Rows read and decoded at a time: their tuples and dicts are freed chunk by chunk."""

# Each Trial field's kind: how it is stored and read.
_KINDS = {
    "trial_id": "count", "config": "json", "seed": "count", "status": "status",
    "value": "real", "metrics": "json", "attempts": "count", "budget": "real",
    "submitted": "real", "started": "real", "finished": "real", "worker_time": "real",
    "worker": "int", "host": "text", "pid": "int", "error": "text", "traceback": "text",
    "checkpoint_step": "int", "cpu_time": "real", "peak_memory": "int", "moved": "count",
}  # fmt: skip
_STATUS_CODE = " ".join(f"WHEN '{s.value}' THEN {code}" for code, s in enumerate(STATUSES))


class Ints(NamedTuple):
    """A column of integers some trials may lack: the values (0 where missing) and where
    they are missing."""

    values: NDArray[np.int64]
    missing: NDArray[np.bool_]

    def tolist(self) -> list[int | None]:
        """The values as Python integers, None where missing."""
        found: list[int | None] = list(self.values.tolist())
        for index in np.flatnonzero(self.missing).tolist():
            found[index] = None
        return found


@dataclass(frozen=True)
class JsonColumns:
    """A column of JSON objects (configs, metrics) split by key.

    Attributes:
        values: per key, in order of first appearance (trial by trial, then within the
            object), one value per trial: None where the trial's object lacks the key.
        shapes: each distinct sequence of keys an object has, in order of first appearance.
        shape: per trial, the index of its object's keys in ``shapes``.
    """

    values: dict[str, list[Any]]
    shapes: list[tuple[str, ...]]
    shape: NDArray[np.int32]

    def objects(self) -> list[dict[str, Any]]:
        """The objects as dicts, each with its own keys in its own order."""
        by_shape = [[self.values[key] for key in keys] for keys in self.shapes]
        return [
            dict(zip(self.shapes[s], [column[i] for column in by_shape[s]], strict=True))
            for i, s in enumerate(self.shape.tolist())
        ]


@dataclass(frozen=True)
class TrialColumns:
    """Trials as columns, one entry per trial in id order (`read_trial_columns` reads them
    from a store, `from_trials` takes them from `Trial` records).

    Times, values and budgets are float arrays (NaN where none: a store cannot hold NaN);
    integers a trial may lack are `Ints`; text is a list (None where none).
    """

    trial_id: NDArray[np.int64]
    config: JsonColumns
    seed: NDArray[np.int64]
    status: NDArray[np.int8]  # codes: positions in STATUSES
    value: NDArray[np.float64]
    metrics: JsonColumns
    attempts: NDArray[np.int64]
    budget: NDArray[np.float64]
    submitted: NDArray[np.float64]
    started: NDArray[np.float64]
    finished: NDArray[np.float64]
    worker_time: NDArray[np.float64]
    worker: Ints
    host: list[str | None]
    pid: Ints
    error: list[str | None]
    traceback: list[str | None]
    checkpoint_step: Ints
    cpu_time: NDArray[np.float64]
    peak_memory: Ints
    moved: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.trial_id)

    def trials(self) -> list[Trial]:
        """The trials as `Trial` records, as `SQLiteStore.trials` reads them (a whole
        budget as an int)."""
        columns = [self._python(name) for name in Trial._fields]
        return list(map(Trial._make, zip(*columns, strict=True)))

    def trial(self, index: int) -> Trial:
        """The trial at ``index`` (a position, not an id) as a `Trial` record."""
        return self.take([index]).trials()[0]

    def take(self, indices: Sequence[int] | NDArray[np.intp]) -> TrialColumns:
        """The trials at ``indices`` (positions), as columns."""
        at = np.asarray(indices, dtype=np.intp)
        picked = {name: _take(getattr(self, name), at) for name in Trial._fields}
        return TrialColumns(**picked)

    def _python(self, name: str) -> list[Any]:
        column = getattr(self, name)
        if name == "status":
            return [STATUSES[code] for code in column.tolist()]
        if name == "budget":
            return [_budget(b) for b in column.tolist()]
        if isinstance(column, JsonColumns):
            return column.objects()
        if _KINDS[name] == "real" and name != "worker_time":
            return [None if math.isnan(v) else v for v in column.tolist()]
        return list(column) if isinstance(column, list) else list(column.tolist())

    @classmethod
    def from_trials(cls, trials: Sequence[Trial]) -> TrialColumns:
        """The columns of ``trials`` (in the order given)."""
        by_field = zip(*trials, strict=True) if trials else [()] * len(Trial._fields)
        found: dict[str, Any] = {
            name: _converted(_KINDS[name], values)
            for name, values in zip(Trial._fields, by_field, strict=True)
        }
        for name in ("config", "metrics"):
            reader = _JsonReader()
            reader.add_objects([dict(getattr(t, name)) for t in trials])
            found[name] = reader.done()
        return cls(**found)


def trial_from_row(r: Sequence[Any]) -> Trial:
    """A trial from its row (the columns in `Trial`'s order): a whole budget as an int,
    since SQLite's REAL gives 4 back as 4.0 and an objective's ``range(ctx.start_step,
    ctx.budget)`` needs 4."""
    budget = int(r[7]) if r[7] is not None and float(r[7]).is_integer() else r[7]
    return Trial(r[0], json.loads(r[1]), r[2], Status(r[3]), r[4], json.loads(r[5]), r[6],
                 budget, *r[8:])  # fmt: skip


def _budget(budget: float) -> float | int | None:
    """A stored budget: a whole one as an int (SQLite's REAL gives 4 back as 4.0)."""
    if math.isnan(budget):
        return None
    return int(budget) if budget.is_integer() else budget


def _take(column: Any, at: NDArray[np.intp]) -> Any:
    if isinstance(column, Ints):
        return Ints(column.values[at], column.missing[at])
    if isinstance(column, JsonColumns):
        values = {key: [values[i] for i in at.tolist()] for key, values in column.values.items()}
        return JsonColumns(values, column.shapes, column.shape[at])
    if isinstance(column, list):
        return [column[i] for i in at.tolist()]
    return column[at]


def _converted(kind: str, values: Sequence[Any]) -> Any:
    """A column of plain values (None where a trial has none) as its array or list."""
    if kind == "count":
        return np.array(values, dtype=np.int64).reshape(-1)
    if kind == "status":
        return np.array([STATUS_CODES[Status(v)] for v in values], dtype=np.int8)
    if kind == "real":
        return np.array(values, dtype=np.float64).reshape(-1)  # None becomes NaN
    if kind == "int":
        missing = np.array([v is None for v in values], dtype=np.bool_)
        given = np.array([0 if v is None else v for v in values], dtype=np.int64)
        return Ints(given.reshape(-1), missing.reshape(-1))
    return list(values)  # text


class _JsonReader:
    """Decodes a column of JSON object texts chunk by chunk into `JsonColumns`."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {}
        self.shapes: dict[tuple[str, ...], int] = {}
        self.shape_parts: list[NDArray[np.int32]] = []
        self.count = 0

    def add(self, texts: Sequence[str] | NDArray[np.object_]) -> None:
        """Decode the next chunk of texts, in one ``json.loads``."""
        self.add_objects(json.loads("[" + ",".join(texts) + "]"))  # one call: C speed

    def add_objects(self, objects: list[dict[str, Any]]) -> None:
        """Split the next chunk of objects by key."""
        known = len(self.shapes)
        chunk_shapes = list(dict.fromkeys(map(tuple, objects)))
        for keys in chunk_shapes:
            self.shapes.setdefault(keys, len(self.shapes))
        if len(chunk_shapes) == 1:  # as usual: every object has the same keys, in order
            ids = np.full(len(objects), self.shapes[chunk_shapes[0]], dtype=np.int32)
        else:
            shapes = self.shapes
            ids = np.array([shapes[tuple(o)] for o in objects], dtype=np.int32)
        self.shape_parts.append(ids)
        for keys in itertools.islice(self.shapes, known, None):  # the shapes new here
            for key in keys:
                self.values.setdefault(key, [None] * self.count)
        everywhere = set(chunk_shapes[0]).intersection(*chunk_shapes) if objects else set()
        for key, column in self.values.items():
            if key in everywhere:
                column.extend(map(operator.itemgetter(key), objects))
            else:
                column.extend([o.get(key) for o in objects])
        self.count += len(objects)

    def done(self) -> JsonColumns:
        """The columns read."""
        shape = np.concatenate(self.shape_parts) if self.shape_parts else np.zeros(0, np.int32)
        return JsonColumns(self.values, list(self.shapes), shape)


def read_trial_columns(
    db: sqlite3.Connection,
    name: str,
    expressions: Sequence[str],
    *,
    after: int | None = None,
    before: int | None = None,
) -> TrialColumns:
    """The trials of experiment ``name`` in ``db`` whose ids lie between ``after`` and
    ``before`` (both excluded; None: no bound), as columns, in id order.

    Args:
        db: a connection to the store, outside any transaction of its own.
        name: the experiment.
        expressions: the SQL of each `Trial` field, in order (a constant stands in for a
            column an older schema lacks).
        after: read only trials with a greater id.
        before: read only trials with a smaller id.
    """
    where = "experiment = ?" + (" AND trial_id > ?" if after is not None else "")
    where += " AND trial_id < ?" if before is not None else ""
    params = [name, *(bound for bound in (after, before) if bound is not None)]
    sql = dict(zip(Trial._fields, expressions, strict=True))
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")  # one snapshot for every query below
    try:
        plans, count = _plans(db, sql, where, params)
        found = _read_dense(db, sql, plans, where, params, count)
        if plans["trial_id"][0] == "range":
            first = plans["trial_id"][1]
            found["trial_id"] = np.arange(first, first + count, dtype=np.int64)
        for field_name, plan in plans.items():
            if plan[0] == "same":  # trial_id too, when there is no trial
                found[field_name] = _filled(_KINDS[field_name], plan[1], count)
        for field_name, plan in plans.items():
            if plan[0] == "sparse":
                ids = found["trial_id"]
                found[field_name] = _read_sparse(db, sql[field_name], where, params, ids)
    finally:
        if own:
            db.execute("COMMIT")
    return TrialColumns(**found)


# The fields often the same in every trial (or never set), whose reading the plan spares
# when they are; the others vary in any run (times, values, configs, seeds). The cost of a
# plan is one column read per field and trial, a third of what reading it would cost.
_OFTEN_SAME = (
    "status", "metrics", "attempts", "moved", "budget", "cpu_time", "error", "traceback",
    "host", "worker", "pid", "checkpoint_step", "peak_memory",
)  # fmt: skip


def _plans(
    db: sqlite3.Connection, sql: dict[str, str], where: str, params: list[Any]
) -> tuple[dict[str, tuple[str, Any]], int]:
    """How to read each field: ``("same", value)`` for a field with the first trial's value
    in every trial (None: never set), ``("range", first)`` for ids that run without a gap,
    ``("dense", flagged)`` for one read in the main SELECT (``flagged``: an integer read
    with a flag where NULL), ``("sparse", None)`` for text read only where set; and how
    many trials there are."""
    often = ", ".join(sql[name] for name in _OFTEN_SAME)
    first = db.execute(
        f"SELECT {often} FROM trials WHERE {where} ORDER BY trial_id LIMIT 1", params
    ).fetchone()
    if first is None:
        return dict.fromkeys(sql, ("same", None)), 0
    count = db.execute(f"SELECT count(*) FROM trials WHERE {where}", params).fetchone()[0]
    # min and max of the key, each found in its index rather than by a scan
    low, high = (
        db.execute(f"SELECT {end}(trial_id) FROM trials WHERE {where}", params).fetchone()[0]
        for end in ("min", "max")
    )
    varied = _varied(db, sql, where, params, dict(zip(_OFTEN_SAME, first, strict=True)))
    plans: dict[str, tuple[str, Any]] = dict.fromkeys(sql, ("dense", False))
    plans["trial_id"] = ("range", low) if high - low + 1 == count else ("dense", False)
    for name, value in zip(_OFTEN_SAME, first, strict=True):
        kind = _KINDS[name]
        if name not in varied and _same_value(kind, value):
            plans[name] = ("same", value)
        elif kind in ("text", "int"):
            plans[name] = ("sparse", None) if kind == "text" else ("dense", True)
    return plans, int(count)


def _varied(
    db: sqlite3.Connection, sql: dict[str, str], where: str, params: list[Any], first: Any
) -> set[str]:
    """The often-same fields whose value differs from the ``first`` trial's in some trial.

    The second and the last trials show most such fields without a scan (a value Python
    tells apart may be one SQL holds equal: reading such a field whole is only slower). One
    scan then looks for the first trial that differs in any field left, and stops there:
    where none does, that scan is all, a third of what comparing each field costs; from a
    trial that does, each field left is compared to the end."""
    varied: set[str] = set()
    often = ", ".join(sql[name] for name in _OFTEN_SAME)
    for probe in ("ORDER BY trial_id LIMIT 1 OFFSET 1", "ORDER BY trial_id DESC LIMIT 1"):
        row = db.execute(f"SELECT {often} FROM trials WHERE {where} {probe}", params).fetchone()
        if row is not None:
            varied.update(n for n, v in zip(_OFTEN_SAME, row, strict=True) if v != first[n])
    left = [name for name in _OFTEN_SAME if name not in varied]
    if not left:
        return varied
    values = [first[name] for name in left]
    differs = " OR ".join(f"{sql[name]} IS NOT ?" for name in left)
    found = db.execute(
        f"SELECT trial_id FROM trials WHERE {where} AND ({differs}) ORDER BY trial_id LIMIT 1",
        [*params, *values],
    ).fetchone()
    if found is None:
        return varied
    each = ", ".join(f"max({sql[name]} IS NOT ?)" for name in left)
    flags = db.execute(
        f"SELECT {each} FROM trials WHERE {where} AND trial_id >= ?", [*values, *params, found[0]]
    ).fetchone()
    return varied | {name for name, flag in zip(left, flags, strict=True) if flag}


def _same_value(kind: str, value: Any) -> bool:
    """Whether a column with ``value`` in every trial can be filled with it: not JSON that
    holds lists or dicts, which each trial must have its own copy of."""
    if kind == "json":
        return not any(isinstance(v, list | dict) for v in json.loads(value).values())
    return True


def _filled(kind: str, value: Any, count: int) -> Any:
    """A column with ``value`` (None: none) in each of ``count`` trials."""
    if count == 0:
        return _converted(kind, ()) if kind != "json" else _JsonReader().done()
    if kind == "json":
        reader = _JsonReader()
        reader.add([value])
        reader.values = {key: column * count for key, column in reader.values.items()}
        reader.shape_parts = [np.zeros(count, dtype=np.int32)]
        return reader.done()
    if kind == "text":
        return [value] * count
    if kind == "int":
        return Ints(np.full(count, value or 0, np.int64), np.full(count, value is None))
    if kind == "status":
        return np.full(count, STATUSES.index(Status(value)), dtype=np.int8)
    dtype = np.float64 if kind == "real" else np.int64
    return np.full(count, np.nan if value is None else value, dtype=dtype)


def _read_dense(
    db: sqlite3.Connection,
    sql: dict[str, str],
    plans: dict[str, tuple[str, Any]],
    where: str,
    params: list[Any],
    count: int,
) -> dict[str, Any]:
    """The fields planned ``dense`` of the ``count`` trials, from one SELECT in id order,
    chunk by chunk: each chunk's rows become one structured array (each field cast as it
    is read, None to NaN), whose fields are copied into their place."""
    dense = [name for name, plan in plans.items() if plan[0] == "dense"]
    selected, fields = [], []
    for name in dense:
        kind = _KINDS[name]
        fields.append((name, _DTYPES.get(kind, np.object_)))
        if kind == "status":
            selected.append(f"CASE {sql[name]} {_STATUS_CODE} ELSE -1 END")
        elif kind == "int" and plans[name][1]:  # NULL as 0 and a flag: no None to cast
            selected += [f"coalesce({sql[name]}, 0)", f"{sql[name]} IS NULL"]
            fields.append((f"{name}.missing", np.bool_))
        else:
            selected.append(sql[name])
    readers = {name: _JsonReader() for name in dense if _KINDS[name] == "json"}
    # Each column filled in place, a chunk at a time: no chunks to join, no second copy.
    found: dict[str, Any] = {n: _empty(_KINDS[n], count) for n in dense if n not in readers}
    cursor = db.execute(
        f"SELECT {', '.join(selected) or 'NULL'} FROM trials WHERE {where} ORDER BY trial_id",
        params,
    )
    done = 0
    while dense and (rows := cursor.fetchmany(CHUNK)):
        chunk = np.array(rows, dtype=fields)
        end = done + len(rows)
        for name in dense:
            column: Any = found.get(name)
            if name in readers:
                readers[name].add(chunk[name])
            elif isinstance(column, Ints):
                column.values[done:end] = chunk[name]
                if plans[name][1]:
                    column.missing[done:end] = chunk[f"{name}.missing"]
            else:
                column[done:end] = chunk[name]
        done = end
    found.update((name, reader.done()) for name, reader in readers.items())
    if "status" in dense and (found["status"] < 0).any():
        raise ValueError("a trial has a status this paratune does not know")
    return found


_DTYPES: dict[str, type[np.generic]] = {
    "count": np.int64, "status": np.int8, "real": np.float64, "int": np.int64,
}  # fmt: skip


def _empty(kind: str, count: int) -> Any:
    """A column of ``count`` trials to fill."""
    if kind == "int":
        return Ints(np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.bool_))
    return np.empty(count, dtype=_DTYPES[kind])


def _read_sparse(
    db: sqlite3.Connection, expr: str, where: str, params: list[Any], ids: NDArray[np.int64]
) -> list[str | None]:
    """A text column read only where set (errors, tracebacks), None elsewhere."""
    rows = db.execute(
        f"SELECT trial_id, {expr} FROM trials WHERE {where} AND {expr} IS NOT NULL", params
    ).fetchall()
    column: list[str | None] = [None] * len(ids)
    if rows:
        at = np.searchsorted(ids, np.array([r[0] for r in rows], dtype=np.int64)).tolist()
        for index, (_, text) in zip(at, rows, strict=True):
            column[index] = text
    return column


def status_counts(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per experiment of the store ``db``: trial counts by status and the best value of
    its done trials (None without one)."""
    summary: dict[str, dict[str, Any]] = {}
    for name, mode in db.execute("SELECT name, mode FROM experiments ORDER BY created"):
        best = "min" if mode == "min" else "max"
        by_status = dict.fromkeys((s.value for s in Status), 0)
        value = None
        # One pass over the trials: the counts and each status's best value together.
        for status, count, best_value in db.execute(
            f"SELECT status, count(*), {best}(value) FROM trials WHERE experiment = ? "
            "GROUP BY status",
            (name,),
        ):
            by_status[status] = count
            if status == Status.DONE.value:
                value = best_value
        summary[name] = {
            "mode": mode,
            "counts": by_status,
            "best_value": None if value is None or math.isnan(value) else value,
        }
    return summary
