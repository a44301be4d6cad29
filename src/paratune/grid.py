"""Grids: every combination of a space's choices and integers, as a lazy sequence.

A grid reads a space only through `Parameters` (names, constants, domains) and, for a
conditional space, its `Conditions`, so this module needs the domains and not
`paratune.space`, which builds its grids here.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, overload

from ._conditions import Conditions, Entry, named_numbers
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

    With ``conditions``, the grid holds every distinct combination of active parameters
    once, each config only its active parameters: the parameters are taken parents first
    (in the given order otherwise), an inactive one adding no combinations, in the same
    order as the plain grid keeps (the last parameter varies fastest).
    """

    __slots__ = ("_axes", "_constants", "_names", "_size", "_tree")

    def __init__(self, space: Parameters, conditions: Conditions | None = None) -> None:
        """Build the grid of ``space``, under ``conditions`` if they are given.

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
        self._tree = _Tree(axes, conditions) if conditions and conditions.entries else None
        self._size = (
            math.prod(len(points) for _, points in axes) if self._tree is None else self._tree.size
        )

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
        if self._tree is not None:
            return self._config(self._tree.at(position))
        chosen: dict[str, Any] = {}
        for name, points in reversed(self._axes):
            position, digit = divmod(position, len(points))
            chosen[name] = points[digit]
        return self._config(chosen)

    def __iter__(self) -> Iterator[Config]:
        if self._tree is not None:
            yield from (self._config(chosen) for chosen in self._tree.walk())
            return
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
        if self._tree is not None:  # inactive parameters are not chosen
            return {
                name: chosen[name] if name in chosen else self._constants[name]
                for name in self._names
                if name in chosen or name in self._constants
            }
        return {
            name: chosen[name] if name in chosen else self._constants[name] for name in self._names
        }


class _Tree:
    """The distinct active combinations of a conditional grid, counted and indexed without
    listing them.

    The axes are taken parents first. A state is the set of axes found inactive so far (a
    bit mask): at an inactive axis the walk goes on, its children inactive too; at an
    active one it branches over the axis's values, each of which rules out the children
    whose condition it fails. The values of an axis fall into runs that rule out the same
    children (an Int range changes outcome only at the numbers the conditions name), so
    counting costs a few runs per axis, whatever the size of the ranges; counts are
    remembered per axis and state.
    """

    def __init__(self, axes: list[tuple[str, Sequence[Any]]], conditions: Conditions) -> None:
        points_of = dict(axes)
        self._names = [name for name in conditions.order if name in points_of]
        self._points = [points_of[name] for name in self._names]
        position = {name: i for i, name in enumerate(self._names)}
        children: list[list[tuple[int, Entry]]] = [[] for _ in self._names]
        for child, found in conditions.entries.items():
            for entry in found:
                # An entry on a constant always holds (the space checked it).
                if entry.parent in position:
                    children[position[entry.parent]].append((position[child], entry))
        self._all_children = [sum({1 << j for j, _ in pairs}) for pairs in children]
        self._runs = [_runs(points, pairs) for points, pairs in zip(self._points, children,
                                                                    strict=True)]  # fmt: skip
        self._counts: dict[tuple[int, int], int] = {(len(self._names), 0): 1}
        self.size = self._count(0, 0)

    def _count(self, axis: int, ruled_out: int) -> int:
        """How many combinations the axes from ``axis`` on give, in state ``ruled_out``.

        Counted with a stack rather than by recursion: a chain of conditions may be
        thousands of axes deep."""
        start = self._state(axis, ruled_out)
        counts = self._counts
        stack = [start]
        while stack:
            state = stack[-1]
            if state in counts:
                stack.pop()
                continue
            following = self._following(*state)
            missing = [after for _, after in following if after not in counts]
            if missing:
                stack.extend(missing)
                continue
            counts[state] = sum(length * counts[after] for length, after in following)
            stack.pop()
        return counts[start]

    def _state(self, axis: int, ruled_out: int) -> tuple[int, int]:
        """The key of a state: the axes before ``axis`` no longer matter."""
        return axis, ruled_out & ~((1 << axis) - 1)

    def _following(self, axis: int, ruled_out: int) -> list[tuple[int, tuple[int, int]]]:
        """The states after ``axis``, each with how many of its values lead there."""
        if ruled_out >> axis & 1:
            return [(1, self._state(axis + 1, ruled_out | self._all_children[axis]))]
        return [
            (length, self._state(axis + 1, ruled_out | failed))
            for _, length, failed in self._runs[axis]
        ]

    def at(self, position: int) -> dict[str, Any]:
        """The values chosen by combination ``position`` (0 <= position < size)."""
        chosen: dict[str, Any] = {}
        ruled_out = 0
        for axis, name in enumerate(self._names):
            if ruled_out >> axis & 1:
                ruled_out |= self._all_children[axis]
                continue
            for start, length, failed in self._runs[axis]:
                each = self._count(axis + 1, ruled_out | failed)
                if position < length * each:
                    offset, position = divmod(position, each)
                    chosen[name] = self._points[axis][start + offset]
                    ruled_out |= failed
                    break
                position -= length * each
        return chosen

    def walk(self) -> Iterator[dict[str, Any]]:
        """Every combination, in order: an odometer over the axes, with no recursion (a
        chain of conditions may be thousands of axes deep)."""
        count = len(self._names)
        entered = [0] * (count + 1)  # the state on entering each axis
        picks: list[tuple[int, int] | None] = [None] * count  # (run, offset); None: inactive
        chosen: dict[str, Any] = {}

        def pick(axis: int, run: int, offset: int) -> None:
            start, _, failed = self._runs[axis][run]
            picks[axis] = (run, offset)
            chosen[self._names[axis]] = self._points[axis][start + offset]
            entered[axis + 1] = entered[axis] | failed

        def advance(axis: int) -> bool:
            """Take the axis's next value; False when it has none left (or is inactive)."""
            current = picks[axis]
            if current is None:
                return False
            run, offset = current
            offset += 1
            if offset == self._runs[axis][run][1]:
                run, offset = run + 1, 0
            if run == len(self._runs[axis]):
                del chosen[self._names[axis]]
                return False
            pick(axis, run, offset)
            return True

        axis = 0
        while True:
            for below in range(axis, count):  # down: the first value of each active axis
                if entered[below] >> below & 1:
                    picks[below] = None
                    entered[below + 1] = entered[below] | self._all_children[below]
                else:
                    pick(below, 0, 0)
            yield dict(chosen)
            axis = count - 1  # up: to the last axis with a value left
            while axis >= 0 and not advance(axis):
                axis -= 1
            if axis < 0:
                return
            axis += 1


def _runs(points: Sequence[Any], children: list[tuple[int, Entry]]) -> list[tuple[int, int, int]]:
    """An axis's points as runs ``(start, length, children ruled out)``: each Choice value
    alone, an Int range cut where a condition on it may change its outcome."""
    if isinstance(points, range):
        cuts = {0, len(points)}
        for _, entry in children:
            for number in named_numbers(entry):
                for value in (math.floor(number), math.floor(number) + 1):
                    cuts.add(min(max(value - points.start, 0), len(points)))
        edges = sorted(cuts)
        spans = [(start, end - start) for start, end in itertools.pairwise(edges)]
    else:
        spans = [(index, 1) for index in range(len(points))]
    return [(start, length, _failed(points[start], children)) for start, length in spans]


def _failed(value: Any, children: list[tuple[int, Entry]]) -> int:
    """The children (as bits) whose condition ``value`` fails."""
    return sum({1 << child for child, entry in children if not entry.holds(value)})
