"""ASHA, Hyperband and successive halving with several objectives, or constraints: a
rung's results are loss vectors, promoted in `paratune.pareto.pareto_order` (front, then
crowding distance, then trial id), infeasible ones after every feasible one."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.objectives import Objectives
from paratune.pareto import dominates, pareto_order
from paratune.schedulers import ASHA, FIFO, Hyperband, SuccessiveHalving, Suggestions
from paratune.schedulers._pareto_rungs import ParetoCandidates, ParetoRung
from paratune.trial import Proposal, Status, Trial

TWO = Objectives.of(["a", "b"])
NOTHING_NEW = Suggestions(lambda: None)
S = TypeVar("S", ASHA, Hyperband)


def done(trial_id: int, budget: float, metrics: Mapping[str, float]) -> Trial:
    """A trial whose job at ``budget`` ended with ``metrics``."""
    first = next(iter(metrics.values()))
    return Trial(trial_id, {"i": trial_id}, 0, Status.DONE, first, metrics, budget=budget)


def pairs(vectors: Mapping[int, tuple[float, float]]) -> dict[int, dict[str, float]]:
    return {trial_id: {"a": a, "b": b} for trial_id, (a, b) in vectors.items()}


def aimed(scheduler: S, goals: Objectives = TWO) -> S:
    scheduler.aim(goals)
    return scheduler


def promotions(scheduler: ASHA | Hyperband | SuccessiveHalving) -> list[tuple[int, float]]:
    """Every promotion the scheduler makes now, in order (no new trial is offered)."""
    made: list[tuple[int, float]] = []
    while (proposal := scheduler.next_job(NOTHING_NEW)) is not None:
        assert proposal.trial_id is not None and proposal.budget is not None
        made.append((proposal.trial_id, proposal.budget))
    return made


def feed(
    scheduler: ASHA | Hyperband | SuccessiveHalving,
    results: Mapping[int, Mapping[str, float]],
    budget: float,
) -> None:
    for trial_id, metrics in results.items():
        scheduler.on_result(done(trial_id, budget, metrics))


# ---- hand-worked rungs --------------------------------------------------------------------


def test_the_front_is_promoted_first_extremes_then_by_crowding() -> None:
    # Front 0: 0 (1,5), 1 (2,4), 2 (3,2), 3 (5,1); 4, 6 are dominated by 1, 7 by 2, 5 by all.
    # Crowding (ranges 4 and 4): 0 and 3 are extremes (infinite, so by id); 1: 2/4 + 3/4;
    # 2: 3/4 + 3/4, the larger. Eight results, eta 2: the first four may go up.
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2))
    vectors = {0: (1, 5), 1: (2, 4), 2: (3, 2), 3: (5, 1), 4: (4, 5), 5: (6, 6), 6: (3, 4.5)}
    feed(scheduler, pairs({**vectors, 7: (5, 3)}), 1)
    assert promotions(scheduler) == [(0, 2), (3, 2), (2, 2), (1, 2)]


def test_within_the_second_front_crowding_beats_the_trial_id() -> None:
    # Front 0: 0 (1,3), 1 (3,1). Front 1: 2 (2.5,3.2) in the middle, 3 (2,3.5) and
    # 4 (3.5,2) its extremes; 5 (4,4) last. Six results, eta 2: three go up.
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2))
    vectors = {0: (1, 3), 1: (3, 1), 2: (2.5, 3.2), 3: (2, 3.5), 4: (3.5, 2), 5: (4, 4)}
    feed(scheduler, pairs(vectors), 1)
    assert promotions(scheduler) == [(0, 2), (1, 2), (3, 2)]


def test_a_maximised_metric_is_negated_before_sorting() -> None:
    # The first hand-worked rung with b maximised and given negated: the same order.
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2), Objectives.of(["a", "b"], "min"))
    flipped = aimed(
        ASHA(min_budget=1, max_budget=4, eta=2), Objectives.of(["a", "b"], ["min", "max"])
    )
    vectors = {0: (1, 5), 1: (2, 4), 2: (3, 2), 3: (5, 1), 4: (4, 5), 5: (6, 6), 6: (3, 4.5)}
    feed(scheduler, pairs(vectors), 1)
    feed(flipped, pairs({k: (a, -b) for k, (a, b) in vectors.items()}), 1)
    assert promotions(scheduler) == promotions(flipped) == [(0, 2), (3, 2), (2, 2)]


def test_a_rung_promotes_nothing_below_eta_results_and_more_as_they_come() -> None:
    scheduler = aimed(ASHA(min_budget=1, max_budget=9, eta=3))
    feed(scheduler, pairs({0: (2, 2), 1: (1, 1)}), 1)
    assert promotions(scheduler) == []
    feed(scheduler, pairs({2: (3, 3)}), 1)
    assert promotions(scheduler) == [(1, 3)]
    feed(scheduler, pairs({3: (0, 5), 4: (5, 0), 5: (4, 4)}), 1)  # 6 results: two go up
    # Front 0 is now 1 (1,1), 3 (0,5), 4 (5,0): 3 and 4, its extremes, come before 1 and
    # are the top two; 1 went up already, as ASHA never takes a promotion back.
    assert promotions(scheduler) == [(3, 3), (4, 3)]


def test_infeasible_trials_go_up_only_after_every_feasible_one() -> None:
    goals = Objectives.of(["a", "b"], constraints={"mem": ("<=", 10)})
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2), goals)
    rows = {
        0: (0, 0, 30),  # violation 20
        1: (0, 1, 12),  # 2
        2: (1, 0, 11),  # 1
        3: (0.5, 0.5, 11),  # 1
        4: (0, 0, 50),  # 40
        5: (5, 5, 10),  # feasible: front 0 with 6
        6: (6, 4, 3),
        7: (7, 7, 0),  # feasible, front 1
    }
    feed(scheduler, {k: {"a": a, "b": b, "mem": m} for k, (a, b, m) in rows.items()}, 1)
    # Feasible 5, 6 (two points: both extremes, by id), 7; then the least violation: 2 and
    # 3 tie at 1, both extremes of their rank: 2 by id.
    assert promotions(scheduler) == [(5, 2), (6, 2), (7, 2), (2, 2)]


def test_one_metric_with_a_constraint_orders_by_feasibility_violation_and_loss() -> None:
    goals = Objectives.of("a", "max", {"mem": ("<=", 10)})
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2), goals)
    rows = {0: (9, 20), 1: (5, 5), 2: (7, 10), 3: (6, 11), 4: (8, 9), 5: (10, 12)}
    feed(scheduler, {k: {"a": a, "mem": m} for k, (a, m) in rows.items()}, 1)
    # Feasible by a (maximised): 4 (8), 2 (7), 1 (5); infeasible 3, 5, 0 come after.
    assert promotions(scheduler) == [(4, 2), (2, 2), (1, 2)]


def test_results_climb_the_rungs_and_the_highest_promotion_comes_first() -> None:
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2))
    feed(scheduler, pairs({0: (1, 4), 1: (4, 1), 2: (3, 3), 3: (5, 5)}), 1)
    assert promotions(scheduler) == [(0, 2), (1, 2)]
    feed(scheduler, pairs({0: (2, 2), 1: (1, 1)}), 2)  # rung 1: 1 dominates 0
    feed(scheduler, pairs({4: (0, 9), 5: (9, 0), 6: (8, 8), 7: (9, 9)}), 1)
    # Rung 1 (to budget 4) first; then rung 0's next: 8 results, four go up, 0 and 1 gone.
    assert promotions(scheduler) == [(1, 4), (4, 2), (5, 2)]


def test_a_running_trial_is_not_promoted_until_its_job_ends() -> None:
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2))
    feed(scheduler, pairs({0: (1, 1), 1: (2, 2), 2: (3, 3), 3: (4, 4)}), 1)
    assert promotions(scheduler) == [(0, 2), (1, 2)]
    feed(scheduler, pairs({0: (1, 1)}), 2)  # 0's job ends; 1 still runs at 2
    assert promotions(scheduler) == []  # rung 1 holds one result: too few
    feed(scheduler, pairs({1: (0, 0)}), 2)
    assert promotions(scheduler) == [(1, 4)]


# ---- the rule on random runs ----------------------------------------------------------------


def reference_next(
    budgets: list[float],
    eta: float,
    results: list[dict[int, tuple[tuple[float, ...], float]]],
    promoted: list[set[int]],
    running: set[int],
) -> tuple[int, float] | None:
    """The promotion the rule asks for, worked out from scratch: highest rung first; in a
    rung, its results in trial-id order sorted by `pareto_order`, the first int(n // eta)."""
    for rung in reversed(range(len(budgets) - 1)):
        ids = sorted(results[rung])
        if not ids:
            continue
        losses = [results[rung][i][0] for i in ids]
        order = pareto_order(losses, [results[rung][i][1] for i in ids])
        for position in order[: int(len(ids) // eta)]:
            trial_id = ids[position]
            if trial_id not in promoted[rung] and trial_id not in running:
                return trial_id, budgets[rung + 1]
    return None


def assert_no_dominator_waits(
    rung: dict[int, tuple[tuple[float, ...], float]], promoted: set[int], trial_id: int
) -> None:
    """Every feasible result of the rung that dominates ``trial_id``'s is promoted already,
    and when ``trial_id`` is infeasible, every feasible one is."""
    losses, violation = rung[trial_id]
    for other, (other_losses, other_violation) in rung.items():
        better = other_violation == 0 and (violation > 0 or dominates(other_losses, losses))
        assert not better or other in promoted, (other, trial_id)


class Checked:
    """An ASHA aimed at ``goals``, each of its answers checked against `reference_next`,
    and each promotion against dominance, as jobs end."""

    def __init__(self, goals: Objectives, configs: int) -> None:
        self.goals = goals
        self.scheduler = aimed(ASHA(min_budget=1, max_budget=8, eta=2), goals)
        self.budgets = self.scheduler.budgets
        self.results: list[dict[int, tuple[tuple[float, ...], float]]] = [{} for _ in self.budgets]
        self.promoted: list[set[int]] = [set() for _ in self.budgets]
        self.running: dict[int, float] = {}
        self.promotions = 0
        left = iter([{"i": k} for k in range(configs)])
        self.suggest = Suggestions(lambda: next(left, None))

    def fill(self, workers: int) -> None:
        """Ask for jobs until ``workers`` run or none comes."""
        while len(self.running) < workers:
            expected = reference_next(
                self.budgets, 2, self.results, self.promoted, set(self.running)
            )
            new_id = self.suggest.trial_id
            proposal = self.scheduler.next_job(self.suggest)
            if proposal is None or proposal.trial_id is None:
                assert expected is None
                if proposal is None:
                    return
                self.running[new_id] = self.budgets[0]
                continue
            assert (proposal.trial_id, proposal.budget) == expected
            assert proposal.budget is not None
            rung = self.budgets.index(proposal.budget) - 1
            assert_no_dominator_waits(self.results[rung], self.promoted[rung], proposal.trial_id)
            self.promoted[rung].add(proposal.trial_id)
            self.running[proposal.trial_id] = proposal.budget
            self.promotions += 1

    def end(self, trial_id: int, metrics: dict[str, float]) -> None:
        """End ``trial_id``'s job with ``metrics``."""
        budget = self.running.pop(trial_id)
        losses, violation = self.goals.losses(metrics), self.goals.violation(metrics)
        assert losses is not None and violation is not None
        self.results[self.budgets.index(budget)][trial_id] = (losses, violation)
        self.scheduler.on_result(done(trial_id, budget, metrics))


@pytest.mark.parametrize(
    ("seed", "goals", "workers"),
    [
        (1, TWO, 1),
        (2, TWO, 4),
        (3, Objectives.of(["a", "b", "c"], ["min", "max", "min"]), 3),
        (4, Objectives.of(["a", "b"], constraints={"c": (">=", 0.3)}), 5),
        (5, Objectives.of("a", constraints={"c": ("<=", 0.5)}), 2),
    ],
)
def test_random_runs_promote_as_the_rule_says(seed: int, goals: Objectives, workers: int) -> None:
    rng = random.Random(seed)
    run = Checked(goals, configs=60)
    run.fill(workers)
    while run.running:
        # One decimal: ties and equal points are common.
        metrics = {name: round(rng.random(), 1) for name in ("a", "b", "c")}
        run.end(rng.choice(sorted(run.running)), metrics)
        run.fill(workers)
    assert run.promotions >= 40 and run.results[-1]


def test_hyperband_brackets_promote_by_the_front_the_highest_budget_first() -> None:
    scheduler = aimed(Hyperband(min_budget=1, max_budget=4, eta=2))  # rungs 1, 2, 4
    members: list[list[int]] = [[], []]
    for trial_id in range(20):
        members[scheduler.bracket_of(trial_id)].append(trial_id)
    vectors = [(3, 3), (1, 4), (4, 1), (2, 2)]  # front 0: the last three, extremes 1 and 2
    for bracket, start in ((0, 1), (1, 2)):
        feed(scheduler, pairs(dict(zip(members[bracket], vectors, strict=False))), start)
    first, second = members
    assert promotions(scheduler) == [(second[1], 4), (second[2], 4), (first[1], 2), (first[2], 2)]


def test_successive_halving_promotes_the_first_of_the_front_when_the_rung_finishes() -> None:
    scheduler = SuccessiveHalving(min_budget=1, max_budget=4, eta=2, candidates=4)
    scheduler.aim(TWO)
    new = [scheduler.next_job(Suggestions(dict, trial_id)) for trial_id in range(4)]
    assert [proposal.budget if proposal else None for proposal in new] == [1, 1, 1, 1]
    feed(scheduler, pairs({0: (3, 3), 1: (1, 4), 2: (4, 1)}), 1)
    assert promotions(scheduler) == []  # the rung waits for 3
    feed(scheduler, pairs({3: (2, 2)}), 1)
    assert promotions(scheduler) == [(1, 2), (2, 2)]


# ---- what stays as it was -----------------------------------------------------------------


@pytest.mark.parametrize("stopping", [ASHA(stopping=True), Hyperband(stopping=True)])
@pytest.mark.parametrize(
    "goals", [TWO, Objectives.of("a", constraints={"mem": ("<=", 1)})], ids=["two", "bound"]
)
def test_the_stopping_variant_is_refused_with_several_objectives_or_constraints(
    stopping: ASHA | Hyperband, goals: Objectives
) -> None:
    with pytest.raises(SpecError, match=r"stopping=True.*use the promotion variant"):
        stopping.aim(goals)
    stopping.aim(Objectives.of("a"))  # one plain metric: as always


def test_plain_objectives_change_nothing() -> None:
    rng = random.Random(7)
    plain, aimed_plain = (
        ASHA(min_budget=1, max_budget=8, eta=2),
        ASHA(min_budget=1, max_budget=8, eta=2),
    )
    aimed_plain.aim(Objectives.of("loss"))
    schedulers = (plain, aimed_plain)
    running: list[tuple[int, float]] = []
    for step in range(200):
        answers = [s.next_job(Suggestions(dict, step)) for s in schedulers]
        assert answers[0] == answers[1]
        proposal = answers[0]
        assert proposal is not None
        running.append(
            (step if proposal.trial_id is None else proposal.trial_id, proposal.budget or 0)
        )
        trial_id, budget = running.pop(rng.randrange(len(running)))
        loss = round(rng.random(), 1)
        assert {s.on_report(trial_id, int(budget), loss) for s in schedulers} == {True}
        for scheduler in schedulers:
            scheduler.on_result(done(trial_id, budget, {"loss": loss}))


def test_reports_are_not_rung_results_under_several_objectives() -> None:
    scheduler = aimed(ASHA(min_budget=1, max_budget=4, eta=2))
    for trial_id, loss in enumerate([0.1, 0.2, 0.3, 0.4]):
        assert scheduler.on_report(trial_id, 1, loss)
    assert promotions(scheduler) == []
    feed(scheduler, pairs({0: (4, 4), 1: (3, 3), 2: (2, 2), 3: (1, 1)}), 1)
    assert promotions(scheduler) == [(3, 2), (2, 2)]


def test_fifo_takes_any_objectives() -> None:
    fifo = FIFO()
    fifo.aim(Objectives.of(["a", "b"], constraints={"c": ("<=", 1)}))
    assert fifo.next_job(Suggestions(lambda: {"x": 1})) == Proposal({"x": 1})


def drive(
    schedulers: list[ASHA],
    suggests: list[Suggestions],
    rng: random.Random,
    running: dict[int, float],
    history: dict[int, list[Trial]],
    events: int,
) -> None:
    """End ``events`` jobs, three workers busy, the schedulers told alike: each of their
    answers must be the same. Losses take four values each: ties are common."""
    for _ in range(events):
        while len(running) < 3:
            new_id = suggests[0].trial_id
            answers = [
                s.next_job(suggest) for s, suggest in zip(schedulers, suggests, strict=True)
            ]
            proposal = answers[0]
            assert proposal is not None and proposal.budget is not None
            assert all(answer == proposal for answer in answers)
            running[new_id if proposal.trial_id is None else proposal.trial_id] = proposal.budget
        trial_id = rng.choice(sorted(running))
        trial = done(
            trial_id, running.pop(trial_id), {"a": rng.randrange(4), "b": rng.randrange(4)}
        )
        history.setdefault(trial_id, []).append(trial)
        for scheduler in schedulers:
            scheduler.on_result(trial)


def test_a_resume_in_trial_id_order_rebuilds_the_same_decisions() -> None:
    rng = random.Random(11)
    ran = aimed(ASHA(min_budget=1, max_budget=8, eta=2))
    history: dict[int, list[Trial]] = {}
    running: dict[int, float] = {}
    suggest = Suggestions(dict)
    drive([ran], [suggest], rng, running, history, 60)
    resumed = aimed(ASHA(min_budget=1, max_budget=8, eta=2))
    for trial_id in sorted(history.keys() | running.keys()):
        for trial in history.get(trial_id, []):  # its results at each rung, as reported
            resumed.on_result(trial)
        if trial_id in running:
            resumed.on_result(Trial(trial_id, {}, 0, Status.RUNNING, budget=running[trial_id]))
    again = Suggestions(dict, suggest.trial_id)
    drive([ran, resumed], [suggest, again], rng, running, history, 100)
    assert sum(len(results) > 2 for results in history.values()) >= 5  # some reached rung 2


def test_a_pareto_rung_caches_its_order_until_a_new_result() -> None:
    rung = ParetoRung(2)
    assert rung.order() == rung.top() == rung.best() == []
    assert rung.add(5, (1.0, 2.0), 0.0) and not rung.add(5, (0.0, 0.0), 0.0)
    assert rung.best() == [5] and rung.top() == []
    rung.add(3, (2.0, 1.0), 0.0)
    first = rung.order()
    assert first == [3, 5] and rung.order() is first  # both extremes: by trial id
    rung.add(4, (0.0, 0.0), 0.0)
    assert rung.order() == [4, 3, 5] and rung.top() == [4]


def test_pareto_candidates_set_running_trials_aside_and_say_where_they_went() -> None:
    scheduler = ASHA(min_budget=1, max_budget=4, eta=2)
    candidates = ParetoCandidates(scheduler.ladders[0])
    for trial_id, losses in enumerate([(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]):
        candidates.add(0, trial_id, losses, 0.0)
    assert candidates.promotable(0, {0}) == 1
    assert candidates.release(0) == [0] and candidates.release(0) == []
    scheduler.ladders[0].promoted[0].add(1)
    assert candidates.promotable(0, set()) == 0


# ---- through tune ---------------------------------------------------------------------------

GOALS = Objectives.of(["error", "speed"], ["min", "max"], {"memory": ("<=", 40)})


def trains(config: dict[str, float], ctx: pt.Context) -> dict[str, float]:
    """A job takes as long as its budget; its metrics depend on the config and the budget
    (rounded: equal results happen)."""
    budget = ctx.budget
    assert budget is not None
    ctx.elapse(budget)
    x, y = config["x"], config["y"]
    return {
        "error": round(x + y / budget, 2),
        "speed": round(x * y + budget / 10 - y, 2),
        "memory": round(100 * x * y, 2),
    }


class Ran(NamedTuple):
    """A job of a run, from its report: when it started and ended, whose, at which
    budget, and its result as losses and violation."""

    start: float
    end: float
    trial_id: int
    budget: float
    result: tuple[tuple[float, ...], float]


def jobs_of(result: pt.TuneResult) -> list[Ran]:
    """Each job's `Ran`: a job's result is recorded as a report at its budget when it ends,
    and it took as long as its budget (`trains`)."""
    jobs = []
    for report in result.report_list:
        losses, violation = GOALS.losses(report.metrics), GOALS.violation(report.metrics)
        assert losses is not None and violation is not None
        start = report.time - report.step
        jobs.append(Ran(start, report.time, report.trial_id, report.step, (losses, violation)))
    return jobs


def expected_starts(
    budgets: list[float], workers: int, jobs: list[Ran], configs: int, since: float = 0.0
) -> list[tuple[float, int, float]]:
    """The jobs the rule starts from ``since`` on, worked out from the jobs that ran: at
    each moment one starts, with the results that ended by then, the free workers take
    `reference_next`'s promotions, then new trials, in id order, up to ``configs`` trials
    in all. The jobs started before ``since`` (an earlier session's) are taken as given."""
    results: list[dict[int, tuple[tuple[float, ...], float]]] = [{} for _ in budgets]
    promoted: list[set[int]] = [set() for _ in budgets]
    for job in jobs:
        if job.start < since:
            for below in range(budgets.index(job.budget)):
                promoted[below].add(job.trial_id)
    created = len({job.trial_id for job in jobs if job.start < since})
    starts = []
    for moment in sorted({job.start for job in jobs if job.start >= since}):
        running = {job.trial_id for job in jobs if job.start < moment < job.end}
        for job in jobs:
            if job.end <= moment:
                results[budgets.index(job.budget)][job.trial_id] = job.result
        for _ in range(workers - len(running)):
            promotion = reference_next(budgets, 2, results, promoted, running)
            if promotion is None and created == configs:
                break
            if promotion is None:
                promotion, created = (created, budgets[0]), created + 1
            else:
                promoted[budgets.index(promotion[1]) - 1].add(promotion[0])
            running.add(promotion[0])
            starts.append((moment, *promotion))
    return starts


def run(trials: int, **more: Any) -> pt.TuneResult:
    """`trains` tuned under ASHA (rungs 1, 2, 4, 8) on three simulated workers."""
    return pt.tune(
        trains,
        {"x": pt.Float(0, 1), "y": pt.Float(0, 1)},
        metric=list(GOALS.metrics),
        mode=list(GOALS.modes),
        constraints={"memory": ("<=", 40)},
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=8, eta=2),
        executor="simulated",
        workers=3,
        max_trials=trials,
        seed=5,
        **more,
    )


def test_a_run_through_tune_promotes_as_worked_out_from_its_jobs() -> None:
    result = run(40, store=None)
    jobs = jobs_of(result)
    assert len(result.trial_list) == 40 and len(jobs) >= 60
    assert any(job.result[1] > 0 for job in jobs)  # some infeasible results
    ran = sorted((job.start, job.trial_id, job.budget) for job in jobs)
    assert ran == sorted(expected_starts([1, 2, 4, 8], 3, jobs, 40))


def test_a_resumed_run_promotes_as_if_it_had_not_stopped(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    first = run(20, store=store, name="mo")
    result = run(24, store=store, name="mo", resume=True)
    jobs = jobs_of(result)
    later = sorted(
        (job.start, job.trial_id, job.budget) for job in jobs if job.start >= first.wall_time
    )
    assert later and later == sorted(expected_starts([1, 2, 4, 8], 3, jobs, 24, first.wall_time))
