"""The trials each rung of a ladder may still promote, kept so that finding the next
promotion does not rescan the rung for every free worker."""

from __future__ import annotations

import heapq

from ._ladder import Ladder
from ._rung_results import Entry


class Candidates:
    """Per rung of ``ladder``, its results whose trials may yet be promoted from it, in a
    heap, best first; `promotable` answers ASHA's question about a rung from the heap's top
    instead of a scan of the rung's top 1/eta.

    A result leaves its heap for good once its trial is promoted from the rung (promotions
    are never undone); a running trial's result is set aside until its job ends (`release`),
    then goes back. Both are removed lazily, when they come to the top, so each result is
    pushed and popped a bounded number of times, whatever the rung's size.

    Args:
        ladder: the ladder whose rungs these are; its results are recorded by the caller,
            which calls `add` for each new one.
    """

    def __init__(self, ladder: Ladder) -> None:
        self.ladder = ladder
        rungs = len(ladder.budgets)
        self._heaps: list[list[Entry]] = [[] for _ in range(rungs)]
        self._parked: dict[int, list[tuple[int, Entry]]] = {}  # by trial: (rung, entry)

    def add(self, rung: int, trial_id: int, loss: float) -> None:
        """A result new at ``rung``: its trial may be promoted from there."""
        heapq.heappush(self._heaps[rung], (loss, trial_id))

    def promotable(self, rung: int, running: set[int]) -> int | None:
        """The first trial in the top ``count // eta`` of ``rung``'s results, best first,
        that is neither promoted from it nor in ``running``, or None.

        That is the best such trial of the whole rung, when it ranks inside the top: its
        rank among all the rung's results, promoted and running ones included, decides.
        """
        best = self.best(rung, running)
        return best[1] if best is not None and self.ladder.in_top(rung, *best) else None

    def best(self, rung: int, running: set[int]) -> Entry | None:
        """The best result at ``rung`` whose trial is neither promoted from there nor in
        ``running``, or None."""
        heap, promoted = self._heaps[rung], self.ladder.promoted[rung]
        while heap:
            entry = heap[0]
            trial_id = entry[1]
            if trial_id in promoted:
                heapq.heappop(heap)
            elif trial_id in running:
                heapq.heappop(heap)
                self._parked.setdefault(trial_id, []).append((rung, entry))
            else:
                return entry
        return None

    def release(self, trial_id: int) -> list[int]:
        """``trial_id``'s job ended (it no longer runs): its results set aside while it ran
        are candidates again. Return the rungs they went back to.

        Only these rungs, and those with a new result, can have a promotion that they did
        not have when last asked: a promotion, or a trial starting to run, only takes
        candidates away; a rung's top 1/eta moves only with a new result; and a trial that
        ends without having been set aside ranks below its rung's best candidate."""
        parked = self._parked.pop(trial_id, ())
        for rung, entry in parked:
            heapq.heappush(self._heaps[rung], entry)
        return [rung for rung, _ in parked]
