"""The dashboard's reads of a store: SQL over a read-only connection, and each trial and
report as the JSON text the page receives, built from the stored JSON without decoding it
(a first load of 100,000 trials is mostly this formatting).

Every function takes a connection outside any transaction of its own, or inside one its
caller holds (`read_transaction`): the caller decides what one snapshot covers.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trial import Status

STATUSES = tuple(status.value for status in Status)
"""Every status a trial may have, as stored."""

TRIAL_COLUMNS = (
    "trial_id, status, value, config, metrics, budget, attempts, worker, host, submitted, "
    "started, finished, worker_time, error"
)
"""The columns of a trial the page's table shows, in the order `trial_json` reads them."""

REPORT_COLUMNS = "trial_id, step, time, metrics"
"""The columns of a report, in the order `report_json` reads them."""

# The trial detail's columns beyond TRIAL_COLUMNS: schema 2 added the last three.
_DETAIL_COLUMNS = "seed, traceback, pid, checkpoint_step, cpu_time, peak_memory"
_DETAIL_COLUMNS_1 = "seed, traceback, pid, NULL, NULL, NULL"
_STATUS_JSON = {status: f'"{status}"' for status in STATUSES}
_NOT_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


@contextmanager
def read_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One snapshot for every query in the block, ended as soon as the block ends: a reader
    in WAL mode never blocks the writer, and a short one keeps the log from growing."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


# ---- JSON text ------------------------------------------------------------------------


def number(value: float | None) -> str:
    """A number as JSON: null for none, and for infinities and NaN, which JSON lacks."""
    if value is None or not math.isfinite(value):
        return "null"
    return repr(value)


def text(value: str | None) -> str:
    """A string as JSON (null for none)."""
    return "null" if value is None else json.dumps(value)


def stored_json(value: str) -> str:
    """A config or metrics object as the store keeps it, as strict JSON: the store writes
    NaN and infinities as Python's json does, which browsers refuse, so those become null."""
    if "NaN" not in value and "Infinity" not in value:
        return value  # the common case: compact JSON already
    return json.dumps(json.loads(value, parse_constant=lambda _: None), separators=(",", ":"))


def finite(value: float | None) -> float | None:
    """``value``, or None where JSON cannot hold it."""
    return value if value is not None and math.isfinite(value) else None


def trial_json(row: Sequence[Any]) -> str:
    """A trial row (`TRIAL_COLUMNS`) as the page's T object."""
    return trial_jsons([row])[0]


def trial_jsons(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Trial rows (`TRIAL_COLUMNS`) as the page's T objects, column by column: the numbers
    of a column are formatted by one ``json.dumps`` (C's float repr, exact), so a first
    load of 100,000 trials costs one string formatting per trial."""
    if not rows:
        return []
    (tid, status, value, config, metrics, budget, attempts, worker, host, submitted, started,
     finished, worker_time, error) = zip(*rows, strict=True)  # fmt: skip
    hosts = {name: text(name) for name in set(host)}
    return [
        f'{{"trial_id":{i},"status":{s},"value":{v},"config":{c},"metrics":{m},'
        f'"budget":{b},"attempts":{a},"worker":{w},"host":{hosts[h]},"submitted":{su},'
        f'"started":{st},"finished":{f},"worker_time":{wt},"error":{e}}}'
        for i, s, v, c, m, b, a, w, h, su, st, f, wt, e in zip(
            tid,
            [_STATUS_JSON.get(x) or text(x) for x in status],
            numbers(value),
            [x if "NaN" not in x and "Infinity" not in x else stored_json(x) for x in config],
            [x if "NaN" not in x and "Infinity" not in x else stored_json(x) for x in metrics],
            numbers(budget),
            attempts,
            numbers(worker),
            host,
            seconds(submitted),
            seconds(started),
            seconds(finished),
            seconds(worker_time),
            ["null" if x is None else text(x) for x in error],
            strict=True,
        )
    ]


def seconds(column: Sequence[float | None]) -> list[str]:
    """Times as JSON, to the microsecond: half the text of full precision, and formatted
    in half the time (null for none)."""
    return numbers(np.round(np.array(column, dtype=np.float64), 6).tolist())


def numbers(column: Sequence[float | None]) -> list[str]:
    """Each number of ``column`` as JSON (null for none, and for what JSON cannot hold)."""
    encoded = json.dumps(column)
    formatted = encoded[1:-1].split(", ")
    if "N" in encoded or "I" in encoded:  # NaN or Infinity: rare
        return [x if x not in _NOT_FINITE else "null" for x in formatted]
    return formatted


def report_json(row: Sequence[Any]) -> str:
    """A report row (`REPORT_COLUMNS`) as the page's R object (its time to the
    microsecond, as a trial's)."""
    tid, step, time, metrics = row
    time = None if time is None else round(time, 6)
    return (
        f'{{"trial_id":{tid},"step":{step},"time":{number(time)},'
        f'"metrics":{stored_json(metrics)}}}'
    )


# ---- trials and reports -----------------------------------------------------------------


def trials_after(db: sqlite3.Connection, name: str, after: int) -> list[Any]:
    """The trials with an id above ``after`` (-1: all), in id order."""
    return db.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE experiment = ? AND trial_id > ? "
        "ORDER BY trial_id",
        (name, after),
    ).fetchall()


def trials_among(db: sqlite3.Connection, name: str, ids: Sequence[int]) -> list[Any]:
    """The trials with the ids ``ids`` (those still there), in id order."""
    if not ids:
        return []
    return db.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE experiment = ? AND trial_id IN "
        "(SELECT value FROM json_each(?)) ORDER BY trial_id",
        (name, json.dumps(list(ids))),
    ).fetchall()


