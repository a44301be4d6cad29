"""Trials kept column by column in the driver: about a tenth of the memory of a `Trial` per
row, for a run of a million trials.

The latest trials saved wait as they are (a trial is saved when it starts and again when it
ends); every few thousand, those whose ids follow the rows already kept join them, one
column (`Column`) at a time. A trial comes back exactly as it was saved, types included;
the few that cannot be split into columns (a config that is not a plain dict) are kept
whole."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..trial import _NO_METRICS, Status, Trial
from ._best import best_listed, best_position
from ._columns import _KINDS, STATUS_CODES, Ints, JsonColumns, TrialColumns
from ._compact_column import MISSING, Column

_GROUP = 2048
"""Trials waiting as they are before they join the columns."""
_FIELDS = tuple(f for f in Trial._fields if f not in ("trial_id", "config", "metrics"))
_NO_METRICS_SHAPE = -1  # the shape code of a trial whose metrics are the shared empty ones


class _Dicts:
    """Dicts (configs, metrics) as columns: each row's keys (its shape) and one column per
    key (None where a row lacks the key)."""

    def __init__(self) -> None:
        self.shapes: list[tuple[Any, ...]] = []
        self.codes: dict[tuple[Any, ...], int] = {}
        self.shape = Column(typed=True)
        self.values: dict[Any, Column] = {}
        self.rows = 0

    def copy(self) -> _Dicts:
        twin = _Dicts()
        twin.shapes, twin.codes = list(self.shapes), dict(self.codes)
        twin.shape, twin.rows = self.shape.copy(), self.rows
        twin.values = {key: column.copy() for key, column in self.values.items()}
        return twin

    def _code(self, keys: tuple[Any, ...]) -> int:
        code = self.codes.get(keys)
        if code is None:
            code = self.codes[keys] = len(self.shapes)
            self.shapes.append(keys)
            for key in keys:
                if key not in self.values:
                    self.values[key] = column = Column()
                    column.extend([None] * self.rows)
        return code

    def extend(self, dicts: Sequence[Mapping[Any, Any]]) -> None:
        proxies = map(operator.is_, dicts, itertools.repeat(_NO_METRICS))
        if all(proxies):  # as usual for metrics: no dict, the shared empty mapping
            keys: list[tuple[Any, ...] | None] = [None]
        elif any(d is _NO_METRICS for d in dicts):
            keys = [None if d is _NO_METRICS else tuple(d) for d in dicts]
        else:
            keys = list(map(tuple, dicts))
        here = dict.fromkeys(keys, _NO_METRICS_SHAPE)
        for k in here:
            if k is not None:
                here[k] = self._code(k)
        if len(here) == 1:  # as usual: every dict has the same keys, in order
            only = keys[0]
            self.shape.extend([here[only]] * len(dicts))
            everywhere = set(only or ())
        else:
            self.shape.extend([here[k] for k in keys])
            everywhere = set()
        for key, column in self.values.items():
            if key in everywhere:
                column.extend(list(map(operator.itemgetter(key), dicts)))
            else:
                column.extend([d.get(key) for d in dicts])
        self.rows += len(dicts)

    def set(self, row: int, given: Mapping[Any, Any]) -> None:
        self.shape.set(
            row, _NO_METRICS_SHAPE if given is _NO_METRICS else self._code(tuple(given))
        )
        for key, column in self.values.items():
            column.set(row, given.get(key))

    def get(self, row: int) -> Mapping[Any, Any]:
        code = self.shape.get(row)
        if code == _NO_METRICS_SHAPE:
            return _NO_METRICS
        return {key: self.values[key].get(row) for key in self.shapes[code]}

    def tolist(self, start: int, stop: int) -> list[Mapping[Any, Any]]:
        codes = self.shape.tolist(start, stop)
        columns = {key: column.tolist(start, stop) for key, column in self.values.items()}
        return [
            _NO_METRICS
            if code == _NO_METRICS_SHAPE
            else {key: columns[key][i] for key in self.shapes[code]}
            for i, code in enumerate(codes)
        ]

    def columns(self, start: int, stop: int) -> JsonColumns:
        """Rows ``start`` to ``stop`` as `JsonColumns`: shapes and keys in order of first
        appearance there, as a store's reading gives them."""
        codes = np.array(self.shape.tolist(start, stop), dtype=np.int64)
        found, first = np.unique(codes, return_index=True)
        shapes: list[tuple[Any, ...]] = []
        local: dict[int, int] = {}
        for code in found[np.argsort(first)].tolist():
            keys = () if code == _NO_METRICS_SHAPE else self.shapes[code]
            if keys not in shapes:
                shapes.append(keys)
            local[code] = shapes.index(keys)
        remap = np.zeros(len(self.shapes) + 1, dtype=np.int32)  # the last: no metrics
        for code, index in local.items():
            remap[code] = index
        keys = dict.fromkeys(itertools.chain.from_iterable(shapes))
        values = {key: self.values[key].tolist(start, stop) for key in keys}
        return JsonColumns(values, shapes, remap[codes] if len(codes) else remap[:0])


