"""A rung's results, with its top 1/eta tracked as results arrive, so that judging a trial
against the rung does not sort or search the whole rung."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator, Sequence
from typing import overload

Entry = tuple[float, int]
"""A result at a rung: ``(loss, trial_id)``; lower losses first, ties by trial id."""


class RungResults(Sequence[Entry]):
    """The results of one rung, read as a sequence sorted best first (index, slice,
    iterate, compare with a list), and its `threshold`: the worst of its best
    ``max(1, int(n // eta))`` results, where ``n`` is how many it holds.

    The threshold answers the two questions successive halving asks of a rung without
    looking at the rest: a result is in the rung's top ``int(n // eta)`` exactly when that
    is at least 1 and the result is at most the threshold, and fewer than
    ``max(1, int(n // eta))`` results are strictly better than a loss exactly when
    ``(loss, -1)`` is at most the threshold (trial ids are never negative). It is
    kept with two heaps, the best ``k`` and the rest, which `add` rebalances as ``k`` grows:
    one or two heap steps per result, whatever the rung's size. The sorted order is built only
    when the sequence is read.

    Args:
        eta: the rung's halving rate.

    >>> results = RungResults(2)
    >>> for entry in [(0.5, 7), (0.3, 8), (0.5, 2), (0.9, 1)]:
    ...     results.add(entry)
    >>> results[:2], results.threshold(), len(results)
    ([(0.3, 8), (0.5, 2)], (0.5, 2), 4)
    """

    def __init__(self, eta: float) -> None:
        self.eta = eta
        self._entries: list[Entry] = []  # sorted when ``_sorted``
        self._sorted = True
        self._best: list[Entry] = []  # the best k, both parts negated: a max-heap
        self._rest: list[Entry] = []  # the others: a min-heap

    def add(self, entry: Entry) -> None:
        """Keep ``entry``, and move the threshold to where the new count puts it: one or
        two heap steps."""
        entries = self._entries
        if self._sorted and entries and entry < entries[-1]:
            self._sorted = False
        entries.append(entry)
        best, rest = self._best, self._rest
        if len(best) < max(1, int(len(entries) // self.eta)):
            # The best grow by one: the entry, or the rest's best when that is better.
            better = heapq.heappushpop(rest, entry)
            heapq.heappush(best, (-better[0], -better[1]))
        elif (-entry[0], -entry[1]) > best[0]:  # better than the worst of the best
            worst = heapq.heapreplace(best, (-entry[0], -entry[1]))
            heapq.heappush(rest, (-worst[0], -worst[1]))
        else:
            heapq.heappush(rest, entry)

    def threshold(self) -> Entry | None:
        """The worst of the best ``max(1, int(n // eta))`` results; None while there are
        none."""
        if not self._best:
            return None
        worst = self._best[0]
        return (-worst[0], -worst[1])

    def position(self, entry: Entry) -> int:
        """How many results come before ``entry`` (`bisect.bisect_left` on the sequence)."""
        return bisect.bisect_left(self._in_order(), entry)

    def _in_order(self) -> list[Entry]:
        if not self._sorted:
            self._entries.sort()
            self._sorted = True
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._in_order())

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        return self._in_order()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RungResults | list):
            return self._in_order() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"RungResults({self._in_order()!r})"
