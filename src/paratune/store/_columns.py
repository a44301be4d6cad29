"""An experiment's trials as columns, for tables of a million trials: `TrialColumns` (NumPy
arrays, and one list per key of the configs and metrics), which builds a `Trial` only on
demand; `_read_columns` reads them from a store.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
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
