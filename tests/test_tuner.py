"""The Tuner built by hand from real parts (executors, schedulers, searchers, stores): what
it stores, when it commits, what the scheduler is told, and how it resumes."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune._options import TuneOptions
from paratune._trial_list import kept_trials
from paratune.executors import Serial, Simulated
from paratune.schedulers import FIFO, Scheduler, Suggest
from paratune.searchers import Random, Searcher
from paratune.space import Space
from paratune.store import Experiment, MemoryStore, RunTotals, SQLiteStore, Store
from paratune.store._compact import CompactTrials
from paratune.trial import Config, Proposal, Report, Status, Trial
from paratune.tuner import RunOutcome, StopReason, Tuner

from .conftest import quadratic

SPACE = Space({"x": pt.Float(0.0, 1.0), "y": pt.Int(1, 9)})
NAME = "tuned"


def tuner(
    store: Store,
    *,
    objective: Any = quadratic,
    searcher: Searcher | None = None,
    scheduler: Scheduler | None = None,
    workers: int = 3,
    **options: Any,
) -> Tuner:
    """A tuner over `SPACE` with a random searcher, FIFO and simulated workers by default."""
    return Tuner(
        objective,
        space=SPACE,
        searcher=searcher or Random(),
        scheduler=scheduler or FIFO(),
        executor=Simulated(workers=workers),
        store=store,
        **arguments(**options),
    )


def arguments(**options: Any) -> dict[str, Any]:
    """The tuner's options and the experiment they describe, named `NAME`."""
    checked = TuneOptions(name=NAME, **options)
    experiment = Experiment(
        name=NAME,
        space=SPACE.to_dict(),
        metric=checked.objectives.metrics[0],
        mode=checked.objectives.modes[0],
        seed=checked.seed,
        objective="tests.test_tuner:objective",
        settings=checked.stored(),
    )
    return {"options": checked, "experiment": experiment}


def stored(path: Path) -> tuple[list[Trial], list[Report]]:
    """What another connection to the store file reads: what is committed."""
    reader = SQLiteStore(path, readonly=True)
    try:
        reader.select(NAME)
        return reader.trials(), reader.reports()
    finally:
        reader.close()


def test_every_trial_created_is_stored_as_it_ended() -> None:
    store = MemoryStore()
    outcome = tuner(store, max_trials=7, seed=4).run()
    trials = store.trials()
    assert [t.trial_id for t in trials] == list(range(7))
    assert trials == outcome.trials
    assert all(t.status is Status.DONE and t.value == quadratic(t.config) for t in trials)
    assert outcome.stop_reason is StopReason.MAX_TRIALS
    assert store.totals().stop_reason == "max_trials" and store.totals().workers == 3


class CheckingSearcher:
    """A random searcher that, told of a trial, reads the store file from another
    connection and notes whether the trial stands there as it was told."""

    def __init__(self, path: Path) -> None:
        self.inner = Random()
        self.path = path
        self.committed: list[bool] = []

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.inner.setup(space, seed=seed, workers=workers, max_trials=max_trials)

    def suggest(self) -> Config | None:
        return self.inner.suggest()

    def observe(self, trial: Trial) -> None:
        trials, _ = stored(self.path)
        self.committed.append(trial in trials)
        self.inner.observe(trial)


def test_a_result_is_committed_before_the_searcher_hears_of_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    searcher = CheckingSearcher(path)
    tuner(SQLiteStore(path), searcher=searcher, max_trials=6).run()
    assert searcher.committed == [True] * 6


class CheckingScheduler:
    """FIFO that reads the store file from another connection at each report, and that
    notes the id ``suggest`` announces for each new trial it proposes."""

    def __init__(self, path: Path | None = None) -> None:
        self.inner = FIFO()
        self.path = path
        self.reports_committed: list[bool] = []
        self.announced: list[tuple[int, Config]] = []

    def next_job(self, suggest: Suggest) -> Proposal | None:
        trial_id = suggest.trial_id
        proposal = self.inner.next_job(suggest)
        if proposal is not None and proposal.trial_id is None:
            self.announced.append((trial_id, proposal.config))
        return proposal

    def on_result(self, trial: Trial) -> None:
        self.inner.on_result(trial)

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        if self.path is not None:
            _, reports = stored(self.path)
            self.reports_committed.append(
                (trial_id, step) in {(r.trial_id, r.step) for r in reports}
            )
        return self.inner.on_report(trial_id, step, loss)


def curve(config: Config, ctx: pt.Context) -> float:
    """Three reports, then the last one's value."""
    for step in (1, 2, 3):
        ctx.report(step, value=quadratic(config) / step)
    return quadratic(config) / 3


def test_a_report_is_committed_before_the_scheduler_judges_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    scheduler = CheckingScheduler(path)
    Tuner(
        curve,
        space=SPACE,
        searcher=Random(),
        scheduler=scheduler,
        executor=Serial(),
        store=SQLiteStore(path),
        **arguments(max_trials=3),
    ).run()
    assert scheduler.reports_committed == [True] * 9
    trials, reports = stored(path)
    assert [(r.trial_id, r.step) for r in reports] == [(i, s) for i in range(3) for s in (1, 2, 3)]
    assert all(t.status is Status.DONE for t in trials)


def test_the_scheduler_is_told_the_id_each_new_trial_takes() -> None:
    scheduler = CheckingScheduler()
    outcome = tuner(MemoryStore(), scheduler=scheduler, max_trials=5).run()
    assert scheduler.announced == [(t.trial_id, t.config) for t in outcome.trials]
    assert [i for i, _ in scheduler.announced] == list(range(5))


