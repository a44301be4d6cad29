"""The tuning loop end to end through `paratune.tune`."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Processes, Simulated, Threads

from .conftest import quadratic, seeded

SPACE = {
    "x": pt.Float(0.0, 1.0),
    "lr": pt.Float(1e-4, 1e-1, log=True),
    "layers": pt.Int(1, 4),
    "optimizer": pt.Choice(["adam", "sgd"]),
    "epochs": 10,
}
GRID_SPACE = {"layers": pt.Int(1, 3), "optimizer": ["adam", "sgd"], "batch": [32, 64], "k": 1}


def loss_of(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    return seeded({k: v for k, v in config.items() if k != "optimizer"}, ctx)


def history(result: pt.TuneResult) -> list[tuple[int, Any, Any]]:
    return [(t.trial_id, t.config, t.value) for t in result.trial_list]


@pytest.mark.parametrize("searcher", ["random", "grid", "sobol", "lhs"])
def test_same_seed_same_trials_whatever_the_executor(searcher: str) -> None:
    space = GRID_SPACE if searcher == "grid" else SPACE
    runs = {
        (executor, workers): pt.tune(
            loss_of,
            space,
            metric="loss",
            searcher=searcher,
            executor=executor,
            workers=workers,
            max_trials=12,
            seed=3,
        )
        for executor, workers in [
            ("serial", None),
            ("threads", 2),
            ("processes", 2),
            ("simulated", 8),
            ("threads", 8),
        ]
    }
    baseline = history(runs[("serial", None)])
    assert len(baseline) == 12
    for key, result in runs.items():
        assert history(result) == baseline, key
        assert result.best_value == runs[("serial", None)].best_value


def test_a_different_seed_gives_different_configs() -> None:
    a = pt.tune(quadratic, SPACE, max_trials=5, seed=1)
    b = pt.tune(quadratic, SPACE, max_trials=5, seed=2)
    assert [t.config for t in a.trial_list] != [t.config for t in b.trial_list]
    assert [t.seed for t in a.trial_list] != [t.seed for t in b.trial_list]


def test_grid_runs_every_combination_then_stops() -> None:
    result = pt.tune(quadratic, GRID_SPACE, searcher="grid")
    assert len(result.trial_list) == 3 * 2 * 2
    assert result.stop_reason is pt.StopReason.EXHAUSTED
    assert {
        (t.config["layers"], t.config["optimizer"], t.config["batch"]) for t in result.trial_list
    } == {(lr, o, b) for lr in (1, 2, 3) for o in ("adam", "sgd") for b in (32, 64)}


def test_best_follows_the_mode() -> None:
    low = pt.tune(quadratic, {"x": pt.Float(0, 1)}, max_trials=20, mode="min")
    high = pt.tune(quadratic, {"x": pt.Float(0, 1)}, max_trials=20, mode="max")
    values = [t.value for t in low.trial_list if t.value is not None]
    assert low.best_value == min(values)
    assert high.best_value == max(values)
    assert low.best_config == low.best_trial.config  # type: ignore[union-attr]


def test_points_to_evaluate_come_first() -> None:
    points = [{"x": 0.5, "lr": 0.01, "layers": 2, "optimizer": "sgd"}]
    result = pt.tune(quadratic, SPACE, max_trials=3, points_to_evaluate=points)
    assert result.trial_list[0].config == {**points[0], "epochs": 10}


def flaky(config: dict[str, Any], ctx: pt.Context) -> float:
    if ctx.attempt < 3:
        raise RuntimeError(f"attempt {ctx.attempt} of trial {ctx.trial_id} fails")
    return 1.0


@pytest.mark.parametrize("executor", ["serial", "threads", "processes"])
def test_failures_are_recorded_and_retried(executor: str) -> None:
    workers = None if executor == "serial" else 2
    failed = pt.tune(
        flaky, {"x": pt.Float(0, 1)}, max_trials=3, executor=executor, workers=workers
    )
    assert [t.status for t in failed.trial_list] == [pt.Status.FAILED] * 3
    assert failed.trial_list[0].error == "RuntimeError: attempt 1 of trial 0 fails"
    assert "flaky" in (failed.trial_list[0].traceback or "")
    assert failed.best_trial is None

    retried = pt.tune(
        flaky, {"x": pt.Float(0, 1)}, max_trials=3, executor=executor, workers=workers, retries=2
    )
    assert [(t.status, t.attempts) for t in retried.trial_list] == [(pt.Status.DONE, 3)] * 3


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (math.nan, "returned nan for 'loss'"),
        (math.inf, "returned inf for 'loss'"),
        (None, "returned None for 'loss'; expected a number"),
        ("0.5", "returned str for 'loss'"),
        ({"acc": 0.9}, "result has no 'loss' \\(keys: 'acc'\\)"),
        ({"loss": [1]}, "returned list for 'loss'"),
        (True, "returned bool for 'loss'"),
    ],
)
def test_invalid_results_fail_their_trial(returned: Any, reason: str) -> None:
    result = pt.tune(
        lambda c: returned, {"x": pt.Float(0, 1)}, metric="loss", max_trials=2, retries=3
    )
    trials = result.trial_list
    # Both trials ran, and failed at once: an invalid value is not retried (it would come again).
    assert [(t.status, t.attempts) for t in trials] == [(pt.Status.FAILED, 1)] * 2
    errors = [t.error or "" for t in trials]
    assert all(re.search(reason, error) for error in errors), errors


def test_a_dict_result_keeps_every_metric() -> None:
    result = pt.tune(
        lambda c: {"loss": c["x"], "acc": 1 - c["x"]},
        {"x": pt.Float(0, 1)},
        metric="acc",
        mode="max",
        max_trials=4,
    )
    best = result.best_trial
    assert best is not None and best.value is not None
    assert best.metrics == {"loss": 1 - best.value, "acc": best.value}


def takes_an_hour(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.elapse(3600.0)
    return float(config["x"])


def test_simulated_thousand_hour_trials_on_64_workers() -> None:
    result = pt.tune(
        takes_an_hour, {"x": pt.Float(0, 1)}, executor="simulated", workers=64, max_trials=1000
    )
    assert len(result.trial_list) == 1000
    assert result.wall_time == 16 * 3600.0  # ceil(1000 / 64) rounds of one hour
    assert result.busy_time == 1000 * 3600.0
    assert result.utilisation == pytest.approx(1000 / (64 * 16))


def straggler(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.elapse(0.05 + 0.45 * config["x"])
    return float(config["x"])


def test_asynchronous_beats_synchronous_on_stragglers() -> None:
    kwargs: dict[str, Any] = dict(executor="simulated", workers=8, max_trials=64, seed=0)
    asynchronous = pt.tune(straggler, {"x": pt.Float(0, 1)}, **kwargs)
    synchronous = pt.tune(straggler, {"x": pt.Float(0, 1)}, synchronous=True, **kwargs)
    assert history(asynchronous) == history(synchronous)  # same trials, other schedule
    assert asynchronous.busy_time == pytest.approx(synchronous.busy_time)
    assert asynchronous.wall_time < synchronous.wall_time
    assert asynchronous.utilisation > 0.85 > 0.7 > synchronous.utilisation
    # Synchronous: each batch of 8 waits for its slowest trial.
    durations = [0.05 + 0.45 * t.config["x"] for t in synchronous.trial_list]
    batches = [max(durations[i : i + 8]) for i in range(0, 64, 8)]
    assert synchronous.wall_time == pytest.approx(sum(batches))


def test_target_stops_the_run_and_cancels_running_trials() -> None:
    result = pt.tune(
        straggler,
        {"x": pt.Float(0, 1)},
        executor="simulated",
        workers=8,
        max_trials=1000,
        target=0.05,
        seed=0,
    )
    assert result.stop_reason is pt.StopReason.TARGET
    assert result.best_value is not None and result.best_value <= 0.05
    statuses = [t.status for t in result.trial_list]
    assert statuses.count(pt.Status.CANCELLED) == 7  # the other workers' trials
    assert result.cancelled_time > 0
    cancelled = sum(t.worker_time for t in result.trial_list if t.status is pt.Status.CANCELLED)
    assert result.cancelled_time == pytest.approx(cancelled)
    assert all(
        t.finished == result.wall_time
        for t in result.trial_list
        if t.status is pt.Status.CANCELLED
    )


def test_max_time_is_virtual_under_simulation() -> None:
    result = pt.tune(
        takes_an_hour,
        {"x": pt.Float(0, 1)},
        executor="simulated",
        workers=4,
        max_time=3 * 3600 + 1800,
    )
    assert result.stop_reason is pt.StopReason.MAX_TIME
    assert result.wall_time == 3.5 * 3600
    statuses = [t.status for t in result.trial_list]
    assert statuses.count(pt.Status.DONE) == 12 and statuses.count(pt.Status.CANCELLED) == 4


def test_max_time_in_real_time_with_threads() -> None:
    result = pt.tune(straggler, {"x": pt.Float(0, 1)}, executor="threads", workers=2, max_time=0.3)
    assert result.stop_reason is pt.StopReason.MAX_TIME
    assert 0.3 <= result.wall_time < 5.0
    assert pt.Status.DONE in {t.status for t in result.trial_list}


def interrupted_at_five(config: dict[str, Any], ctx: pt.Context) -> float:
    if ctx.trial_id == 5:
        raise KeyboardInterrupt
    return float(config["x"])


def test_ctrl_c_stops_cleanly_and_keeps_what_finished() -> None:
    result = pt.tune(interrupted_at_five, {"x": pt.Float(0, 1)}, max_trials=100)
    assert result.stop_reason is pt.StopReason.INTERRUPTED
    assert [t.status for t in result.trial_list[:5]] == [pt.Status.DONE] * 5
    assert len(result.trial_list) == 6 and result.trial_list[5].status is pt.Status.INTERRUPTED


def test_trials_table_has_the_documented_columns() -> None:
    result = pt.tune(loss_of, SPACE, metric="loss", max_trials=5)
    frame = result.trials
    assert list(frame.columns) == [
        "trial_id",
        "status",
        "value",
        "config.x",
        "config.lr",
        "config.layers",
        "config.optimizer",
        "config.epochs",
        "metric.loss",
        "metric.seed_part",
        "attempts",
        "seed",
        "budget",
        "submitted",
        "started",
        "finished",
        "duration",
        "worker_time",
        "cpu_time",
        "peak_memory",
        "worker",
        "error",
    ]
    assert len(frame) == 5
    assert (frame["duration"] >= 0).all()
    assert frame["value"].tolist() == [t.value for t in result.trial_list]


def test_progress_callback_sees_the_end() -> None:
    seen: list[pt.Progress] = []
    pt.tune(quadratic, {"x": pt.Float(0, 1)}, max_trials=7, progress=seen.append)
    assert seen[-1].finished and seen[-1].done == 7 and seen[-1].best_value is not None


@pytest.mark.parametrize(
    "make",
    [lambda: Threads(3), lambda: Processes(2), lambda: Simulated(5)],
    ids=["3 threads", "2 processes", "5 simulated"],
)
def test_executor_objects_are_used_as_given(make: Any) -> None:
    executor = make()
    result = pt.tune(quadratic, {"x": pt.Float(0, 1)}, executor=executor, max_trials=6)
    assert result.workers == executor.workers and len(result.trial_list) == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "minimise"}, "mode must be 'min' or 'max', got 'minimise'"),
        ({"max_trials": 0}, "max_trials must be an integer >= 1, got 0"),
        ({"max_trials": 2.5}, "max_trials must be an integer >= 1"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"seed": -3}, r"seed must be an integer in \[0, 2\*\*63\), got -3"),
        ({"max_time": 0}, "max_time must be a finite number of seconds > 0"),
        ({"target": "low"}, "target must be a finite number"),
        ({"metric": ""}, "metric must be a non-empty string"),
        ({"searcher": "bayes"}, "searcher"),
        ({"executor": "gpu"}, "executor: unknown executor 'gpu'"),
        ({"scheduler": "asha2"}, "scheduler: unknown scheduler 'asha2'"),
        ({"workers": 0, "executor": "threads"}, "executor: workers must be >= 1"),
        ({"max_trials": None}, "never runs out of configurations: give max_trials"),
    ],
)
def test_bad_arguments_are_refused_before_any_trial(kwargs: dict[str, Any], message: str) -> None:
    calls: list[Any] = []
    arguments = {"max_trials": 3, **kwargs}
    with pytest.raises(pt.SpecError, match=message):
        pt.tune(calls.append, {"x": pt.Float(0, 1)}, **arguments)
    assert calls == []


@pytest.mark.parametrize(
    ("executor", "workers"), [("serial", None), ("threads", 2), ("processes", 2)]
)
def test_parallel_map_keeps_input_order(executor: str, workers: int | None) -> None:
    configs = [{"x": x} for x in range(20)]
    assert pt.parallel_map(quadratic, configs, workers=workers, executor=executor) == [
        quadratic(c) for c in configs
    ]


def test_parallel_map_raises_the_first_failure() -> None:
    def fails_on_three(config: dict[str, Any]) -> int:
        if config["x"] >= 3:
            raise ValueError(f"no {config['x']}")
        return int(config["x"])

    with pytest.raises(pt.TrialError, match="input 3 failed: ValueError: no 3") as info:
        pt.parallel_map(fails_on_three, [{"x": x} for x in range(6)], workers=2)
    assert info.value.index == 3


def fails_then_hits_target(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.elapse(1.0 + ctx.trial_id)
    if ctx.trial_id == 1:
        raise RuntimeError("always")
    return 0.0


def test_a_trial_still_running_at_the_target_is_cancelled() -> None:
    # Trial 0 hits the target at t=1 while trial 1 (it would fail at t=2) still runs.
    result = pt.tune(
        fails_then_hits_target,
        {"x": pt.Float(0, 1)},
        executor="simulated",
        workers=2,
        max_trials=2,
        target=0.0,
        retries=1,
    )
    statuses = {t.trial_id: t.status for t in result.trial_list}
    assert statuses == {0: pt.Status.DONE, 1: pt.Status.CANCELLED}
    assert all(t.status is not pt.Status.RUNNING for t in result.trial_list)


def fails_fast_then_target(config: dict[str, Any], ctx: pt.Context) -> float:
    if ctx.trial_id == 0:
        ctx.elapse(1.0)
        raise RuntimeError("first attempt fails")
    ctx.elapse(1.0)
    return 0.0


def test_a_failed_trial_queued_for_retry_is_failed_at_stop() -> None:
    # Both end at t=1: trial 0 fails (queued for retry), trial 1 reaches the target.
    result = pt.tune(
        fails_fast_then_target,
        {"x": pt.Float(0, 1)},
        executor="simulated",
        workers=2,
        max_trials=2,
        target=0.0,
        retries=3,
    )
    first = result.trial_list[0]
    assert first.status is pt.Status.FAILED and first.error == "RuntimeError: first attempt fails"
    assert result.stop_reason is pt.StopReason.TARGET


class Recorder:
    """A searcher that draws at random and records what it observes."""

    def __init__(self) -> None:
        self.inner = pt.searchers.Random()
        self.seen: list[tuple[int, float | None]] = []

    def setup(self, space: pt.Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.inner.setup(space, seed=seed, workers=workers, max_trials=max_trials)

    def suggest(self) -> dict[str, Any] | None:
        return self.inner.suggest()

    def observe(self, trial: pt.Trial) -> None:
        self.seen.append((trial.trial_id, trial.value))


def test_searchers_always_minimise_and_see_resumed_trials_again() -> None:
    first = Recorder()
    result = pt.tune(
        lambda c: c["x"],
        {"x": pt.Float(0, 1)},
        mode="max",
        searcher=first,
        max_trials=4,
        store="runs.db",
        name="m",
    )
    assert len(result.trial_list) == 4
    assert first.seen == [(t.trial_id, -t.value) for t in result.trial_list if t.value]
    assert len(first.seen) == 4
    again = Recorder()
    pt.tune(
        lambda c: c["x"],
        {"x": pt.Float(0, 1)},
        mode="max",
        searcher=again,
        max_trials=6,
        store="runs.db",
        name="m",
        resume=True,
    )
    assert again.seen[:4] == first.seen  # the earlier session's trials, replayed in order
    assert len(again.seen) == 6


class Timed(Recorder):
    """A Recorder that measures the seconds spent in its own suggest and observe."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.seconds = 0.0

    def suggest(self) -> dict[str, Any] | None:
        start = time.perf_counter()
        self.calls += 1
        config = super().suggest()
        self.seconds += time.perf_counter() - start
        return config

    def observe(self, trial: pt.Trial) -> None:
        start = time.perf_counter()
        super().observe(trial)
        self.seconds += time.perf_counter() - start


def test_the_searchers_time_is_measured_and_a_stored_result_says_it_was_not() -> None:
    searcher = Timed()
    result = pt.tune(
        quadratic, {"x": pt.Float(0, 1)}, searcher=searcher, max_trials=7, store="t.db", name="t"
    )
    assert result.suggestions == searcher.calls == 7
    # The tuner's clock is around the searcher's own, so it can only read more.
    assert result.searcher_time is not None and result.searcher_time >= searcher.seconds > 0
    assert result.time_per_suggestion == result.searcher_time / 7
    stored = pt.load("t.db", "t")
    assert stored.searcher_time is None and stored.time_per_suggestion is None
    # Resuming asks the searcher once more per stored trial (to keep its sequence): counted.
    again = Timed()
    more = pt.tune(
        quadratic,
        {"x": pt.Float(0, 1)},
        searcher=again,
        max_trials=9,
        store="t.db",
        name="t",
        resume=True,
    )
    assert more.suggestions == again.calls == 9
