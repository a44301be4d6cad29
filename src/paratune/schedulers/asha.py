"""Asynchronous successive halving (ASHA) and asynchronous Hyperband."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from .._checks import is_whole
from ..errors import SpecError
from ..objectives import Objectives
from ..trial import Proposal, Status, Trial
from ._base import Suggest
from ._candidates import Candidates
from ._ladder import Continuations, Ladder, check_label, rung_budgets
from ._pareto_rungs import ParetoCandidates


class _Promotions(Protocol):
    """What `_Asynchronous` asks of a ladder's candidates: `Candidates` (one objective) or
    `ParetoCandidates` (several, or constraints)."""

    def promotable(self, rung: int, running: set[int]) -> int | None: ...

    def release(self, trial_id: int) -> list[int]: ...


class _Asynchronous:
    """The engine of `ASHA` and `Hyperband`: one or more ladders (brackets) of rungs, new
    trials dealt to the brackets in a fixed weighted order, and a free worker always taking
    the most advanced promotion there is before it starts a new trial.

    Losses are what the tuner hands schedulers: lower is better. With several objectives,
    or constraints (`aim`), a rung's results are loss vectors ordered by non-dominated
    sorting (`ParetoRung`), recorded as jobs end (`on_result`), not from reports.
    """

    def __init__(
        self,
        budget: str,
        min_budget: float,
        max_budget: float,
        eta: float,
        *,
        brackets: int,
        stopping: bool,
    ) -> None:
        self.budget = check_label(budget)
        self.budgets = rung_budgets(min_budget, max_budget, eta)
        self.min_budget, self.max_budget, self.eta = min_budget, max_budget, eta
        self.stopping = bool(stopping)
        rungs = len(self.budgets)
        self.ladders = [Ladder(self.budgets[start:], eta) for start in range(brackets)]
        # Each rung's trials not yet promoted, best first: the promotion variant's next
        # promotion without a scan of the rung per free worker.
        self._candidates = [Candidates(ladder) for ladder in self.ladders]
        self._promotions: Sequence[_Promotions] = self._candidates
        self._objectives: Objectives | None = None  # set by aim unless plain
        self._pareto: list[ParetoCandidates] = []  # the candidates, when _objectives is set
        # Hyperband's bracket sizes: bracket b starts at rung b with ceil(s/(s-b) * eta**(s-1-b))
        # trials, s = number of rungs, so every bracket spends about the same budget.
        self._weights = [
            math.ceil(rungs / (rungs - b) * eta ** (rungs - 1 - b)) for b in range(brackets)
        ]
        self._credit = [0.0] * brackets
        self._deal: list[int] = []  # the bracket of the k-th new trial
        self._continuations = Continuations()
        self._running: set[int] = set()
        # Where to look for promotions, most advanced (highest budget) first, and each
        # place's bit in _awake: set while the place may have a promotion (a result came,
        # or a trial set aside there was released, since it was last found to have none).
        self._order = sorted(
            (
                (ladder.budgets[rung], index, rung)
                for index, ladder in enumerate(self.ladders)
                for rung in range(len(ladder.budgets) - 1)
            ),
            key=lambda entry: (-entry[0], entry[1]),
        )
        self._bits = [[0] * len(ladder.budgets) for ladder in self.ladders]  # 0: the top
        for place, (_, index, rung) in enumerate(self._order):
            self._bits[index][rung] = 1 << place
        self._awake = 0

    def bracket_of(self, trial_id: int) -> int:
        """The bracket of the trial created ``trial_id``-th: a smooth weighted round robin
        over the brackets, so the deal is the same on every run and after a resume."""
        if len(self._weights) == 1:  # ASHA: one bracket
            return 0
        if trial_id < len(self._deal):
            return self._deal[trial_id]
        total = sum(self._weights)
        while len(self._deal) <= trial_id:
            for b, weight in enumerate(self._weights):
                self._credit[b] += weight
            pick = max(range(len(self._weights)), key=lambda b: (self._credit[b], -b))
            self._credit[pick] -= total
            self._deal.append(pick)
        return self._deal[trial_id]

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """The best promotable trial of the highest rung, else a new trial (whose id
        ``suggest`` tells, and so its bracket) at its bracket's lowest rung (the top rung,
        in the stopping variant), else None."""
        awake = 0 if self.stopping else self._awake
        while awake:  # the places that may have a promotion, lowest bit (highest budget) first
            bit = awake & -awake
            _, index, rung = self._order[bit.bit_length() - 1]
            trial_id = self._promotions[index].promotable(rung, self._running)
            if trial_id is not None:
                return self._promote(index, rung, trial_id)
            awake &= ~bit
            self._awake &= ~bit  # none there until a result comes or a trial is released
        trial_id = suggest.trial_id  # read before the call, as Suggest says
        config = suggest()
        if config is None:
            return None
        self._running.add(trial_id)
        ladder = self.ladders[self.bracket_of(trial_id)]
        return Proposal(config, self.max_budget if self.stopping else ladder.budgets[0])

    def _promote(self, index: int, rung: int, trial_id: int) -> Proposal:
        """Continue ``trial_id`` from ``rung`` of ladder ``index`` at the next rung."""
        ladder = self.ladders[index]
        ladder.promoted[rung].add(trial_id)
        self._running.add(trial_id)
        return self._continuations.proposal(trial_id, ladder.budgets[rung + 1])

    def _record(self, index: int, rung: int, trial_id: int, loss: float) -> None:
        """Keep a result at a rung of ladder ``index``; in the promotion variant, a new one
        is a candidate for promotion."""
        if self.ladders[index].record(rung, trial_id, loss) and not self.stopping:
            self._candidates[index].add(rung, trial_id, loss)
            self._awake |= self._bits[index][rung]

    def on_result(self, trial: Trial) -> None:
        """Record a job's result at its rung; a resumed running trial counts as promoted to
        the rung it runs at."""
        trial_id = trial.trial_id
        self._continuations.keep(trial)
        index = self.bracket_of(trial_id)
        ladder = self.ladders[index]
        rung = ladder.rung_of(trial.budget)
        if trial.status is Status.RUNNING:
            self._running.add(trial_id)
            for below in range(rung or 0):
                ladder.promoted[below].add(trial_id)
            return
        self._running.discard(trial_id)
        for released in self._promotions[index].release(trial_id):
            self._awake |= self._bits[index][released]
        if trial.status is not Status.DONE or rung is None:
            return
        if self._objectives is not None:
            self._record_vector(index, rung, trial)
        elif trial.value is not None:
            self._record(index, rung, trial_id, trial.value)

    def _record_vector(self, index: int, rung: int, trial: Trial) -> None:
        """Keep a result under several objectives (or constraints): its losses and
        violation, from the trial's metrics; one without them usable ranks nowhere."""
        goals = self._objectives
        assert goals is not None
        self.ladders[index].climbed(rung, trial.trial_id)
        metrics = goals.metrics_of(trial)
        losses, violation = goals.losses(metrics), goals.violation(metrics)
        if losses is None or violation is None:
            return
        if self._pareto[index].add(rung, trial.trial_id, losses, violation):
            self._awake |= self._bits[index][rung]

    def aim(self, objectives: Objectives) -> None:
        """Judge by ``objectives``, before any result: with one metric and no constraint,
        as always; else a rung's results are ordered by `paratune.pareto.pareto_order`
        (front, then crowding distance, then trial id) and its first ``int(n // eta)`` may
        be promoted. The loss a report carries is then not used.

        Raises:
            SpecError: the stopping variant with several metrics or constraints: it judges
                a trial by the primary metric of its reports alone.
        """
        if objectives.plain:
            self._objectives, self._pareto, self._promotions = None, [], self._candidates
            return
        if self.stopping:
            what = "several metrics" if objectives.several else "constraints"
            raise SpecError(
                f"{type(self).__name__}(stopping=True) judges a trial by the reports of one "
                f"metric; with {what} use the promotion variant (stopping=False)"
            )
        self._objectives = objectives
        self._pareto = [ParetoCandidates(ladder) for ladder in self.ladders]
        self._promotions = self._pareto

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Record a report made at a rung; in the stopping variant, stop the trial there
        unless it is in the top 1/eta of the results that rung has seen (the first one to
        arrive always goes on). With several objectives or constraints, the report's loss is
        not a rung's result: every trial goes on, judged when its job ends."""
        if self._objectives is not None:
            return True
        index = self.bracket_of(trial_id)
        ladder = self.ladders[index]
        rung = ladder.rung_of(step)
        if rung is None:
            return True
        self._record(index, rung, trial_id, loss)
        if not self.stopping or rung == len(ladder.budgets) - 1:
            return True
        return ladder.in_best_fraction(rung, loss)

    def prefers_random_order(self) -> bool:
        """True: a trial is promoted for beating those that came before it, which is fair
        only if the candidates come in random order (`RandomOrder`)."""
        return True


