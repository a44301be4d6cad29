"""The order in which a searcher hands out a fixed list of configs (a grid, given points):
as given, or shuffled with the experiment seed.

Successive halving and ASHA compare each new trial with those before it, and their analysis
assumes the candidates come in random order. A grid's order (one parameter varying slowest)
is anything but: if the loss falls along the slowest parameter, every new trial beats the
ones before it and is promoted. `shuffled_indices` gives a seeded order of ``range(size)``
without building the configs, as a grid may be far too large to list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np

from ..errors import SpecError

Order: TypeAlias = Literal["auto", "given", "shuffled"]
"""``"given"``: as listed; ``"shuffled"``: in an order drawn from the experiment seed;
``"auto"``: whichever the run asks for (`Ordered`), given when nothing asks."""

ORDERS: tuple[Order, ...] = ("auto", "given", "shuffled")

WHOLE_UP_TO = 2**20
"""Up to this many indices, the order is an exact uniform permutation drawn whole (8 MiB of
int64 and a few milliseconds at the bound); beyond it, a keyed bijection computed index by
index, whose memory stays constant however large the grid (an Int axis alone may hold 2**41
points, and a run under a multi-fidelity scheduler uses only a few of them)."""

_STREAM = 0x0DE5  # the shuffle's own stream: independent of the seed's other uses
_ROUNDS = 6  # Feistel rounds: 4 already make a pseudo-random permutation (Luby-Rackoff)


def check_order(order: object) -> Order:
    """Return ``order`` if it is one of `ORDERS`.

    Raises:
        SpecError: it is not.
    """
    for known in ORDERS:
        if order == known:
            return known
    choices = ", ".join(repr(known) for known in ORDERS)
    raise SpecError(f"order must be one of {choices}, got {order!r}")


@runtime_checkable
class Ordered(Protocol):
    """A searcher that hands out a fixed list of configs in an order it was told, or in the
    one the run asks for: an optional hook.

    `tune` calls `set_auto_order` before a run with ``"shuffled"`` when the scheduler
    prefers new configs in random order (the multi-fidelity ones), else with ``"given"``.
    `Grid` and `InitialPoints` have it.
    """

    def set_auto_order(self, order: Literal["given", "shuffled"]) -> None:
        """What ``order="auto"`` means in the runs to come; an order given explicitly stays
        as it is."""
        ...


def set_auto_order(searcher: object, order: Literal["given", "shuffled"]) -> None:
    """Tell ``searcher`` what its ``order="auto"`` means, if it has the `Ordered` hook (a
    searcher without it is left as it is)."""
    if isinstance(searcher, Ordered):
        searcher.set_auto_order(order)


def shuffled_indices(size: int, seed: int, *, whole_up_to: int = WHOLE_UP_TO) -> Iterator[int]:
    """Every index of ``range(size)`` once, in an order that depends on ``seed`` alone.

    Up to ``whole_up_to`` indices, a uniform permutation from NumPy; beyond, a Feistel
    network keyed by the seed over the smallest even power of two at least ``size``,
    walking the cycle until the image falls inside ``range(size)`` (fewer than four steps on
    average): a bijection on ``range(size)``, each index computed on demand.
    """
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    rng = np.random.default_rng([seed, _STREAM])
    if size <= whole_up_to:
        yield from (int(index) for index in rng.permutation(size))
        return
    bijection = _Feistel(size, rng.bytes(16))
    yield from (bijection(index) for index in range(size))


class _Feistel:
    """A keyed pseudo-random permutation of ``range(size)`` (cycle-walking Feistel network,
    as in format-preserving encryption)."""

    def __init__(self, size: int, key: bytes) -> None:
        self._size = size
        self._half = max(1, ((size - 1).bit_length() + 1) // 2)
        self._mask = (1 << self._half) - 1
        self._bytes = (self._half + 7) // 8
        self._keys = [key + bytes([r]) for r in range(_ROUNDS)]

    def __call__(self, index: int) -> int:
        value = self._permute(index)
        while value >= self._size:  # outside the range: walk on until back inside
            value = self._permute(value)
        return value

    def _permute(self, value: int) -> int:
        """One pass of the network over ``range(4 ** half)``."""
        left, right = value >> self._half, value & self._mask
        for key in self._keys:
            data = key + right.to_bytes(self._bytes, "little")
            mixed = int.from_bytes(hashlib.shake_256(data).digest(self._bytes), "little")
            left, right = right, left ^ (mixed & self._mask)
        return (left << self._half) | right