def trials_submitted_since(db: sqlite3.Connection, name: str, since: float) -> list[Any]:
    """The trials (re)submitted at or after ``since`` seconds (a scan: no index holds
    the submission time)."""
    return db.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE experiment = ? AND submitted >= ? "
        "ORDER BY trial_id",
        (name, since),
    ).fetchall()


def reports_of(db: sqlite3.Connection, name: str, ids: Sequence[int] | None) -> list[Any]:
    """The reports of the trials ``ids`` (None: of every trial), by trial and step."""
    if ids is None:
        return db.execute(
            f"SELECT {REPORT_COLUMNS} FROM reports WHERE experiment = ? ORDER BY trial_id, step",
            (name,),
        ).fetchall()
    if not ids:
        return []
    return db.execute(
        f"SELECT {REPORT_COLUMNS} FROM reports WHERE experiment = ? AND trial_id IN "
        "(SELECT value FROM json_each(?)) ORDER BY trial_id, step",
        (name, json.dumps(list(ids))),
    ).fetchall()


def reports_beyond(db: sqlite3.Connection, name: str, trial_id: int, step: int) -> list[Any]:
    """The reports of trial ``trial_id`` at steps above ``step``."""
    return db.execute(
        f"SELECT {REPORT_COLUMNS} FROM reports WHERE experiment = ? AND trial_id = ? "
        "AND step > ? ORDER BY step",
        (name, trial_id, step),
    ).fetchall()


def trial_detail(db: sqlite3.Connection, name: str, trial_id: int) -> str | None:
    """Trial ``trial_id`` as the trial page's JSON (T with its traceback, seed, resources
    and reports), from one snapshot; None when there is no such trial."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    extra = _DETAIL_COLUMNS if version >= 2 else _DETAIL_COLUMNS_1
    with read_transaction(db):
        row = db.execute(
            f"SELECT {TRIAL_COLUMNS}, {extra} FROM trials WHERE experiment = ? AND trial_id = ?",
            (name, trial_id),
        ).fetchone()
        reports = reports_of(db, name, [trial_id]) if row is not None else []
    if row is None:
        return None
    seed, traceback, pid, checkpoint_step, cpu_time, peak_memory = row[-6:]
    fields = [
        f'"traceback":{text(traceback)}',
        f'"seed":"{seed}"',  # as text: a seed is up to 2**63, beyond a JavaScript number
        f'"cpu_time":{number(cpu_time)}',
        f'"peak_memory":{"null" if peak_memory is None else peak_memory}',
        f'"pid":{"null" if pid is None else pid}',
        f'"checkpoint_step":{"null" if checkpoint_step is None else checkpoint_step}',
        f'"reports":[{",".join(map(report_json, reports))}]',
    ]
    return f"{trial_json(row[:-6])[:-1]},{','.join(fields)}}}"


# ---- experiments --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentRow:
    """An experiment's row of the store, as the dashboard reads it."""

    name: str
    space: dict[str, Any]
    metric: str
    mode: str
    settings: dict[str, Any]
    created: float
    session_started: float
    finished: float | None
    wall_time: float
    busy_time: float
    workers: int
    stop_reason: str

    @property
    def restarts(self) -> bool:
        """Whether an ended trial may run again within a session: a scheduler other than
        FIFO continues trials at higher budgets (a retry keeps its trial running)."""
        return self.settings.get("scheduler") != "fifo"


def experiment_rows(db: sqlite3.Connection, name: str | None = None) -> list[ExperimentRow]:
    """The experiments of the store (or only ``name``), oldest first."""
    where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
    rows = db.execute(
        "SELECT name, space, metric, mode, settings, created, session_started, finished, "
        f"wall_time, busy_time, workers, stop_reason FROM experiments {where} "
        "ORDER BY created",
        params,
    ).fetchall()
    return [
        ExperimentRow(r[0], json.loads(r[1]), r[2], r[3], json.loads(r[4]), *r[5:]) for r in rows
    ]


@dataclass
class Stats:
    """What an experiment's trials add up to, for its summary.

    Attributes:
        counts: trials per status.
        busy: worker-seconds of every trial (its attempts and budgets).
        last: the latest time a trial was submitted or finished (seconds since the
            experiment started), None before any.
        best_value: the best value of a done trial (None before any).
        best_trial_id: the earliest trial with that value.
        front_size: how many trials are on the Pareto front (None: the experiment has one
            objective and no constraint).
        infeasible: how many done trials break a constraint (None: as ``front_size``).
    """

    counts: dict[str, int]
    busy: float = 0.0
    last: float | None = None
    best_value: float | None = None
    best_trial_id: int | None = None
    front_size: int | None = None
    infeasible: int | None = None


def trial_stats(db: sqlite3.Connection, name: str, mode: str) -> Stats:
    """The `Stats` of experiment ``name``, in two passes over its trials (for an experiment
    no one is viewing or running: those keep theirs up to date as they change)."""
    sums = ", ".join(f"sum(status = '{status}')" for status in STATUSES)
    row = db.execute(
        f"SELECT {sums}, total(worker_time), max(finished), max(submitted) FROM trials "
        "WHERE experiment = ?",
        (name,),
    ).fetchone()
    counts = {status: int(count or 0) for status, count in zip(STATUSES, row, strict=False)}
    last = [t for t in row[-2:] if t is not None]
    best = "max" if mode == "max" else "min"
    # One min() or max(): SQLite takes the bare trial_id from the row that holds it, the
    # first such row in id order.
    value, trial_id = db.execute(
        f"SELECT {best}(value), trial_id FROM trials WHERE experiment = ? AND status = 'done'",
        (name,),
    ).fetchone()
    if value is None:
        trial_id = None
    return Stats(counts, row[-3], max(last) if last else None, finite(value), trial_id)
