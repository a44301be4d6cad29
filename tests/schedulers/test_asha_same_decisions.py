"""ASHA and Hyperband make exactly the decisions of the plain rule they were first written
with (`ReferenceRule`): both are handed the same random runs (tied losses, failed,
cancelled and interrupted jobs, reports, stopped trials, resumes) and must answer every
call alike; and the parts that keep each rung's candidates cheap to find."""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from paratune.schedulers import ASHA, Hyperband, Suggestions
from paratune.schedulers._candidates import Candidates
from paratune.schedulers._ladder import Ladder, rung_budgets
from paratune.schedulers._rung_results import RungResults
from paratune.trial import Config, Proposal, Status, Trial

from ._reference_asha import ReferenceRule

LADDERS = [(1, 8, 2), (1, 27, 3), (1, 64, 4), (1, 40, 2.5), (1.0, 9.0, 3), (2, 16, 2)]
"""(min_budget, max_budget, eta): whole and float budgets, several eta."""


def numbered(first: int, last: int) -> Callable[[], Config | None]:
    """Configurations ``{"i": k}`` for k from ``first`` up to ``last`` (excluded), then None."""
    ids = iter(range(first, last))
    return lambda: None if (k := next(ids, None)) is None else {"i": k}


@dataclass
class Settings:
    """One random run's scheduler and workload."""

    ladder: tuple[float, float, float]
    brackets: int  # 0: ASHA, else Hyperband with this many brackets
    stopping: bool
    workers: int
    levels: int  # losses take this many values: few make ties
    configs: int
    events: int

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Settings:
        ladder = LADDERS[int(rng.integers(len(LADDERS)))]
        rungs = len(rung_budgets(*ladder))
        return cls(
            ladder,
            int(rng.integers(0, rungs + 1)),
            bool(rng.random() < 0.2),
            int(rng.choice([1, 2, 3, 8, 40])),
            int(rng.choice([1, 2, 4, 10**6])),
            int(rng.integers(20, 400)),
            int(rng.integers(100, 800)),
        )

    def schedulers(self) -> tuple[ASHA | Hyperband, ReferenceRule]:
        """The scheduler under test and the reference, with the same settings."""
        low, high, eta = self.ladder
        if self.brackets == 0:
            return ASHA(min_budget=low, max_budget=high, eta=eta, stopping=self.stopping), (
                ReferenceRule(low, high, eta, 1, self.stopping)
            )
        hyperband = Hyperband(
            min_budget=low, max_budget=high, eta=eta, brackets=self.brackets,
            stopping=self.stopping,
        )  # fmt: skip
        return hyperband, ReferenceRule(low, high, eta, self.brackets, self.stopping)


class SideBySide:
    """The scheduler and the reference, handed the same calls: every answer must match."""

    def __init__(self, settings: Settings, first_id: int) -> None:
        self.new, self.old = settings.schedulers()
        self._suggest_new = Suggestions(numbered(first_id, settings.configs), first_id)
        self._suggest_old = Suggestions(numbered(first_id, settings.configs), first_id)

    def next_job(self) -> Proposal | None:
        new = self.new.next_job(self._suggest_new)
        assert new == self.old.next_job(self._suggest_old)
        return new

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        go_on = self.new.on_report(trial_id, step, loss)
        assert go_on == self.old.on_report(trial_id, step, loss)
        return go_on

    def on_result(self, trial: Trial) -> None:
        self.new.on_result(trial)
        self.old.on_result(trial)


@dataclass
class Books:
    """What a store would hold of a random run: every trial as it stands, its reports, and
    the jobs running (the step each started from)."""

    trials: dict[int, Trial] = field(default_factory=dict)
    reports: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    starts: dict[int, int] = field(default_factory=dict)
    before: dict[int, Trial] = field(default_factory=dict)  # where a running trial stood
    kinds: Counter[str] = field(default_factory=Counter)

    def start(self, proposal: Proposal) -> None:
        """A proposed job runs."""
        if proposal.trial_id is None:
            trial_id = int(proposal.config["i"])
            trial = Trial(trial_id, proposal.config, trial_id, Status.RUNNING)
            self.kinds["new"] += 1
        else:
            trial_id = proposal.trial_id
            trial = self.trials[trial_id]
            self.before[trial_id] = trial
            self.kinds["promoted"] += 1
        self.trials[trial_id] = trial._replace(status=Status.RUNNING, budget=proposal.budget)
        self.starts[trial_id] = proposal.start_step


def report_steps(budgets: list[float], start: int, budget: float) -> list[int]:
    """The whole steps a job from ``start`` to ``budget`` reports at: the rungs' and a few
    between them."""
    steps = {int(b) for b in budgets if b == int(b)} | {3, 5, 7}
    return sorted(step for step in steps if start < step <= budget)


