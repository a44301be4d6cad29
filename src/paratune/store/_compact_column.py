"""One field of many trials, kept as compactly as its values allow, and given back exactly.

A column starts as one value shared by every row (a trial's budget, attempts, worker or
error is often the same in every trial), becomes a typed array once the values differ
(floats, or integers, with a marker for None), and a plain list when a value does not fit
the array (another type, a NaN, an integer too large). Each step is taken only when a
value needs it, so what comes back is always what went in, type included."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..trial import Status

MISSING = -(2**63)
"""What stands for None in an integer column (an integer equal to it makes a list)."""

# Values a column may keep once for every row: equal values of these types are
# interchangeable (a float is not: 0.0 == -0.0).
_SHAREABLE = (type(None), bool, int, str, Status)


class Column:
    """One value per row: appended in bulk (`extend`), replaced one at a time (`set`),
    read one at a time (`get`) or whole (`tolist`, `numbers`).

    Args:
        typed: the values have one declared type each (a `Trial` field's), so equal values
            are interchangeable and a shared value needs no check of each one's type (a
            config's values may be 1 in one trial and True in another).
    """

    __slots__ = ("data", "kind", "rows", "typed")

    def __init__(self, *, typed: bool = False) -> None:
        self.kind = "same"  # "same" (data: the value), "d" or "q" (an array), or "list"
        self.data: Any = None
        self.rows = 0
        self.typed = typed

    def copy(self) -> Column:
        """A column with the same values that shares no storage with this one."""
        twin = Column(typed=self.typed)
        twin.kind, twin.rows = self.kind, self.rows
        twin.data = self.data if self.kind == "same" else self.data[:]
        return twin

    # ---- writing ------------------------------------------------------------------------

    def extend(self, values: Sequence[Any]) -> None:
        """Append one row per value."""
        if not values:
            return
        if self.kind == "same":
            first = values[0] if self.rows == 0 else self.data
            if _all_same(first, values, self.typed):
                self.data, self.rows = first, self.rows + len(values)
                return
            self._spread(_kind_of({type(first)} | set(map(type, values))))
        if self.kind != "list" and not _append_typed(self.data, self.kind, values):
            self._spread("list")
        if self.kind == "list":
            self.data.extend(values)
        self.rows += len(values)

    def set(self, row: int, value: Any) -> None:
        """Replace the value of ``row`` (an existing row)."""
        if self.kind == "same":
            if value is self.data and type(value) in _SHAREABLE:
                return  # as a continued trial's seed, host or error mostly are: no list
            if _all_same(self.data, [value], self.typed):
                return
            self._spread(_kind_of({type(self.data), type(value)}))
        if self.kind != "list":
            stored = _typed(self.kind, value)
            if stored is not None:
                self.data[row] = stored
                return
            self._spread("list")
        self.data[row] = value

    def set_many(self, rows: Sequence[int], values: Sequence[Any]) -> None:
        """`set` each of ``rows`` (distinct, existing) to its value: in one step where
        the column's array keeps every value as it is, or where they are all its shared
        value (as a continued trial's seed, host or error mostly are)."""
        if self.kind in ("d", "q"):
            stored = [_typed(self.kind, value) for value in values]
            if None not in stored:
                dtype = np.float64 if self.kind == "d" else np.int64
                np.frombuffer(self.data, dtype=dtype)[list(rows)] = np.array(stored, dtype=dtype)
                return
        elif self.kind == "same" and type(self.data) in _SHAREABLE:
            if all(value is self.data for value in values):
                return
        for row, value in zip(rows, values, strict=True):
            self.set(row, value)

    def _spread(self, kind: str) -> None:
        """Keep the rows in an array of ``kind`` ("d", "q") or a list, from now on."""
        if self.kind == "same":
            stored = None if kind == "list" else _typed(kind, self.data)
            if stored is None:
                kind, self.data = "list", [self.data] * self.rows
            else:
                self.data = array(kind, [stored]) * self.rows
        else:
            self.data = self.tolist()
        self.kind = kind

    # ---- reading ------------------------------------------------------------------------

    def get(self, row: int) -> Any:
        """The value of ``row``."""
        if self.kind == "same":
            return self.data
        value = self.data[row]
        if self.kind == "d":
            return None if math.isnan(value) else value
        if self.kind == "q":
            return None if value == MISSING else value
        return value

    def tolist(self, start: int = 0, stop: int | None = None) -> list[Any]:
        """The values of rows ``start`` to ``stop`` as a list."""
        stop = self.rows if stop is None else stop
        if self.kind == "same":
            return [self.data] * (stop - start)
        if self.kind == "list":
            return list(self.data[start:stop])
        view = self.numbers(start, stop)
        found: list[Any] = view.tolist()
        gaps = np.isnan(view) if self.kind == "d" else view == MISSING
        for index in np.flatnonzero(gaps).tolist():
            found[index] = None
        return found

    def numbers(self, start: int, stop: int) -> NDArray[Any]:
        """The rows of a typed column as a read-only NumPy view of its array (NaN or
        `MISSING` where None): no copy."""
        dtype = np.float64 if self.kind == "d" else np.int64
        view = np.frombuffer(self.data, dtype=dtype)[start:stop]
        view.flags.writeable = False
        return view


def _all_same(first: Any, values: Sequence[Any], typed: bool) -> bool:
    """Whether every value may be kept as ``first``: equal, of a type whose equal values
    are interchangeable, and (unless ``typed``) all of the same type."""
    kind = type(first)
    if kind not in _SHAREABLE:
        return False
    if not typed and [*map(type, values)].count(kind) != len(values):
        return False
    try:
        return values.count(first) == len(values)  # identity first: a fraction of a ns each
    except (TypeError, ValueError):  # a value whose == is not a truth (an array)
        return False


def _kind_of(types: set[type]) -> str:
    """The storage for values of ``types``: a float array, an integer array, or a list."""
    types = types - {type(None)}
    if types == {float}:
        return "d"
    if types == {int}:
        return "q"
    return "list"


def _typed(kind: str, value: Any) -> float | int | None:
    """``value`` as an array of ``kind`` keeps it (None as its marker), or None when it
    cannot keep it exactly."""
    if value is None:
        return math.nan if kind == "d" else MISSING
    if kind == "d" and type(value) is float and not math.isnan(value):
        return value
    if kind == "q" and type(value) is int and MISSING < value < 2**63:
        return value
    return None


def _append_typed(data: Any, kind: str, values: Sequence[Any]) -> bool:
    """Append ``values`` to the typed ``data`` if it can keep every one exactly; False
    (nothing appended) if not."""
    types = [*map(type, values)]  # counted below: faster than a set of them
    nones = len(values) - types.count(float if kind == "d" else int)
    if nones and types.count(type(None)) != nones:
        return False  # another type
    if kind == "d":
        floats = np.array(values, dtype=np.float64)  # None becomes NaN
        if int(np.isnan(floats).sum()) != nones:
            return False  # a NaN of its own: only a list tells it from None
        data.frombytes(floats.view(np.uint8))  # no copy
        return True
    given = values if not nones else [MISSING if v is None else v for v in values]
    try:
        ints = np.array(given, dtype=np.int64)
    except OverflowError:
        return False
    if int((ints == MISSING).sum()) != nones:
        return False
    data.frombytes(ints.view(np.uint8))
    return True
