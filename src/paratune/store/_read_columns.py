"""An experiment's trials read from a store column by column, for tables of a million trials.

`read_trial_columns` reads them in one read transaction (one snapshot, however a running
driver writes meanwhile): an aggregate query finds the columns that are the same in every
trial or never set, one SELECT in trial order reads the columns that vary, chunk by chunk,
straight into NumPy arrays, the configs and metrics are decoded in bulk (one ``json.loads``
per chunk) into one list per key, and errors and tracebacks are read only where set. No
`Trial` is built: `TrialColumns.trials` builds them, on demand.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..trial import Status, Trial
from ._columns import _KINDS, CHUNK, STATUSES, Ints, TrialColumns, _converted, _JsonReader

_STATUS_CODE = " ".join(f"WHEN '{s.value}' THEN {code}" for code, s in enumerate(STATUSES))


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
        plans, span = _plans(db, sql, where, params)
        found, count = _read_dense(db, sql, plans, where, params, span)
        found["trial_id"] = _ids(db, where, params, plans["trial_id"][1] or 0, count, span)
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


def _ids(
    db: sqlite3.Connection, where: str, params: list[Any], first: int, count: int, span: int
) -> NDArray[np.int64]:
    """The ``count`` trials' ids: the range from the ``first`` where they fill their
    ``span`` (as they do but where trials were taken out), read where they do not."""
    if count == span:
        return np.arange(first, first + count, dtype=np.int64)
    ids = db.execute(f"SELECT trial_id FROM trials WHERE {where} ORDER BY trial_id", params)
    return np.fromiter((row[0] for row in ids), np.int64, count)


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
    in every trial (None: never set), ``("range", first)`` for ids read as the range from
    the least (where they have no gap), ``("dense", flagged)`` for one read in the main
    SELECT (``flagged``: an integer read with a flag where NULL), ``("sparse", None)`` for
    text read only where set; and the span of the ids, the most trials there can be (a
    count would cost a scan of its own)."""
    often = ", ".join(sql[name] for name in _OFTEN_SAME)
    first = db.execute(
        f"SELECT {often} FROM trials WHERE {where} ORDER BY trial_id LIMIT 1", params
    ).fetchone()
    if first is None:
        return dict.fromkeys(sql, ("same", None)), 0
    # min and max of the key, each found in its index rather than by a scan
    low, high = (
        db.execute(f"SELECT {end}(trial_id) FROM trials WHERE {where}", params).fetchone()[0]
        for end in ("min", "max")
    )
    varied = _varied(db, sql, where, params, dict(zip(_OFTEN_SAME, first, strict=True)))
    plans: dict[str, tuple[str, Any]] = dict.fromkeys(sql, ("dense", False))
    plans["trial_id"] = ("range", low)
    for name, value in zip(_OFTEN_SAME, first, strict=True):
        kind = _KINDS[name]
        if name not in varied and _same_value(kind, value):
            plans[name] = ("same", value)
        elif kind in ("text", "int"):
            plans[name] = ("sparse", None) if kind == "text" else ("dense", True)
    return plans, int(high - low + 1)


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
    span: int,
) -> tuple[dict[str, Any], int]:
    """The fields planned ``dense`` of the trials (at most ``span``), from one SELECT in id
    order, chunk by chunk: each chunk's rows become one structured array (each field cast
    as it is read, None to NaN), whose fields are copied into their place; and how many
    trials there are."""
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
    found: dict[str, Any] = {n: _empty(_KINDS[n], span) for n in dense if n not in readers}
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
    if not dense:
        done = db.execute(f"SELECT count(*) FROM trials WHERE {where}", params).fetchone()[0]
    elif done < span:  # ids with gaps: the columns' ends were never filled
        found = {n: _head(column, done) for n, column in found.items()}
    found.update((name, reader.done()) for name, reader in readers.items())
    if "status" in dense and (found["status"] < 0).any():
        raise ValueError("a trial has a status this paratune does not know")
    return found, int(done)


def _head(column: Any, count: int) -> Any:
    """The first ``count`` rows of a column read."""
    if isinstance(column, Ints):
        return Ints(column.values[:count].copy(), column.missing[:count].copy())
    return column[:count].copy()


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
