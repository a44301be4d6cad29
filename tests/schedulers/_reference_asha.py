"""ASHA's and Hyperband's decisions written plainly, as they were first implemented: each
rung's results in a sorted list, whose top 1/eta is scanned from the best for every free
worker. Slow on big rungs, obviously right: the reference the schedulers must agree with."""

from __future__ import annotations

import bisect
import math

from paratune.schedulers import Suggest
from paratune.schedulers._ladder import rung_budgets
from paratune.trial import Proposal, Status, Trial


class ReferenceRule:
    """The promotion and stopping rules of `ASHA` (``brackets=1``) and `Hyperband`.

    Args:
        min_budget, max_budget, eta: the ladder, as the schedulers take it.
        brackets: how many brackets (1: ASHA).
        stopping: the stopping variant.
    """

    def __init__(
        self, min_budget: float, max_budget: float, eta: float, brackets: int, stopping: bool
    ) -> None:
        budgets = rung_budgets(min_budget, max_budget, eta)
        self.eta, self.stopping, self.max_budget = eta, stopping, max_budget
        self.ladders = [budgets[start:] for start in range(brackets)]
        # Per bracket, per rung: results (loss, trial id) sorted best first, and promotions.
        self.results: list[list[list[tuple[float, int]]]] = [
            [[] for _ in ladder] for ladder in self.ladders
        ]
        self.promoted: list[list[set[int]]] = [[set() for _ in ladder] for ladder in self.ladders]
        self.running: set[int] = set()
        self.trials: dict[int, Trial] = {}
        rungs = len(budgets)
        self.weights = [
            math.ceil(rungs / (rungs - b) * eta ** (rungs - 1 - b)) for b in range(brackets)
        ]
        self.credit = [0.0] * brackets
        self.deal: list[int] = []

    def bracket_of(self, trial_id: int) -> int:
        """Smooth weighted round robin over the brackets, by trial id."""
        while len(self.deal) <= trial_id:
            for b, weight in enumerate(self.weights):
                self.credit[b] += weight
            pick = max(range(len(self.weights)), key=lambda b: (self.credit[b], -b))
            self.credit[pick] -= sum(self.weights)
            self.deal.append(pick)
        return self.deal[trial_id]

    def rung_of(self, bracket: int, budget: float | None) -> int | None:
        """The rung of ``bracket`` at this budget, or None."""
        for rung, rung_budget in enumerate(self.ladders[bracket]):
            if budget is not None and math.isclose(budget, rung_budget, rel_tol=1e-9):
                return rung
        return None

    def record(self, bracket: int, rung: int, trial_id: int, loss: float) -> None:
        """Keep the first result of a trial at a rung; it has left every rung below."""
        for below in range(rung):
            self.promoted[bracket][below].add(trial_id)
        if all(other != trial_id for _, other in self.results[bracket][rung]):
            bisect.insort(self.results[bracket][rung], (loss, trial_id))

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """The first trial, best first, in the top ``count // eta`` of the highest rung
        that is neither promoted from there nor running; else a new trial."""
        if not self.stopping:
            where = [
                (ladder[rung], bracket, rung)
                for bracket, ladder in enumerate(self.ladders)
                for rung in range(len(ladder) - 1)
            ]
            for _, bracket, rung in sorted(where, key=lambda entry: (-entry[0], entry[1])):
                results = self.results[bracket][rung]
                top = int(len(results) // self.eta)
                for _, trial_id in results[:top]:
                    if trial_id in self.promoted[bracket][rung] or trial_id in self.running:
                        continue
                    self.promoted[bracket][rung].add(trial_id)
                    self.running.add(trial_id)
                    trial = self.trials[trial_id]
                    up = self.ladders[bracket][rung + 1]
                    step = trial.checkpoint_step  # resumed from below the next rung, else anew
                    start = step if step is not None and 0 < step < up else 0
                    return Proposal(trial.config, up, trial_id, start)
        trial_id = suggest.trial_id
        config = suggest()
        if config is None:
            return None
        self.running.add(trial_id)
        first = self.ladders[self.bracket_of(trial_id)][0]
        return Proposal(config, self.max_budget if self.stopping else first)

    def on_result(self, trial: Trial) -> None:
        """A job ended (or, on resume, a trial runs again at its budget)."""
        trial_id = trial.trial_id
        self.trials[trial_id] = trial
        bracket = self.bracket_of(trial_id)
        rung = self.rung_of(bracket, trial.budget)
        if trial.status is Status.RUNNING:
            self.running.add(trial_id)
            for below in range(rung or 0):
                self.promoted[bracket][below].add(trial_id)
            return
        self.running.discard(trial_id)
        if trial.status is Status.DONE and rung is not None and trial.value is not None:
            self.record(bracket, rung, trial_id, trial.value)

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Record a report at a rung; in the stopping variant, go on only inside the top
        1/eta of that rung's results (at least the best one)."""
        bracket = self.bracket_of(trial_id)
        rung = self.rung_of(bracket, step)
        if rung is None:
            return True
        self.record(bracket, rung, trial_id, loss)
        if not self.stopping or rung == len(self.ladders[bracket]) - 1:
            return True
        results = self.results[bracket][rung]
        better = sum(1 for result in results if result < (loss, -1))
        return better < max(1, int(len(results) // self.eta))
