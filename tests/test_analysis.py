"""Analysis of a run, checked against timelines worked out by hand."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

import paratune as pt
from paratune import analysis
from paratune.executors import Threads
from paratune.trial import Report

# Job name -> virtual seconds. Two workers, one retry allowed, max_time=7:
#   w0: ok3 0-3, ok1 3-4, fail2 (2nd attempt) 4-6, idle 6-7
#   w1: flaky1 (1st attempt, fails) 0-1, flaky1 (2nd) 1-2, fail2 (1st) 2-4, long10 4-7 cancelled
MIXED = {"ok3": 3, "flaky1": 1, "fail2": 2, "ok1": 1, "long10": 10}


def mixed(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.elapse(MIXED[config["job"]])
    if config["job"] == "fail2" or (config["job"] == "flaky1" and ctx.attempt == 1):
        raise RuntimeError("fails on purpose")
    return float(MIXED[config["job"]])


def run_mixed() -> pt.TuneResult:
    return pt.tune(mixed, {"job": pt.Choice(list(MIXED))}, searcher="grid", retries=1,
                   executor="simulated", workers=2, max_time=7, store=None)  # fmt: skip


# Two workers in synchronous batches: [3, 1], [2, 2], [1]:
#   w0: 0-3, 3-5, 5-6;  w1: 0-1, idle 1-3 (the batch waits), 3-5, idle 5-6 (no work left)
BATCHES = {"a3": 3, "b1": 1, "c2": 2, "d2": 2, "e1": 1}


def run_batches() -> pt.TuneResult:
    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(BATCHES[config["job"]])
        return float(BATCHES[config["job"]])

    return pt.tune(objective, {"job": pt.Choice(list(BATCHES))}, searcher="grid",
                   executor="simulated", workers=2, synchronous=True, store=None)  # fmt: skip


def test_efficiency_of_a_run_with_failures_retries_and_a_cancel() -> None:
    summary = analysis.efficiency_summary(run_mixed())
    assert summary.workers == 2 and summary.wall_time == 7.0
    assert summary.capacity == 14.0
    assert summary.busy_time == 3 + 1 + 1 + 2 + 1 + 2 + 3  # every attempt
    assert summary.concurrency == pytest.approx(13 / 7)
    assert summary.utilisation == pytest.approx(13 / 14)
    assert summary.useful_time == 3 + 1 + 1  # ok3, flaky1's 2nd attempt, ok1
    assert summary.retried_time == 1  # flaky1's 1st attempt
    assert summary.failed_time == 2 + 2  # both attempts of fail2
    assert summary.cancelled_time == 3  # long10 from 4 to 7
    assert summary.idle_time == 1.0
    assert summary.tail_idle == 1.0  # w0 from 6 to 7
    assert summary.startup_idle == summary.between_idle == 0.0
    table = summary.breakdown()
    assert table["seconds"].sum() == pytest.approx(summary.capacity)
    assert table["share"].sum() == pytest.approx(1.0)


def test_efficiency_of_synchronous_batches_splits_the_idle_time() -> None:
    summary = analysis.efficiency_summary(run_batches())
    assert (summary.wall_time, summary.busy_time, summary.capacity) == (6.0, 9.0, 12.0)
    assert summary.concurrency == 1.5 and summary.utilisation == 0.75
    assert summary.useful_time == 9.0
    assert summary.between_idle == 2.0  # w1 waiting for the first batch's slowest trial
    assert summary.tail_idle == 1.0  # w1 with nothing left in the last batch
    assert summary.startup_idle == 0.0


def test_a_worker_that_never_ran_waited_the_whole_run() -> None:
    result = pt.tune(lambda c, ctx: ctx.elapse(2) or 0.0, {"x": 1}, executor="simulated",
                     workers=3, max_trials=1, store=None)  # fmt: skip
    summary = analysis.efficiency_summary(result)
    assert (summary.capacity, summary.busy_time, summary.tail_idle) == (6.0, 2.0, 4.0)
    assert summary.utilisation == pytest.approx(1 / 3)


@pytest.mark.parametrize(("lost", "kept"), [(2.0, 2.0), (3.0, 3.0), (5.0, 3.0), (20.0, 3.0)])
def test_absence_counts_only_what_busy_time_leaves(lost: float, kept: float) -> None:
    # Busy 9 of a capacity of 12 (run_batches). A departing worker may end its last job
    # after the run counted it absent: those seconds are busy, never also absent.
    result = dataclasses.replace(run_batches(), lost_time=lost)
    summary = analysis.efficiency_summary(result)
    assert (summary.busy_time, summary.capacity) == (9.0, 12.0)
    assert summary.lost_time == kept
    assert summary.idle_time == 12.0 - 9.0 - summary.lost_time
    assert summary.breakdown()["seconds"].sum() == pytest.approx(summary.capacity)


def test_busy_worker_time_is_named_concurrency_and_utilisation_not_speedup() -> None:
    result = run_mixed()
    summary = analysis.efficiency_summary(result)
    assert result.concurrency == summary.concurrency == pytest.approx(13 / 7)
    assert result.utilisation == summary.utilisation == pytest.approx(13 / 14)
    assert "utilisation=0.929" in repr(result) and "efficiency" not in repr(result)


@pytest.mark.parametrize("summarised", [False, True], ids=["result", "summary"])
@pytest.mark.parametrize(("old", "new"), [("speedup", "concurrency"),
                                          ("efficiency", "utilisation")])  # fmt: skip
def test_the_old_names_warn_and_say_the_same(summarised: bool, old: str, new: str) -> None:
    result = run_mixed()
    holder: Any = analysis.efficiency_summary(result) if summarised else result
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: it is .*{new}"):
        value = getattr(holder, old)
    assert value == getattr(holder, new) > 0


def test_utilisation_is_the_busy_worker_count_over_time() -> None:
    table = analysis.utilisation(run_batches())
    assert table["time"].tolist() == [0.0, 1.0, 3.0, 5.0, 6.0]
    assert table["busy"].tolist() == [2, 1, 2, 1, 0]
    assert table["utilisation"].tolist() == [1.0, 0.5, 1.0, 0.5, 0.0]


def test_timeline_has_one_bar_per_trial_on_its_worker() -> None:
    bars = analysis.timeline(run_batches())
    assert bars[["worker", "start", "end"]].values.tolist() == [
        [0, 0.0, 3.0], [0, 3.0, 5.0], [0, 5.0, 6.0], [1, 0.0, 1.0], [1, 3.0, 5.0]
    ]  # fmt: skip
    assert set(bars["status"]) == {"done"}


@pytest.mark.parametrize(
    ("mode", "best"), [("min", [1.0] * 5), ("max", [1.0, 3.0, 3.0, 3.0, 3.0])]
)
def test_best_so_far_follows_the_finish_order(mode: str, best: list[float]) -> None:
    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(BATCHES[config["job"]])
        return float(BATCHES[config["job"]])

    result = pt.tune(objective, {"job": pt.Choice(list(BATCHES))}, searcher="grid",
                     mode=mode, executor="simulated", workers=2, synchronous=True,
                     store=None)  # fmt: skip
    table = analysis.best_so_far(result)
    assert table["time"].tolist() == [1.0, 3.0, 5.0, 5.0, 6.0]
    assert table["value"].tolist() == [1.0, 3.0, 2.0, 2.0, 1.0]
    assert table["best"].tolist() == best


def test_best_so_far_of_a_run_with_no_result_is_empty() -> None:
    result = pt.tune(lambda c: math.nan, {"x": pt.Float(0, 1)}, max_trials=2, store=None)
    assert analysis.best_so_far(result).empty


def test_resources_in_core_hours() -> None:
    result = run_mixed()
    used = analysis.resources(result)
    assert used.run_core_hours == pytest.approx(14 / 3600)
    assert used.trial_core_hours == pytest.approx(13 / 3600)
    # The simulated executor's trials run in the driver: their CPU time is measured or not
    # as the executor decides; whichever it is, the per-trial table says the same.
    table = analysis.trial_resources(result)
    assert table["worker_time"].tolist() == [3.0, 2.0, 4.0, 1.0, 3.0]
    assert (used.cpu_hours is None) == bool(table["cpu_time"].isna().all())


def test_resources_of_a_real_run_record_cpu_time_and_memory() -> None:
    def busy(config: dict[str, Any]) -> float:
        return float(sum(i * i for i in range(200_000)))

    result = pt.tune(busy, {"x": pt.Float(0, 1)}, executor="processes", workers=2,
                     max_trials=4, store=None)  # fmt: skip
    used = analysis.resources(result)
    assert used.cpu_hours is not None and used.cpu_hours > 0
    assert used.peak_memory is not None and used.peak_memory > 1 << 20
    assert analysis.trial_resources(result)["cpu_time"].gt(0).all()


def test_what_if_replays_the_recorded_durations() -> None:
    table = analysis.what_if(run_batches(), workers=[1, 2, 3, 5])
    # Durations 3, 1, 2, 2, 1 in trial order, each to the first free worker, no barrier.
    assert table["time"].tolist() == [9.0, 5.0, 3.0, 3.0]
    assert table["speedup_vs_sequential"].tolist() == [1.0, 1.8, 3.0, 3.0]
    assert table["efficiency"].tolist() == [1.0, 0.9, 1.0, 0.6]
    assert analysis.what_if(run_batches())["number_of_workers"].tolist() == [1, 2, 4]


@pytest.mark.parametrize("workers", [[0], [1, -2], [], [True]])
def test_what_if_refuses_bad_worker_counts(workers: list[Any]) -> None:
    with pytest.raises(ValueError, match="workers"):
        analysis.what_if(run_batches(), workers=workers)


def test_scaling_table_needs_a_sequential_time() -> None:
    table = analysis.scaling_table([1, 2, 4], [8.0, 4.0, 4.0])
    assert table["efficiency"].tolist() == [1.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="include 1"):
        analysis.scaling_table([2, 4], [4.0, 2.0])
    with pytest.raises(ValueError, match="2 worker counts but 1 times"):
        analysis.scaling_table([1, 2], [4.0])


def test_scaling_table_keeps_the_start_up_apart_and_takes_counts_in_any_order() -> None:
    table = analysis.scaling_table([2, 1], [4.0, 6.0], startup=[0.5, 0.3])
    assert table["speedup_vs_sequential"].tolist() == [1.5, 1.0]
    assert table["efficiency"].tolist() == [0.75, 1.0]
    assert table["startup"].tolist() == [0.5, 0.3]
    assert "startup" not in analysis.scaling_table([1], [1.0]).columns
    with pytest.raises(ValueError, match="worker counts"):
        analysis.scaling_table([1, 2], [4.0, 2.0], startup=[0.1])


def test_what_if_predicts_a_real_eight_worker_run_within_ten_percent() -> None:
    def sleepy(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(0.05 + 0.1 * ((config["i"] * 37) % 48) / 47)  # 50 to 150 ms, mixed
        return 0.0

    result = pt.tune(sleepy, {"i": pt.Int(0, 47)}, searcher="grid", executor=Threads(8),
                     store=None)  # fmt: skip
    assert len(result.trial_list) == 48
    predicted = float(analysis.what_if(result, workers=[8])["time"].iloc[0])
    assert abs(predicted - result.wall_time) / result.wall_time < 0.10, (
        predicted,
        result.wall_time,
    )


def test_learning_curves_from_reports() -> None:
    result = run_batches()
    reports = [Report(0, 1, 2, {"loss": 0.5}, 1.0), Report(0, 1, 1, {"loss": 0.9}, 0.5)]
    table = analysis.learning_curves(dataclasses.replace(result, report_list=reports))
    assert table["step"].tolist() == [1, 2]
    assert table["metric.loss"].tolist() == [0.9, 0.5]
    assert table["status"].tolist() == ["done", "done"]
    assert analysis.learning_curves(result).empty


@pytest.mark.parametrize("stopping", [False, True])
def test_continued_and_pruned_trials_count_as_useful_work(stopping: bool) -> None:
    from paratune.schedulers import ASHA

    def train(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
        loss = 1.0
        for step in range(ctx.start_step + 1, int(ctx.budget or 8) + 1):
            ctx.elapse(0.1)
            loss = 1 / step + config["x"]
            ctx.report(step, loss=loss)
        return {"loss": loss}

    result = pt.tune(train, {"x": pt.Float(0, 1)}, metric="loss", executor="simulated",
                     scheduler=ASHA(min_budget=1, max_budget=8, eta=2, stopping=stopping),
                     workers=4, max_trials=20, store=None)  # fmt: skip
    summary = analysis.efficiency_summary(result)
    assert summary.retried_time == summary.failed_time == 0.0
    assert summary.useful_time == pytest.approx(summary.busy_time)
    curves = analysis.learning_curves(result)
    statuses = set(curves["status"])
    assert statuses == ({"done", "pruned"} if stopping else {"done"})
    assert len(curves) == len(result.report_list)