def history(outcome: RunOutcome) -> list[tuple[int, Config, int, Status, float | None]]:
    return [(t.trial_id, t.config, t.seed, t.status, t.value) for t in outcome.trials]


def leave_running(path: Path, trial: Trial) -> None:
    """Store ``trial`` as running, in a session of its own."""
    reader = SQLiteStore(path, readonly=True)
    reader.select(NAME)
    experiment, totals = reader.experiment(), reader.totals()
    reader.close()
    writer = SQLiteStore(path)
    writer.open(experiment, resume=True, overwrite=False)
    writer.save([trial._replace(status=Status.RUNNING, value=None, finished=None)])
    writer.finish(totals)
    writer.close()


def test_a_resumed_run_replays_its_trials_and_runs_again_what_was_running(
    tmp_path: Path,
) -> None:
    whole = tuner(MemoryStore(), max_trials=5, seed=2).run()

    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    first = tuner(store, max_trials=3, seed=2).run()
    assert history(first) == history(whole)[:3]
    store.close()
    # Trial 2 left running, as by a driver killed while it ran.
    leave_running(path, first.trials[2])
    assert [t.status for t in stored(path)[0]] == [Status.DONE, Status.DONE, Status.RUNNING]

    searcher = CheckingSearcher(path)
    scheduler = CheckingScheduler()
    again = tuner(
        SQLiteStore(path),
        searcher=searcher,
        scheduler=scheduler,
        max_trials=5,
        seed=2,
        resume=True,
    ).run()

    assert history(again) == history(whole)
    assert [i for i, _ in scheduler.announced] == [3, 4]  # the ids go on from the stored ones
    assert [t.attempts for t in again.trials] == [1] * 5
    trials, _ = stored(path)
    assert trials == again.trials
    # Trials 0 and 1 were heard of again from the store, then 2, 3 and 4 as they ended.
    assert len(searcher.committed) == 5 and all(searcher.committed)


def first_is_quick(config: Config, ctx: pt.Context) -> float:
    """Trial 0 takes one virtual second, the others five."""
    ctx.elapse(1.0 if ctx.trial_id == 0 else 5.0)
    return quadratic(config)


def test_a_run_stopped_by_its_target_cancels_what_still_runs(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    outcome = tuner(store, objective=first_is_quick, max_trials=50, target=1000.0).run()
    assert outcome.stop_reason is StopReason.TARGET
    statuses = [t.status for t in outcome.trials]
    assert statuses == [Status.DONE, Status.CANCELLED, Status.CANCELLED]
    assert outcome.cancelled_time == 2.0 and outcome.busy_time == 3.0
    assert store.totals() == RunTotals(
        wall_time=outcome.wall_time,
        busy_time=3.0,
        cancelled_time=2.0,
        workers=3,
        stop_reason="target",
    )
    assert store.trials() == outcome.trials


class Unlisted(MemoryStore):
    """A store the tuner knows nothing of: it keeps the trials a run returns itself."""


@pytest.mark.parametrize("make_store", [MemoryStore, Unlisted])
def test_the_driver_keeps_a_few_bytes_per_ended_trial(make_store: type[Store]) -> None:
    store = make_store()
    run = tuner(store, objective=lambda config: config["x"], max_trials=20_000, workers=4)
    gc.collect()
    tracemalloc.start()
    try:
        outcome = run.run()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A Trial with its config dict costs about 700 bytes: the store's columns, and for an
    # unknown store the tuner's, keep the 10 numbers that vary (seed, value, times, x, y).
    per_trial = 200 if make_store is MemoryStore else 300
    assert held / 20_000 < per_trial
    assert outcome.trials == store.trials() and len(outcome.trials) == 20_000


def test_a_promotion_continues_a_trial_the_ledger_reads_back_from_the_store(
    tmp_path: Path,
) -> None:
    space, asha = {"x": pt.Float(0.0, 1.0)}, {"type": "asha", "max_budget": 9, "eta": 3}

    def objective(config: Config, ctx: pt.Context) -> float:
        return float(config["x"]) / (1 + (ctx.budget or 0))

    def run(store: str | None) -> pt.TuneResult:
        return pt.tune(
            objective, space, scheduler=asha, max_trials=60, seed=3, store=store, workers=1
        )

    def decided(result: pt.TuneResult) -> list[tuple[Any, ...]]:
        return [
            (t.trial_id, t.config, t.seed, t.status, t.value, t.budget) for t in result.trial_list
        ]

    memory, stored = run(None), run(str(tmp_path / "runs.db"))
    assert max(t.budget or 0 for t in memory.trial_list) == 9  # promoted twice
    assert decided(memory) == decided(stored)
    assert memory.best_trial.trial_id == stored.best_trial.trial_id  # type: ignore[union-attr]
    assert [(r.trial_id, r.step, r.metrics) for r in memory.report_list] == [
        (r.trial_id, r.step, r.metrics) for r in stored.report_list
    ]


def test_a_run_gives_its_trials_in_columns_and_builds_the_list_when_read() -> None:
    store = MemoryStore()
    outcome = tuner(store, max_trials=50, seed=1).run()
    kept = kept_trials(outcome, "trials")
    assert isinstance(kept, CompactTrials) and len(kept) == 50
    assert "_trials" not in vars(outcome)  # no Trial built yet
    assert outcome.trials == store.trials() and outcome.trials is outcome.trials
    tuner(store, max_trials=60, seed=1, resume=True).run()  # the store goes on
    assert len(kept) == 50 and len(store.trials()) == 60
