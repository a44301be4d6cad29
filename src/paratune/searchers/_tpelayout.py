"""How `TPE` writes configs as rows of numbers, and reads them back.

A row has one coordinate per tunable parameter, in space order: a Float or Int parameter
is its unit-cube coordinate (log ranges in log space; an Int at the centre of its value's
cell, as `Space.encode` puts it), a Choice is the index of its value, and a parameter that
a config lacks (inactive there) is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..space import Choice, Domain, Float, Int, Space
from ..trial import Config

_Array = NDArray[np.float64]
Key = tuple[Hashable, ...]
"""A config as a hashable tuple: per tunable parameter its value (a Choice's index), or
None where the config lacks it. Equal configs have equal keys."""


def active(space: Space, config: Config) -> Config:
    """``config`` without the parameters that are inactive under it (`Space.active`, on a
    space that has conditions; the config itself on one without)."""
    drop = getattr(space, "active", None)
    return config if drop is None else dict(drop(config))


class Layout:
    """The coordinates of a space's tunable parameters, and the map between configs and rows.

    Attributes:
        names: the tunable parameters, in space order.
        choices: per coordinate, 0 for a Float or Int, the number of values for a Choice.
    """

    def __init__(self, space: Space) -> None:
        domains = space.domains
        self.names: tuple[str, ...] = space.tunable
        self._domains: list[Domain] = [domains[name] for name in self.names]
        self.choices: NDArray[np.intp] = np.array(
            [len(d.values) if isinstance(d, Choice) else 0 for d in self._domains],
            dtype=np.intp,
        )
        self._indices = [_index_table(d) if isinstance(d, Choice) else None for d in self._domains]
        self._ints = [(j, d) for j, d in enumerate(self._domains) if isinstance(d, Int)]

    @property
    def width(self) -> int:
        """The number of coordinates."""
        return len(self.names)

    def row(self, config: Mapping[str, Any]) -> _Array:
        """``config`` as a row; NaN where it lacks a parameter."""
        row = np.full(len(self.names), np.nan)
        for j, name in enumerate(self.names):
            if name in config:
                row[j] = self._coordinate(j, config[name])
        return row

    def key(self, config: Mapping[str, Any]) -> Key:
        """``config`` as a hashable `Key`."""
        parts: list[Hashable] = []
        for j, name in enumerate(self.names):
            if name not in config:
                parts.append(None)
            elif self.choices[j]:
                parts.append(int(self._coordinate(j, config[name])))
            else:
                parts.append(config[name])
        return tuple(parts)

    def snap(self, points: _Array, columns: NDArray[np.intp]) -> _Array:
        """``points``, whose columns are the coordinates ``columns``, with each Int
        coordinate moved to the centre of the cell it falls in: the value it decodes to."""
        for j, domain in self._ints:
            where = np.flatnonzero(columns == j)
            if len(where):
                values = domain._values(points[:, where[0]]).astype(np.float64)
                points[:, where[0]] = _int_centres(domain, values)
        return points

    def config(self, space: Space, point: _Array) -> Config:
        """The config a row decodes to, without its inactive parameters."""
        unit = np.where(self.choices > 0, (point + 0.5) / np.maximum(self.choices, 1), point)
        return active(space, space.decode(unit))

    def _coordinate(self, j: int, value: Any) -> float:
        domain = self._domains[j]
        if isinstance(domain, Choice):
            table = self._indices[j]
            try:
                found = None if table is None else table.get(_choice_key(value))
            except TypeError:  # an unhashable value: look it up the slow way
                found = None
            return float(domain._index(value) if found is None else found)
        if isinstance(domain, Int):
            return float(_int_centres(domain, np.array([float(value)]))[0])
        return _float_coordinate(domain, float(value))


def _float_coordinate(domain: Float, value: float) -> float:
    if domain.log:
        low, high = math.log(domain.low), math.log(domain.high)
        return (math.log(value) - low) / (high - low)
    return (value - domain.low) / (domain.high - domain.low)


def _int_centres(domain: Int, values: _Array) -> _Array:
    """The unit coordinates of the centres of the cells of Int ``values``."""
    if domain.log:
        low, top = math.log(domain.low), math.log(domain.high + 1)
        centres = (np.log(values) + np.log(values + 1.0)) / 2.0
        return np.asarray((centres - low) / (top - low))
    return np.asarray((values - domain.low + 0.5) / (domain.high - domain.low + 1))


def _choice_key(value: Any) -> tuple[bool, Any]:
    # True and 1 are different values of a choice, 1 and 1.0 the same (`same_value`).
    return (isinstance(value, bool | np.bool_), value)


def _index_table(domain: Choice) -> dict[tuple[bool, Any], int] | None:
    """Value to index, for a choice whose values are all hashable; None otherwise."""
    try:
        return {_choice_key(value): i for i, value in enumerate(domain.values)}
    except TypeError:
        return None
