"""Rungs judged by several objectives (or with constraints): each result is a vector of
losses and a violation, and a rung's results are ordered by non-dominated sorting, as
multi-objective successive halving (MO-ASHA) promotes them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..pareto import pareto_order
from ._ladder import Ladder


class ParetoRung:
    """The results of one rung as loss vectors and violations, and their order, best first:
    `paratune.pareto.pareto_order` (the feasible fronts of non-dominated sorting, then the
    infeasible results by violation; within a front the larger crowding distance first;
    then the lower trial id). The order is computed when asked after a new result and kept
    until the next one.

    Ties go to the lower trial id, not to the result that came first, so the order depends
    only on which results the rung holds: a resumed run, which hands the results back in
    trial-id order, rebuilds it as it was, and the simulated executor's decisions do not
    depend on which of two equal results a worker finished first.

    Args:
        eta: the rung's halving rate: its top ``int(n // eta)`` results may be promoted.

    >>> rung = ParetoRung(2)
    >>> for trial_id, losses in enumerate([(1.0, 4.0), (3.0, 3.0), (4.0, 1.0), (2.0, 2.0)]):
    ...     _ = rung.add(trial_id, losses, 0.0)
    >>> rung.order(), rung.top()
    ([0, 2, 3, 1], [0, 2])
    """

    def __init__(self, eta: float) -> None:
        self.eta = eta
        self._ids: list[int] = []
        self._losses: list[Sequence[float]] = []
        self._violations: list[float] = []
        self._seen: set[int] = set()
        self._order: list[int] | None = []

    def add(self, trial_id: int, losses: Sequence[float], violation: float) -> bool:
        """Keep ``trial_id``'s result (once: a repeat is ignored); return whether it is
        new."""
        if trial_id in self._seen:
            return False
        self._seen.add(trial_id)
        self._ids.append(trial_id)
        self._losses.append(losses)
        self._violations.append(violation)
        self._order = None
        return True

    def __len__(self) -> int:
        return len(self._ids)

    def order(self) -> list[int]:
        """The rung's trial ids, best first."""
        if self._order is None:
            ids = np.array(self._ids, dtype=np.intp)
            by_id = np.argsort(ids, kind="stable")  # pareto_order's ties: earlier position
            losses = np.array(self._losses, dtype=np.float64)[by_id]
            violations = np.array(self._violations, dtype=np.float64)[by_id]
            self._order = ids[by_id][pareto_order(losses, violations)].tolist()
        return self._order

    def top(self) -> list[int]:
        """The first ``int(n // eta)`` of `order` (none while the rung has fewer than eta
        results): those a promotion from the rung may take."""
        return self.order()[: int(len(self) // self.eta)]

    def best(self) -> list[int]:
        """The first ``max(1, int(n // eta))`` of `order` (none when the rung is empty):
        what synchronous successive halving promotes once the rung has finished."""
        return self.order()[: max(1, int(len(self) // self.eta))] if len(self) else []


class ParetoCandidates:
    """`Candidates` for rungs of ``ladder`` judged by several objectives: per rung, a
    `ParetoRung`, and the answer to ASHA's question (which trial to promote from it).

    Args:
        ladder: the ladder whose rungs these are; its ``promoted`` sets say who has left a
            rung (kept by the caller, as for `Candidates`).
    """

    def __init__(self, ladder: Ladder) -> None:
        self.ladder = ladder
        self.rungs = [ParetoRung(ladder.eta) for _ in ladder.budgets]
        # Per rung, how many of its top are known promoted: skipped without a look, until
        # a new result reorders the rung.
        self._skip = [0] * len(ladder.budgets)
        self._parked: dict[int, set[int]] = {}  # by trial: rungs where it was seen running

    def add(self, rung: int, trial_id: int, losses: Sequence[float], violation: float) -> bool:
        """A result at ``rung``; return whether it is new there (and may change what the
        rung promotes)."""
        if not self.rungs[rung].add(trial_id, losses, violation):
            return False
        self._skip[rung] = 0
        return True

    def promotable(self, rung: int, running: set[int]) -> int | None:
        """The first trial in the top ``int(n // eta)`` of ``rung``'s results, in the rung's
        order, that is neither promoted from it nor in ``running``, or None."""
        top, promoted = self.rungs[rung].top(), self.ladder.promoted[rung]
        skip = self._skip[rung]
        while skip < len(top) and top[skip] in promoted:
            skip += 1
        self._skip[rung] = skip
        for trial_id in top[skip:]:
            if trial_id in promoted:
                continue
            if trial_id not in running:
                return trial_id
            self._parked.setdefault(trial_id, set()).add(rung)
        return None

    def release(self, trial_id: int) -> list[int]:
        """``trial_id``'s job ended: return the rungs where it was passed over for running,
        which may now promote it (as `Candidates.release`)."""
        return sorted(self._parked.pop(trial_id, ()))