def end_job(pair: SideBySide, books: Books, rng: np.random.Generator, settings: Settings) -> None:
    """End a random running job: some reports (the scheduler may stop it), then done (with
    or without a value), failed, cancelled, interrupted, or back where it stood."""
    trial_id = list(books.starts)[int(rng.integers(len(books.starts)))]
    start, trial = books.starts.pop(trial_id), books.trials[trial_id]
    budget = trial.budget
    assert budget is not None
    value: float | None = loss_of(rng, settings)
    status, reached = Status.DONE, budget
    for step in report_steps(rung_budgets(*settings.ladder), start, budget):
        if rng.random() < 0.3:
            continue
        loss = loss_of(rng, settings)
        books.reports.setdefault(trial_id, []).append((step, loss))
        if not pair.on_report(trial_id, step, loss):
            status, value, reached = Status.PRUNED, loss, step
            break
    draw = rng.random()
    if status is Status.DONE and draw < 0.3:
        status = [Status.FAILED, Status.CANCELLED, Status.INTERRUPTED][int(draw * 10)]
        value = None
    elif status is Status.DONE and draw < 0.35:
        value = None  # done without the tuned metric
    checkpoint = int(reached) if rng.random() < 0.5 and reached == int(reached) else None
    ended = trial._replace(status=status, value=value, budget=reached, checkpoint_step=checkpoint)
    if status is Status.CANCELLED and trial_id in books.before and draw < 0.15:
        ended = books.before[trial_id]  # a continuation cut short: it stays where it was
    books.before.pop(trial_id, None)
    books.trials[trial_id] = ended
    books.kinds[str(status)] += 1
    pair.on_result(ended)


def loss_of(rng: np.random.Generator, settings: Settings) -> float:
    """A loss among ``settings.levels`` values, so that ties come often when they are few."""
    return float(rng.integers(settings.levels)) / settings.levels


def resumed(settings: Settings, books: Books) -> SideBySide:
    """A fresh pair told what a resumed experiment tells its scheduler: by trial id, each
    trial's reports, then where it stands; running and interrupted trials run again."""
    pair = SideBySide(settings, max(books.trials, default=-1) + 1)
    for trial_id, trial in sorted(books.trials.items()):
        for step, loss in books.reports.get(trial_id, ()):
            pair.on_report(trial_id, step, loss)
        if trial.status in (Status.RUNNING, Status.INTERRUPTED):
            trial = trial._replace(status=Status.RUNNING, value=None)
            books.trials[trial_id] = trial
            step, budget = trial.checkpoint_step or 0, trial.budget
            books.starts[trial_id] = step if budget is not None and step < budget else 0
        pair.on_result(trial)
    return pair


def random_run(seed: int) -> Books:
    """One random run of both rules; every answer is compared as it comes."""
    rng = np.random.default_rng(seed)
    settings = Settings.draw(rng)
    pair, books = SideBySide(settings, 0), Books()
    resumes = set(rng.integers(settings.events, size=2).tolist())
    for event in range(settings.events):
        if event in resumes:
            pair = resumed(settings, books)
            books.kinds["resumed"] += 1
        if len(books.starts) < settings.workers and rng.random() < 0.6:
            proposal = pair.next_job()
            if proposal is not None:
                books.start(proposal)
                continue
            if not books.starts:
                break  # nothing to run: the run is over
        if books.starts:
            end_job(pair, books, rng, settings)
    return books


@pytest.mark.parametrize("first", range(0, 300, 30))
def test_random_runs_make_the_reference_decisions(first: int) -> None:
    kinds: Counter[str] = Counter()
    for seed in range(first, first + 30):
        kinds += random_run(seed).kinds
    # The runs reach every path: promotions, each way a job ends, resumes.
    for kind in ("new", "promoted", "resumed", *map(str, Status)):
        assert kinds[kind] > 0 or kind == "running", (kind, kinds)