class ASHA(_Asynchronous):
    """Asynchronous successive halving: rungs at budgets ``max_budget * eta**-k`` down to
    ``min_budget`` (`rung_budgets`: Hyperband's ladder, whole numbers for int arguments);
    no worker ever waits for a rung to fill.

    Promotion variant (default): a free worker first takes the best not-yet-promoted trial
    in the top 1/eta of the highest rung that has one, and continues it (same trial, same
    config) at the next rung's budget; otherwise it starts a new trial at the lowest rung.
    A promoted trial resumes from its checkpoint when the objective saved one
    (``ctx.start_step`` > 0), and retrains from the start when not. With ``max_trials``
    the pool of candidates is finite; without, new ones come until a stopping rule ends the
    run.

    Stopping variant (``stopping=True``), for objectives that train straight through and
    report as they go: every trial runs at ``max_budget``, and at each rung's step a trial
    outside the top 1/eta of the reports that rung has seen is stopped (`TrialPruned`
    inside the objective; the trial is recorded as pruned with its last report).

    Several metrics, or constraints (multi-objective ASHA): a rung's results are its trials'
    loss vectors, ordered by `paratune.pareto.pareto_order`: the feasible fronts of
    non-dominated sorting, then the infeasible results by violation; within a front the
    larger crowding distance first, then the lower trial id. A trial is promoted from a rung
    when it is among the first ``int(n // eta)`` of the rung's ``n`` results in that order.
    The stopping variant judges reports of one metric, and is refused there.

    Args:
        budget: the budget's name, for display (``"epochs"``, ``"iterations"``, ...).
        min_budget: the least budget a rung may have (the lowest rung is at most ``eta``
            times above it).
        max_budget: the budget of the top rung.
        eta: the halving rate (2 keeps half at each rung, 3 a third), and the ratio of one
            rung's budget to the next.
        stopping: use the stopping variant.

    >>> ASHA(budget="epochs", min_budget=1, max_budget=8, eta=2).budgets
    [1, 2, 4, 8]
    """

    def __init__(
        self,
        budget: str = "budget",
        min_budget: float = 1,
        max_budget: float = 64,
        eta: float = 2,
        *,
        stopping: bool = False,
    ) -> None:
        super().__init__(budget, min_budget, max_budget, eta, brackets=1, stopping=stopping)

    def __repr__(self) -> str:
        return (
            f"ASHA(budget={self.budget!r}, min_budget={self.min_budget!r}, "
            f"max_budget={self.max_budget!r}, eta={self.eta!r}, stopping={self.stopping!r})"
        )


