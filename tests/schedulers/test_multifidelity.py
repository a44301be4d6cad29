"""Multi-fidelity runs end to end: reports, checkpoints, promotions and stopping through the
tuner, on the simulated, thread and process executors and the SQLite store."""

from __future__ import annotations

import itertools
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.schedulers import ASHA, Hyperband, SuccessiveHalving, Suggest
from paratune.store import SQLiteStore
from paratune.trial import Proposal

SPACE = {"q": pt.Float(0, 1), "epoch": 1.0}  # seconds an epoch takes (virtual when simulated)
REAL = {"q": pt.Float(0, 1), "epoch": 0.002}  # for real executors


def retrains(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trains from scratch to the budget; epochs take 0.8-1.2 virtual seconds."""
    rng = np.random.default_rng(ctx.seed)
    assert ctx.budget is not None and ctx.start_step == 0
    for _ in range(int(ctx.budget)):
        ctx.elapse(config["epoch"] * rng.uniform(0.8, 1.2))
    return float(config["q"] * (1 + 1 / ctx.budget))


def resumes(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Trains from its checkpoint; the checkpoint says how many epochs it holds and who
    saved it."""
    state = ctx.load_checkpoint() or {"epochs": 0, "pids": []}
    assert state["epochs"] == ctx.start_step
    assert ctx.budget is not None
    for _ in range(ctx.start_step, int(ctx.budget)):
        ctx.elapse(config["epoch"])
        state["epochs"] += 1
    state["pids"].append(os.getpid())
    ctx.save_checkpoint(state)
    loss = float(config["q"] * (1 + 1 / ctx.budget))
    return {"loss": loss, "epochs": state["epochs"], "savers": len(set(state["pids"]))}


def reports_every_epoch(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trains straight through to the budget, reporting after every epoch (the tuned metric
    is "loss")."""
    assert ctx.budget is not None
    loss = 1.0
    for epoch in range(int(ctx.budget)):
        ctx.elapse(config["epoch"])
        loss = float(config["q"] + 1 / (epoch + 1))
        ctx.report(epoch + 1, loss=loss)
    return loss


def reached(result: pt.TuneResult) -> dict[float, int]:
    """How many trials reached each rung budget (from the rung results in the reports)."""
    counts: Counter[float] = Counter()
    for report in result.report_list:
        counts[report.step] += 1
    return dict(counts)


class CheckedASHA(ASHA):
    """ASHA that checks, at every promotion it makes, that the trial is in the top
    floor(n / eta) of its rung's results at that moment, and logs its stopping decisions."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.promotions = 0
        self.decisions: list[tuple[int, float, bool]] = []

    def next_job(self, suggest: Suggest) -> Proposal | None:
        proposal = super().next_job(suggest)
        if proposal is not None and proposal.trial_id is not None:
            ladder = self.ladders[0]
            rung = ladder.budgets.index(proposal.budget or 0) - 1
            results = ladder.results[rung]
            top = {trial_id for _, trial_id in results[: len(results) // 2]}
            assert proposal.trial_id in top
            self.promotions += 1
        return proposal

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        go_on = super().on_report(trial_id, step, loss)
        self.decisions.append((step, loss, go_on))
        return go_on


def test_asha_promotes_only_from_the_top_fraction_of_each_rung() -> None:
    asha = CheckedASHA(budget="epochs", min_budget=1, max_budget=16, eta=2)
    result = pt.tune(
        retrains,
        SPACE,
        scheduler=asha,
        executor="simulated",
        workers=8,
        max_trials=64,
        store=None,
        seed=3,
    )
    assert result.stop_reason is pt.StopReason.MAX_TRIALS
    assert len(result.trial_list) == 64  # max_trials counts configurations
    counts = reached(result)
    assert counts[1] == 64 and asha.promotions == sum(counts.values()) - 64
    budgets = [1, 2, 4, 8, 16]
    for low, high in itertools_pairs(budgets):
        assert 1 <= counts[high] <= counts[low]
    # Each trial's row shows the highest budget it reached, and every rung result is kept.
    for trial in result.trial_list:
        steps = sorted(r.step for r in result.report_list if r.trial_id == trial.trial_id)
        assert steps == budgets[: len(steps)] and trial.budget == steps[-1]


def itertools_pairs(values: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(values))


def test_synchronous_halving_runs_whole_rungs_in_order() -> None:
    result = pt.tune(
        retrains,
        SPACE,
        scheduler=SuccessiveHalving(budget="epochs", min_budget=1, max_budget=8, eta=2),
        executor="simulated",
        workers=8,
        max_trials=32,
        store=None,
        seed=1,
    )
    assert reached(result) == {1: 32, 2: 16, 4: 8, 8: 4}
    seeds = {t.trial_id: t.seed for t in result.trial_list}
    ends: dict[float, list[float]] = defaultdict(list)
    starts: dict[float, list[float]] = defaultdict(list)
    for report in result.report_list:
        ends[report.step].append(report.time)
        # A job retrains from scratch: its epochs are the first draws of its seed's generator.
        took = np.random.default_rng(seeds[report.trial_id]).uniform(0.8, 1.2, int(report.step))
        starts[report.step].append(report.time - float(took.sum()))
    for low, high in itertools_pairs([1, 2, 4, 8]):
        # Every job of the higher rung started after the whole lower rung had finished.
        assert min(starts[high]) >= max(ends[low]) - 1e-9
    best = result.best_trial
    assert best is not None and best.budget == 8
    assert best.value == min(t.value or 0.0 for t in result.trial_list if t.budget == 8)


def test_checkpointed_promotions_resume_in_other_processes(tmp_path: Path) -> None:
    result = pt.tune(
        resumes,
        REAL,
        metric="loss",
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=4, eta=2),
        executor="processes",
        workers=2,
        max_trials=8,
        store=tmp_path / "runs.db",
        name="asha",
        seed=2,
    )
    assert all(t.status is pt.Status.DONE for t in result.trial_list)
    promoted = [t for t in result.trial_list if t.budget and t.budget > 1]
    assert promoted
    for trial in result.trial_list:
        # Never retrained: each trial holds exactly its budget's epochs, and its
        # checkpoint is at its budget.
        assert trial.metrics["epochs"] == trial.budget
        assert trial.checkpoint_step == trial.budget
    checkpoints = tmp_path / "runs-checkpoints" / "asha"
    assert sorted(p.name for p in checkpoints.iterdir()) == sorted(
        [".paratune-checkpoints", *(f"trial-{t.trial_id}.pkl" for t in result.trial_list)]
    )  # the checkpoints and the marker that says paratune made the folder
    # The table shows the highest budget reached; the reports every rung.
    stored = pt.load(tmp_path / "runs.db", "asha")
    assert stored.reports.groupby("trial_id")["step"].max().tolist() == [
        t.budget for t in stored.trial_list
    ]


def test_without_a_checkpoint_a_promotion_retrains() -> None:
    result = pt.tune(
        retrains,
        REAL,
        scheduler=ASHA(min_budget=1, max_budget=4, eta=2),
        executor="threads",
        workers=2,
        max_trials=6,
        store=None,
    )
    assert any((t.budget or 0) > 1 for t in result.trial_list)
    assert all(t.checkpoint_step is None for t in result.trial_list)


@pytest.mark.parametrize("executor", ["simulated", "serial", "threads", "processes"])
def test_the_stopping_variant_prunes_at_rungs_on_every_executor(executor: str) -> None:
    result = pt.tune(
        reports_every_epoch,
        REAL,
        metric="loss",
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=8, eta=2, stopping=True),
        executor=executor,
        workers=1 if executor == "serial" else 2,
        max_trials=12,
        store=None,
        seed=4,
    )
    statuses = Counter(t.status for t in result.trial_list)
    assert statuses[pt.Status.PRUNED] > 0 and statuses[pt.Status.DONE] > 0
    assert set(statuses) <= {pt.Status.PRUNED, pt.Status.DONE}
    for trial in result.trial_list:
        steps = [r.step for r in result.report_list if r.trial_id == trial.trial_id]
        assert steps == list(range(1, len(steps) + 1))
        if trial.status is pt.Status.PRUNED:
            # Stopped at a rung, with the value of that report.
            assert trial.budget in (1, 2, 4) and trial.budget == steps[-1]
            last = [r for r in result.report_list if r.trial_id == trial.trial_id][-1]
            assert trial.value == last.metrics["loss"]
        else:
            assert trial.budget == 8 and len(steps) == 8
    assert result.best_trial is not None and result.best_trial.status is pt.Status.DONE


def test_stopping_decisions_follow_the_rule_in_report_order() -> None:
    """Replay the rung reports in the order the scheduler got them: a trial goes on exactly
    when it is in the top max(1, floor(n / eta)) of the reports its rung has had."""
    asha = CheckedASHA(min_budget=1, max_budget=8, eta=2, stopping=True)
    result = pt.tune(
        reports_every_epoch,
        SPACE,
        metric="loss",
        scheduler=asha,
        executor="simulated",
        workers=4,
        max_trials=24,
        store=None,
        seed=6,
    )
    at_rung: dict[int, list[float]] = defaultdict(list)
    stops = 0
    for step, loss, go_on in asha.decisions:
        if step not in (1, 2, 4):
            assert go_on
            continue
        at_rung[step].append(loss)
        better = sum(other < loss for other in at_rung[step])
        assert go_on == (better < max(1, len(at_rung[step]) // 2))
        stops += not go_on
    assert stops == sum(t.status is pt.Status.PRUNED for t in result.trial_list) > 0


def test_hyperband_brackets_start_at_their_budgets() -> None:
    hyperband = Hyperband(budget="epochs", min_budget=1, max_budget=8, eta=2)
    result = pt.tune(
        retrains,
        SPACE,
        scheduler=hyperband,
        executor="simulated",
        workers=4,
        max_trials=36,
        store=None,
    )
    first_steps = Counter(
        min(r.step for r in result.report_list if r.trial_id == t.trial_id)
        for t in result.trial_list
    )
    assert first_steps == {1: 16, 2: 12, 4: 8}  # two cycles of 8, 6 and 4
    for trial in result.trial_list:
        start = [1, 2, 4][hyperband.bracket_of(trial.trial_id)]
        steps = sorted(r.step for r in result.report_list if r.trial_id == trial.trial_id)
        assert steps[0] == start


@pytest.mark.parametrize(
    "scheduler",
    [
        lambda: ASHA(min_budget=1, max_budget=8, eta=2),
        lambda: ASHA(min_budget=1, max_budget=8, eta=2, stopping=True),
        lambda: Hyperband(min_budget=1, max_budget=8, eta=2),
        lambda: SuccessiveHalving(min_budget=1, max_budget=8, eta=2),
    ],
)
def test_simulated_multi_fidelity_runs_are_deterministic(scheduler: Any) -> None:
    def run() -> list[tuple[Any, ...]]:
        result = pt.tune(
            reports_every_epoch,
            SPACE,
            metric="loss",
            scheduler=scheduler(),
            executor="simulated",
            workers=5,
            max_trials=30,
            store=None,
            seed=9,
        )
        return [
            (t.trial_id, t.config, t.status, t.value, t.budget, t.started, t.finished)
            for t in result.trial_list
        ] + [tuple(r) for r in result.report_list]

    assert run() == run()


def test_a_stopped_run_resumes_without_promoting_anyone_twice(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    common: dict[str, Any] = dict(
        executor="simulated", workers=4, max_trials=32, store=store, name="asha", seed=8
    )
    first = pt.tune(
        resumes,
        SPACE,
        metric="loss",
        scheduler=ASHA(min_budget=1, max_budget=8, eta=2),
        max_time=20.0,
        **common,
    )
    assert first.stop_reason is pt.StopReason.MAX_TIME
    # A promotion cut short by the stop leaves its trial where it was, not cancelled.
    assert all(t.status is pt.Status.DONE for t in first.trial_list)
    second = pt.tune(
        resumes,
        SPACE,
        metric="loss",
        scheduler=ASHA(min_budget=1, max_budget=8, eta=2),
        resume=True,
        **common,
    )
    assert second.stop_reason is pt.StopReason.MAX_TRIALS
    assert len(second.trial_list) == 32
    counts = reached(second)
    for low, high in itertools_pairs([1, 2, 4, 8]):
        assert counts[high] <= counts[low]
    for trial in second.trial_list:
        assert trial.metrics["epochs"] == trial.budget  # resumed from checkpoints, no retraining


def test_reports_are_stored_and_read_back(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    pt.tune(
        reports_every_epoch,
        REAL,
        metric="loss",
        scheduler=ASHA(min_budget=2, max_budget=4, eta=2),
        max_trials=3,
        store=store,
        name="curves",
    )
    db = SQLiteStore(store, readonly=True)
    db.select("curves")
    reports = db.reports()
    db.close()
    assert {r.trial_id for r in reports} == {0, 1, 2}
    frame = pt.load(store, "curves").reports
    assert list(frame.columns) == ["trial_id", "step", "time", "metric.loss"]
    assert len(frame) == len(reports) and (frame["time"] >= 0).all()


def test_promotion_value_and_budget_for_mode_max() -> None:
    def accuracy(config: dict[str, Any], ctx: pt.Context) -> float:
        assert ctx.budget is not None
        return float(config["q"] * ctx.budget / 8)

    result = pt.tune(
        accuracy,
        SPACE,
        mode="max",
        scheduler=ASHA(min_budget=1, max_budget=8, eta=2),
        executor="simulated",
        workers=2,
        max_trials=16,
        store=None,
    )
    top = [t for t in result.trial_list if t.budget == 8]
    assert top
    # The most accurate configurations were the ones promoted.
    best_q = max(t.config["q"] for t in result.trial_list)
    assert any(t.config["q"] == best_q for t in top)


def test_reports_without_the_tuned_metric_are_kept_with_a_warning() -> None:
    def wrong_name(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.report(1, accuracy=0.5)
        return 0.5

    with pytest.warns(UserWarning, match="reported 'accuracy' but not 'loss'"):
        result = pt.tune(
            wrong_name,
            SPACE,
            metric="loss",
            scheduler=ASHA(min_budget=1, max_budget=2, stopping=True),
            max_trials=3,
            store=None,
        )
    # Each trial's report at step 1, and its result at its budget (2) as a rung result.
    assert [r.step for r in result.report_list] == [1, 2] * 3
    assert all(t.status is pt.Status.DONE for t in result.trial_list)


@pytest.mark.parametrize("searcher", ["sobol", "gp", "cmaes"])
@pytest.mark.parametrize("stopping", [False, True])
def test_any_searcher_feeds_the_schedulers(searcher: str, stopping: bool) -> None:
    space = {"q": pt.Float(0, 1), "r": pt.Float(0, 1), "epoch": 1.0}

    def two_d(config: dict[str, Any], ctx: pt.Context) -> float:
        assert ctx.budget is not None
        loss = 1.0
        for epoch in range(int(ctx.budget)):
            ctx.elapse(1.0)
            loss = (config["q"] - 0.3) ** 2 + (config["r"] - 0.6) ** 2 + 1 / (epoch + 1)
            ctx.report(epoch + 1, loss=loss)
        return loss

    result = pt.tune(
        two_d,
        space,
        metric="loss",
        searcher=searcher,
        scheduler=ASHA(min_budget=1, max_budget=8, eta=2, stopping=stopping),
        executor="simulated",
        workers=4,
        max_trials=24,
        store=None,
        seed=1,
    )
    assert len(result.trial_list) == 24
    assert {t.status for t in result.trial_list} <= {pt.Status.DONE, pt.Status.PRUNED}
    best = result.best_trial
    assert best is not None and best.budget == 8