def test_a_rung_full_of_ties_promotes_by_trial_id() -> None:
    for eta in (2, 3):
        pair = SideBySide(Settings((1, 27, eta), 0, False, 12, 1, 60, 0), 0)
        started = [pair.next_job() for _ in range(12)]
        assert all(p is not None and p.trial_id is None for p in started)
        low = started[0].budget if started[0] is not None else None
        for trial_id in range(12):
            pair.on_result(
                Trial(trial_id, {"i": trial_id}, trial_id, Status.DONE, 0.5, budget=low)
            )
        promoted = [pair.next_job() for _ in range(12 // eta)]
        assert [p.trial_id for p in promoted if p is not None] == list(range(12 // eta))
        assert pair.next_job() == Proposal({"i": 12}, low)  # the top 1/eta is all promoted


def test_candidates_skip_promoted_and_set_running_trials_aside() -> None:
    ladder = Ladder([1, 2], 2)
    candidates = Candidates(ladder)
    for trial_id, loss in ((3, 0.1), (1, 0.2), (2, 0.2), (4, 0.9)):
        ladder.record(0, trial_id, loss)
        candidates.add(0, trial_id, loss)
    ladder.promoted[0].add(3)
    running = {1}
    assert candidates.best(0, running) == (0.2, 2)
    assert candidates.best(1, running) is None
    running.discard(1)
    assert candidates.best(0, running) == (0.2, 2)  # 1 is set aside until released
    candidates.release(1)
    assert candidates.best(0, running) == (0.2, 1)
    ladder.promoted[0].update({1, 2})
    assert candidates.best(0, running) == (0.9, 4)
    candidates.release(1)  # nothing set aside any more: nothing comes back
    assert candidates.best(0, running) == (0.9, 4)


def test_candidates_promote_only_inside_the_top_and_say_where_released_trials_went() -> None:
    ladder = Ladder([1, 2], 2)
    candidates = Candidates(ladder)

    def record(trial_id: int, loss: float) -> None:
        ladder.record(0, trial_id, loss)
        candidates.add(0, trial_id, loss)

    record(5, 0.5)
    assert candidates.promotable(0, set()) is None  # 1 result: a top of 0
    record(6, 0.7)
    assert candidates.promotable(0, {5}) is None  # 5 runs, 6 ranks second of 2
    assert candidates.promotable(0, set()) is None  # 5 stays set aside until released
    assert candidates.release(5) == [0] and candidates.release(5) == []
    assert candidates.promotable(0, set()) == 5
    ladder.promoted[0].add(5)
    assert candidates.promotable(0, set()) is None
    record(7, 0.6)
    record(8, 0.9)
    assert candidates.promotable(0, set()) == 7  # 4 results: a top of 2, 5 and 7


def test_ladder_judges_the_top_as_ranks_in_the_sorted_results_do() -> None:
    rng = np.random.default_rng(1)
    for eta in (2, 2.5, 3):
        ladder = Ladder([1, 2], eta)
        assert not ladder.in_best_fraction(0, 0.5)  # no result: nothing goes on
        for trial_id in rng.permutation(60).tolist():
            assert ladder.record(0, trial_id, float(rng.integers(8)))
            assert not ladder.record(0, trial_id, -1.0)  # a repeat
            ordered, top = list(ladder.results[0]), int(ladder.count(0) // eta)
            for loss, other in ordered:
                assert ladder.in_top(0, loss, other) == (ordered.index((loss, other)) < top)
            for loss in (-1.0, 0.0, 3.0, 3.5, 7.0, 9.0):
                keeps = ladder.rank(0, loss) < ladder.best_fraction(0)
                assert ladder.in_best_fraction(0, loss) == keeps


def test_the_deal_matches_the_reference() -> None:
    for ladder, brackets in itertools.product(LADDERS, (1, 2, 3)):
        low, high, eta = ladder
        hyperband = Hyperband(min_budget=low, max_budget=high, eta=eta, brackets=brackets)
        reference = ReferenceRule(*ladder, brackets, False)
        assert [hyperband.bracket_of(t) for t in range(200)] == [
            reference.bracket_of(t) for t in range(200)
        ]


def test_rung_results_read_as_a_sorted_list_and_track_their_threshold() -> None:
    rng = np.random.default_rng(0)
    for eta in (2, 3, 2.5):
        results, plain = RungResults(eta), list[tuple[float, int]]()
        assert results == [] and results.threshold() is None and results.position((0.0, 0)) == 0
        for trial_id in rng.permutation(300).tolist():
            entry = (float(rng.integers(20)), trial_id)
            results.add(entry)
            bisect.insort(plain, entry)
            assert results.threshold() == plain[max(1, int(len(plain) // eta)) - 1]
            if trial_id % 7 == 0:  # reads between additions
                assert results == plain and results[-1] == plain[-1]
        assert results == plain and len(results) == len(plain) and list(results) == plain
        assert results != plain[:-1] and results != tuple(plain)
        for part in (slice(None, 10), slice(-5, None), slice(None, None, 7)):
            assert results[part] == plain[part]
        for probe in [(-1.0, 0), (10.0, -1), (10.0, 10**9), (99.0, 0), *plain[::13]]:
            assert results.position(probe) == bisect.bisect_left(plain, probe)
    assert repr(RungResults(2)) == "RungResults([])"
