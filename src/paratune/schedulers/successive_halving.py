"""Synchronous successive halving: each rung waits for all of its trials."""

from __future__ import annotations

from collections import deque

from .._checks import is_whole
from ..objectives import Objectives
from ..trial import Proposal, Status, Trial
from ._base import Suggest
from ._ladder import Continuations, Ladder, check_label, rung_budgets
from ._pareto_rungs import ParetoRung


class SuccessiveHalving:
    """Successive halving, synchronous: ``candidates`` trials at the lowest rung; once the
    whole rung has finished, the best 1/eta of it (at least one) go on to ``eta`` times the
    budget, and so on up to ``max_budget`` (the rungs of `ASHA`). Workers left idle while a
    rung finishes stay idle: this is the baseline that `ASHA` improves on.

    A promoted trial is the same trial continued at the higher budget: it resumes from its
    checkpoint when the objective saved one, and retrains from the start when not. When a
    round reaches the top rung, a new round starts, while configurations remain.

    With several metrics, or constraints, the best of a rung are the first of its results
    in `paratune.pareto.pareto_order`, as in multi-objective `ASHA`.

    Args:
        budget: the budget's name, for display (``"epochs"``, say).
        min_budget: the least budget a rung may have (as in `ASHA`).
        max_budget: the budget of the top rung.
        eta: the halving rate, and the ratio of one rung's budget to the next.
        candidates: trials at the lowest rung of each round (default: as many as the
            searcher and ``max_trials`` give, or ``eta**(rungs - 1)`` when there is no
            limit, so that one trial reaches the top).

    >>> SuccessiveHalving(budget="epochs", min_budget=1, max_budget=4, eta=2).budgets
    [1, 2, 4]
    """

    def __init__(
        self,
        budget: str = "budget",
        min_budget: float = 1,
        max_budget: float = 64,
        eta: float = 2,
        *,
        candidates: int | None = None,
    ) -> None:
        self.budget = check_label(budget)
        self.budgets = rung_budgets(min_budget, max_budget, eta)
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        if candidates is not None and not is_whole(candidates, 1):
            raise ValueError(f"candidates must be an integer >= 1, got {candidates!r}")
        self.candidates = candidates
        self._continuations = Continuations()
        self._objectives: Objectives | None = None  # set by aim unless plain
        self._new_round()

    def _new_round(self) -> None:
        self._ladder = Ladder(self.budgets, self.eta)
        self._pareto = [ParetoRung(self.eta) for _ in self.budgets]  # with _objectives
        self._rung = 0  # the rung now being run
        self._members: set[int] = set()  # trials of the current rung
        self._waiting: set[int] = set()  # ... whose job has not ended
        self._queue: deque[int] = deque()  # promotions to the current rung, not yet run
        self._open = True  # the lowest rung still takes new trials
        self._finished = False  # no configurations left for another round

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """A new trial while the lowest rung fills, a promotion once a rung has finished,
        else None (waiting for the rung)."""
        if self._rung == 0 and self._open:
            if self.candidates is None or len(self._members) < self.candidates:
                trial_id = suggest.trial_id  # read before the call, as Suggest says
                config = suggest()
                if config is not None:
                    self._members.add(trial_id)
                    self._waiting.add(trial_id)
                    return Proposal(config, self.budgets[0])
                self._finished = True
            self._open = False
        if self._waiting or not self._members:
            if not self._queue:
                return None
        elif not self._queue:
            self._climb()
            if not self._queue and not self._start_again():
                return None
            if self._rung == 0:
                return self.next_job(suggest)
        trial_id = self._queue.popleft()
        self._waiting.add(trial_id)
        return self._continuations.proposal(trial_id, self.budgets[self._rung])

    def _climb(self) -> None:
        """The current rung has finished: promote its best 1/eta to the next rung."""
        rung = self._rung
        if rung + 1 >= len(self.budgets):
            return
        if self._objectives is None:
            top = self._ladder.best_fraction(rung)
            promoted = [trial_id for _, trial_id in self._ladder.results[rung][:top]]
        else:
            promoted = self._pareto[rung].best()
        self._ladder.promoted[rung].update(promoted)
        self._rung = rung + 1
        self._members = set(promoted)
        self._queue.extend(promoted)

    def _start_again(self) -> bool:
        """After the top rung (or a rung with no result), start a new round if any
        configurations may remain."""
        if self._finished or self.candidates is None:
            return False
        self._new_round()
        return True

    def on_result(self, trial: Trial) -> None:
        """Record a job's result at its rung."""
        trial_id = trial.trial_id
        self._continuations.keep(trial)
        rung = self._ladder.rung_of(trial.budget)
        if trial.status is Status.RUNNING:  # a resumed trial, running again
            self._members.add(trial_id)
            self._waiting.add(trial_id)
            return
        self._waiting.discard(trial_id)
        if trial.status is not Status.DONE or rung is None:
            return
        goals = self._objectives
        if goals is None:
            if trial.value is not None:
                self._ladder.record(rung, trial_id, trial.value)
            return
        self._ladder.climbed(rung, trial_id)
        metrics = goals.metrics_of(trial)
        losses, violation = goals.losses(metrics), goals.violation(metrics)
        if losses is not None and violation is not None:
            self._pareto[rung].add(trial_id, losses, violation)

    def aim(self, objectives: Objectives) -> None:
        """Judge by ``objectives``, before any result: with one metric and no constraint,
        as always; else by `paratune.pareto.pareto_order` (front, then crowding distance,
        then trial id)."""
        self._objectives = None if objectives.plain else objectives

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Reports do not change synchronous successive halving: every trial goes on."""
        return True

    def prefers_random_order(self) -> bool:
        """True: with ``candidates`` set, each round takes the next configurations, which
        should be a random sample, not the next slice of a grid (`RandomOrder`)."""
        return True

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalving(budget={self.budget!r}, min_budget={self.min_budget!r}, "
            f"max_budget={self.max_budget!r}, eta={self.eta!r}, "
            f"candidates={self.candidates!r})"
        )