class CompactTrials:
    """The latest state of many trials, by id, kept column by column.

    ``put`` keeps trials (for an id given again, the latest), ``get`` and ``trials`` give
    them back as `Trial` records, ``columns`` as `TrialColumns` (with no `Trial` built), and
    ``best`` finds the best finished one. ``frozen`` gives a copy that later puts do not
    change, which costs no copy until then.

    >>> from paratune.trial import Status, Trial
    >>> kept = CompactTrials()
    >>> kept.put([Trial(trial_id=0, config={"x": 0.5}, seed=7, status=Status.DONE, value=1.0)])
    >>> kept.get(0) == Trial(trial_id=0, config={"x": 0.5}, seed=7, status=Status.DONE, value=1.0)
    True
    """

    def __init__(self) -> None:
        self._rows = 0  # row i keeps trial i, for i below this
        self._fields = {name: Column(typed=True) for name in _FIELDS}
        self._config = _Dicts()
        self._metrics = _Dicts()
        self._waiting: dict[int, Trial] = {}  # saved lately, not yet in the columns
        self._kept_back = 0  # how many waited still after the last move into the columns
        self._whole: dict[int, Trial] = {}  # kept as they are: see _fits
        self._shared = False  # the columns are also another's (frozen, or read as views)

    def __len__(self) -> int:
        extra = self._waiting.keys() | self._whole.keys()
        return self._rows + sum(1 for i in extra if not 0 <= i < self._rows)

    # ---- writing ------------------------------------------------------------------------

    def put(self, trials: Iterable[Trial]) -> None:
        """Keep ``trials``: each replaces what was kept under its id."""
        waiting = self._waiting
        for trial in trials:
            waiting[trial.trial_id] = trial
        # Trials still running wait for their end (on many workers, thousands of them):
        # only the group saved since the last move counts.
        if len(waiting) >= self._kept_back + _GROUP:
            self._settle(everything=False)
            running = [t.status for t in self._waiting.values()].count(Status.RUNNING)
            if len(self._waiting) - running >= _GROUP:  # held back by one running: take all
                self._settle(everything=True)
            self._kept_back = len(self._waiting)

    def _settle(self, *, everything: bool) -> None:
        """Move the waiting trials into the columns: those whose ids follow the rows, up to
        the first still running (``everything``: running ones too, and those whose ids do
        not follow, which are kept whole)."""
        waiting = self._waiting
        for trial_id in [i for i in self._whole if i >= self._rows]:  # may follow now
            waiting.setdefault(trial_id, self._whole.pop(trial_id))
        if not waiting:
            return
        self._own()
        ids = list(waiting)
        if ids[0] == self._rows and ids == list(range(self._rows, self._rows + len(ids))):
            trials = list(waiting.values())  # as usual: the ids that follow, in order
            statuses = list(map(operator.itemgetter(3), trials))
            cut = len(trials)
            if not everything and Status.RUNNING in statuses:
                cut = statuses.index(Status.RUNNING)  # up to the first still running
            self._waiting = dict(zip(ids[cut:], trials[cut:], strict=True))
            self._append(trials[:cut])
            return
        following: list[Trial] = []
        replacing: list[Trial] = []
        for trial_id in sorted(waiting):
            trial = waiting[trial_id]
            if 0 <= trial_id < self._rows:
                if not everything and trial.status is Status.RUNNING:
                    continue  # continued: its end replaces the row, once is enough
                replacing.append(trial)
            elif trial_id == self._rows + len(following) and (
                everything or trial.status is not Status.RUNNING
            ):
                following.append(trial)
            elif everything:
                self._whole[trial_id] = trial
            else:
                continue
            del waiting[trial_id]
        self._replace(replacing)
        self._append(following)

    def _append(self, trials: list[Trial]) -> None:
        if not trials:
            return
        by_field = list(zip(*trials, strict=True))
        configs, metrics = by_field[1], by_field[5]
        if not _all_fit(trials, configs, metrics):
            rows = [t if _fits(t) else _blank(t.trial_id) for t in trials]
            self._append(rows)
            self._whole.update((t.trial_id, t) for t in trials if not _fits(t))
            return
        if self._whole:
            for trial in trials:
                self._whole.pop(trial.trial_id, None)
        for index, name in enumerate(Trial._fields):
            if name in self._fields:
                self._fields[name].extend(by_field[index])
        self._config.extend(configs)
        self._metrics.extend(metrics)
        self._rows += len(trials)

    def _replace(self, trials: list[Trial]) -> None:
        """Put ``trials`` (distinct ids, each of a row) in their rows, field by field."""
        fitting = []
        for trial in trials:
            if _fits(trial):
                self._whole.pop(trial.trial_id, None)
                fitting.append(trial)
            else:
                self._whole[trial.trial_id] = trial
        if not fitting:
            return
        rows = [trial.trial_id for trial in fitting]
        for name, values in zip(Trial._fields, zip(*fitting, strict=True), strict=True):
            if name in self._fields:
                self._fields[name].set_many(rows, values)
        for row, trial in zip(rows, fitting, strict=True):
            self._config.set(row, trial.config)
            self._metrics.set(row, trial.metrics)

    def _own(self) -> None:
        """Copy the columns before changing them if another holds them too."""
        if self._shared:
            self._fields = {name: column.copy() for name, column in self._fields.items()}
            self._config, self._metrics = self._config.copy(), self._metrics.copy()
            self._shared = False

    def frozen(self) -> CompactTrials:
        """The trials kept now, as a copy that later puts leave as it is."""
        self._settle(everything=True)
        twin = CompactTrials()
        twin._rows, twin._fields = self._rows, self._fields
        twin._config, twin._metrics = self._config, self._metrics
        twin._whole = dict(self._whole)
        twin._shared = self._shared = True
        return twin

    # ---- reading ------------------------------------------------------------------------

    def get(self, trial_id: int) -> Trial | None:
        """The trial kept under ``trial_id``, or None."""
        found = self._waiting.get(trial_id) or self._whole.get(trial_id)
        if found is not None or not 0 <= trial_id < self._rows:
            return found
        return Trial._make(
            self._config.get(trial_id) if name == "config"
            else self._metrics.get(trial_id) if name == "metrics"
            else trial_id if name == "trial_id"
            else self._fields[name].get(trial_id)
            for name in Trial._fields
        )  # fmt: skip

    def trials(self) -> list[Trial]:
        """Every trial kept, in id order."""
        found = self._row_trials(0, self._rows)
        extra: dict[int, Trial] = {}
        for trial_id, trial in itertools.chain(self._whole.items(), self._waiting.items()):
            if 0 <= trial_id < self._rows:
                found[trial_id] = trial
            else:
                extra[trial_id] = trial
        if not extra:
            return found
        return sorted(found + list(extra.values()), key=lambda t: t.trial_id)

    def _row_trials(self, start: int, stop: int) -> list[Trial]:
        columns: dict[str, list[Any]] = {
            name: column.tolist(start, stop) for name, column in self._fields.items()
        }
        columns["trial_id"] = list(range(start, stop))
        columns["config"] = self._config.tolist(start, stop)
        columns["metrics"] = self._metrics.tolist(start, stop)
        return list(map(Trial._make, zip(*[columns[f] for f in Trial._fields], strict=True)))

    def columns(self, *, after: int | None = None, before: int | None = None) -> TrialColumns:
        """The trials whose ids lie between ``after`` and ``before`` (both excluded; None: no
        bound), in id order, as `TrialColumns` (what `SQLiteStore.trial_columns` reads). Its
        arrays are read-only; a column the same in every trial is one value, broadcast."""
        self._settle(everything=True)
        if self._whole:
            return TrialColumns.from_trials(
                [
                    t
                    for t in self.trials()
                    if (after is None or t.trial_id > after)
                    and (before is None or t.trial_id < before)
                ]
            )
        start = 0 if after is None else min(max(after + 1, 0), self._rows)
        stop = self._rows if before is None else min(max(before, start), self._rows)
        self._shared = True  # the arrays given out are views of the columns
        found: dict[str, Any] = {
            name: _as(_KINDS[name], column, start, stop) for name, column in self._fields.items()
        }
        found["trial_id"] = np.arange(start, stop, dtype=np.int64)
        found["config"] = self._config.columns(start, stop)
        found["metrics"] = self._metrics.columns(start, stop)
        return TrialColumns(**found)

    def best(self, mode: str) -> Trial | None:
        """The trial that ended DONE with the best value (the earliest among equals)."""
        self._settle(everything=True)
        if self._whole:
            return best_listed(self.trials(), mode)
        self._shared = True
        values = _as("real", self._fields["value"], 0, self._rows)
        status = _as("status", self._fields["status"], 0, self._rows)
        at = best_position(status, values, mode)
        return None if at is None else self.get(at)