class Hyperband(_Asynchronous):
    """Asynchronous Hyperband: several brackets of ASHA over the same workers, bracket b
    starting its trials at the b-th rung's budget, so that some trials are judged early and
    others only after a longer start (a hedge against learning curves that cross).

    New trials are dealt to the brackets in Hyperband's proportions (the bracket starting at
    the lowest budget gets the most), in a fixed order, so runs are reproducible. Within a
    bracket, promotions follow `ASHA`; across brackets, a free worker takes the promotion to
    the highest budget first. With several metrics, or constraints, each bracket promotes
    as multi-objective `ASHA` does.

    Args:
        budget: the budget's name, for display.
        min_budget: the least budget a rung may have (as in `ASHA`).
        max_budget: the budget of the top rung.
        eta: the halving rate, and the ratio of one rung's budget to the next.
        brackets: how many brackets (default: one per rung below the top, i.e. from every
            starting budget but the last).
        stopping: the stopping variant of `ASHA` in every bracket.

    >>> Hyperband(budget="epochs", min_budget=1, max_budget=8, eta=2).brackets
    3
    """

    def __init__(
        self,
        budget: str = "budget",
        min_budget: float = 1,
        max_budget: float = 64,
        eta: float = 2,
        *,
        brackets: int | None = None,
        stopping: bool = False,
    ) -> None:
        rungs = len(rung_budgets(min_budget, max_budget, eta))
        most = max(1, rungs - 1)
        if brackets is None:
            brackets = most
        if not is_whole(brackets, 1):
            raise ValueError(f"brackets must be an integer >= 1, got {brackets!r}")
        if brackets > rungs:
            raise ValueError(f"brackets must be at most the number of rungs ({rungs})")
        self.brackets = brackets
        super().__init__(budget, min_budget, max_budget, eta, brackets=brackets, stopping=stopping)

    def __repr__(self) -> str:
        return (
            f"Hyperband(budget={self.budget!r}, min_budget={self.min_budget!r}, "
            f"max_budget={self.max_budget!r}, eta={self.eta!r}, brackets={self.brackets!r}, "
            f"stopping={self.stopping!r})"
        )
