"""Grids: every combination of a space's choices and integers, as a lazy sequence.

A grid reads a space only through `Parameters` (names, constants, domains), so this module
needs the domains and not `paratune.space`, which builds its grids here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, overload

from ._domains import Domain, Float, Int
from .errors import SpaceError
from .trial import Config


class Parameters(Protocol):
    """What a grid reads of a space (a `paratune.space.Space` has it all)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter name, in order."""
        ...

    @property
    def constants(self) -> dict[str, Any]:
        """The constant parameters and their values."""
        ...

    @property
    def domains(self) -> dict[str, Domain]:
        """The tunable parameters and their domains, in order."""
        ...


class ParameterGrid(Sequence[Config]):
    """The configs of a grid over a space, as a lazy sequence.

    The last tunable parameter varies fastest. Item ``i`` is computed from ``i`` (mixed
    radix), so a grid of any size costs no memory; constants appear in every config. A space
    with only constants has a grid of one config.
    """

    __slots__ = ("_axes", "_constants", "_names", "_size")

    def __init__(self, space: Parameters) -> None:
        """Build the grid of ``space``.

        Raises:
            SpaceError: a parameter is a Float range.
        """
        axes: list[tuple[str, Sequence[Any]]] = []
        for name, domain in space.domains.items():
            if isinstance(domain, Float):
                raise SpaceError(
                    f"parameter {name!r} is a Float range; a grid needs explicit points: "
                    "use Choice([...]) instead"
                )
            if isinstance(domain, Int):
                axes.append((name, range(domain.low, domain.high + 1)))
            else:
                axes.append((name, domain.values))
        self._axes = axes
        self._names = space.names
        self._constants = space.constants
        self._size = math.prod(len(points) for _, points in axes)

    @property
    def size(self) -> int:
        """The number of configs; unlike ``len``, not limited to ``sys.maxsize``."""
        return self._size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> Config: ...

    @overload
    def __getitem__(self, index: slice) -> list[Config]: ...

    def __getitem__(self, index: int | slice) -> Config | list[Config]:
        if isinstance(index, slice):
            return [self[i] for i in range(self._size)[index]]
        position = operator.index(index)
        if position < 0:
            position += self._size
        if not 0 <= position < self._size:
            raise IndexError(f"grid index {index} is out of range for {self._size} configs")
        chosen: dict[str, Any] = {}
        for name, points in reversed(self._axes):
            position, digit = divmod(position, len(points))
            chosen[name] = points[digit]
        return self._config(chosen)

    def __iter__(self) -> Iterator[Config]:
        # An odometer, last axis fastest. (itertools.product would first copy every axis,
        # and an Int axis may hold 2**41 integers.)
        axes = self._axes
        digits = [0] * len(axes)
        chosen = {name: points[0] for name, points in axes}
        while True:
            yield self._config(chosen)
            for axis in reversed(range(len(axes))):
                name, points = axes[axis]
                digits[axis] = (digits[axis] + 1) % len(points)
                chosen[name] = points[digits[axis]]
                if digits[axis]:
                    break  # no carry into the axes on the left
            else:
                return  # every axis wrapped round: the grid is done

    def __repr__(self) -> str:
        return f"ParameterGrid(size={self._size}, axes={[name for name, _ in self._axes]})"

    def _config(self, chosen: dict[str, Any]) -> Config:
        return {
            name: chosen[name] if name in chosen else self._constants[name] for name in self._names
        }