def _as(kind: str, column: Column, start: int, stop: int) -> Any:
    """Rows ``start`` to ``stop`` of ``column`` as `TrialColumns` keeps a field of ``kind``."""
    count = stop - start
    if kind == "text":
        return column.tolist(start, stop)
    if column.kind == "same" and count:
        value = column.data
        if kind == "status":
            return np.broadcast_to(np.int8(STATUS_CODES[value]), (count,))
        if kind == "int":
            given = np.broadcast_to(np.int64(0 if value is None else value), (count,))
            return Ints(given, np.broadcast_to(np.bool_(value is None), (count,)))
        dtype = np.int64 if kind == "count" else np.float64
        return np.broadcast_to(np.array(np.nan if value is None else value, dtype), (count,))
    if (kind, column.kind) in (("real", "d"), ("count", "q")):
        return column.numbers(start, stop)
    if kind == "int" and column.kind == "q":
        numbers = column.numbers(start, stop)
        missing = numbers == MISSING
        return Ints(np.where(missing, 0, numbers), missing)
    values = column.tolist(start, stop)
    if kind == "status":
        return np.array([STATUS_CODES[Status(v)] for v in values], dtype=np.int8)
    if kind == "int":
        missing = np.array([v is None for v in values], dtype=np.bool_)
        return Ints(np.array([v or 0 for v in values], dtype=np.int64), missing)
    return np.array(values, dtype=np.int64 if kind == "count" else np.float64)


def _fits(trial: Trial) -> bool:
    """Whether ``trial`` comes back exactly from the columns: a `Trial` with a plain dict
    config, and plain dict metrics (or the shared empty ones)."""
    return (
        type(trial) is Trial
        and type(trial.config) is dict
        and (trial.metrics is _NO_METRICS or type(trial.metrics) is dict)
    )


def _all_fit(trials: list[Trial], configs: Sequence[Any], metrics: Sequence[Any]) -> bool:
    """`_fits` of every trial, at C speed for the usual case."""
    if set(map(type, trials)) != {Trial} or set(map(type, configs)) != {dict}:
        return False
    proxies = metrics.count(_NO_METRICS)  # identity first: no dict is equal to it but {}
    return proxies == len(metrics) or all(m is _NO_METRICS or type(m) is dict for m in metrics)


def _blank(trial_id: int) -> Trial:
    """What stands in the columns for a trial kept whole."""
    return Trial(trial_id=trial_id, config={}, seed=0, status=Status.RUNNING)
