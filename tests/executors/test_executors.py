"""Every executor obeys the same contract; then what only some of them can do."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import paratune as pt
from paratune.context import Context
from paratune.executors import (
    Dask,
    Executor,
    LosesWorkers,
    Pacing,
    Processes,
    Serial,
    Simulated,
    Threads,
    make_executor,
    present_workers,
)
from paratune.executors._base import CpuTime
from paratune.testing.executors import ExecutorContract
from paratune.trial import Event, Job

from .._wait import wait_until

# The contract, against every executor that runs without a cluster (test_dask.py has Dask's).


class TestSerial(ExecutorContract):
    workers = 1
    concurrent = False

    def make_executor(self, workers: int) -> Executor:
        return Serial()


class TestThreads(ExecutorContract):
    def make_executor(self, workers: int) -> Executor:
        return Threads(workers)


class TestProcesses(ExecutorContract):
    # The platform's start method; the spawn one's own tests are below.
    def make_executor(self, workers: int) -> Executor:
        return Processes(workers)


class TestSimulated(ExecutorContract):
    def make_executor(self, workers: int) -> Executor:
        return Simulated(workers)


FACTORIES: dict[str, Callable[[], Executor]] = {
    "serial": Serial,
    "threads": lambda: Threads(2),
    "processes-fork": lambda: Processes(2, start_method="fork"),
    "processes-spawn": lambda: Processes(2, start_method="spawn"),
    "simulated": lambda: Simulated(2),
}


def drain(ex: Executor, jobs: list[Job]) -> list[Event]:
    """Submit every job as slots free up; return events in completion order."""
    queue = list(jobs)
    events: list[Event] = []
    while len(events) < len(jobs):
        for _ in range(min(ex.free_slots(), len(queue))):
            ex.submit(queue.pop(0))
        events.extend(ex.completed(timeout=30))
    return events


def jobs_for(configs: list[dict[str, Any]]) -> list[Job]:
    return [Job(i, 1, config, seed=100 + i) for i, config in enumerate(configs)]


def square(config: dict[str, Any]) -> float:
    return float(config["x"]) ** 2


@pytest.mark.parametrize("name", list(FACTORIES))
def test_closures_and_lambdas_reach_workers(name: str) -> None:
    ex = FACTORIES[name]()
    offset = 7
    ex.start(lambda config: config["x"] + offset)
    try:
        assert sorted(e.result for e in drain(ex, jobs_for([{"x": 1}, {"x": 2}]))) == [8, 9]
    finally:
        ex.close()


@pytest.mark.parametrize("name", list(FACTORIES))
def test_worker_indexes_are_the_slots(name: str) -> None:
    ex = FACTORIES[name]()
    ex.start(square)
    try:
        events = drain(ex, jobs_for([{"x": x} for x in range(10)]))
    finally:
        ex.close()
    assert {e.worker for e in events} <= set(range(ex.workers))


def sleeps_virtually(config: dict[str, Any], ctx: Context) -> float:
    ctx.elapse(config["t"])
    return float(config["t"])


def test_simulated_executor_orders_by_virtual_time() -> None:
    ex = Simulated(2)
    ex.start(sleeps_virtually)
    events = drain(ex, jobs_for([{"t": 5.0}, {"t": 1.0}, {"t": 1.0}, {"t": 10.0}]))
    # Greedy on 2 workers: 0 and 1 start at 0; 2 starts at 1 (ends 2); 3 starts at 2 (ends 12).
    assert [(e.trial_id, e.started, e.finished) for e in events] == [
        (1, 0.0, 1.0),
        (2, 1.0, 2.0),
        (0, 0.0, 5.0),
        (3, 2.0, 12.0),
    ]
    assert ex.clock.now() == 12.0


def test_simulated_timeout_advances_the_clock_without_events() -> None:
    ex = Simulated(1)
    ex.start(sleeps_virtually)
    ex.submit(Job(0, 1, {"t": 100.0}, seed=0))
    assert ex.completed(timeout=30) == []
    assert ex.clock.now() == 30.0
    [cancelled] = ex.cancel()
    assert cancelled.cancelled and cancelled.finished - cancelled.started == 30.0


def dies_on_three(config: dict[str, Any]) -> int:
    if config["x"] == 3:
        os._exit(13)
    return int(config["x"])


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_dead_worker_fails_its_job_and_is_replaced(method: str) -> None:
    ex = Processes(2, start_method=method)
    ex.start(dies_on_three)
    try:
        events = {e.trial_id: e for e in drain(ex, jobs_for([{"x": x} for x in range(8)]))}
    finally:
        ex.close()
    assert not events[3].ok
    assert events[3].error is not None and "exit code 13" in events[3].error
    assert all(events[x].ok and events[x].result == x for x in range(8) if x != 3)


def test_a_death_in_a_chunk_fails_only_the_job_that_died() -> None:
    # The worker sends the events of a message's jobs as the message ends (or every 2 ms):
    # those that ended before the death die with it, and are not to blame.
    ex = Processes(1)
    ex.start(dies_on_three)
    try:
        warm = drain(ex, [Job(100 + i, 1, {"x": 0}, seed=0) for i in range(4)])
        assert ex.free_slots() == 8  # 4 trivial jobs in a row: 4 a message, 4 waiting
        for x in range(6):
            ex.submit(Job(x, 1, {"x": x}, seed=x))
        events = {e.trial_id: e for e in drain(ex, [])}
        while len(events) < 6:
            events.update((e.trial_id, e) for e in ex.completed(timeout=30))
    finally:
        ex.close()
    assert all(e.ok for e in warm)
    assert sorted(events) == list(range(6))
    assert not events[3].ok
    assert events[3].error is not None and "exit code 13" in events[3].error
    assert all(events[x].ok and events[x].result == x for x in (0, 1, 2, 4, 5))


def test_unpicklable_objective_gets_a_clear_error() -> None:
    import threading

    lock = threading.Lock()
    ex = Processes(1)
    with pytest.raises(TypeError, match=r"cannot be sent to worker processes.*threads"):
        ex.start(lambda config: lock.locked())


def returns_a_lock(config: dict[str, Any]) -> object:
    import threading

    return threading.Lock()


def test_unpicklable_result_fails_its_job() -> None:
    ex = Processes(1)
    ex.start(returns_a_lock)
    try:
        [event] = drain(ex, jobs_for([{}]))
    finally:
        ex.close()
    assert not event.ok
    assert event.error is not None and "result (lock) cannot be pickled" in event.error


def test_short_jobs_go_to_workers_in_chunks() -> None:
    ex = Processes(2)
    ex.start(square)
    try:
        assert ex.free_slots() == 2
        events = drain(ex, jobs_for([{"x": x} for x in range(200)]))
        assert ex.free_slots() > 2  # trivial jobs: several per worker per round trip
    finally:
        ex.close()
    assert sorted(e.result for e in events) == [float(x * x) for x in range(200)]


def nap(config: dict[str, Any], ctx: Context) -> float:
    ctx.elapse(0.01)
    return float(config["x"])


@pytest.mark.parametrize("kind", [Processes, Threads])
@pytest.mark.parametrize(
    ("pacing", "after"),
    [(None, 4), (Pacing(queue_ahead_below=0.005), 2)],
    ids=["default", "10ms-is-long"],
)
def test_short_jobs_wait_in_line_behind_running_ones(
    kind: type[Processes | Threads], pacing: Pacing | None, after: int
) -> None:
    ex = kind(2, pacing=pacing)
    ex.start(nap)
    try:
        assert ex.free_slots() == 2  # job length unknown: one each
        events = drain(ex, jobs_for([{"x": x} for x in range(4)]))
        # 10 ms jobs: one running and one waiting, each; one each where 10 ms is "long".
        assert ex.free_slots() == after
    finally:
        ex.close()
    assert sorted(e.result for e in events) == [0.0, 1.0, 2.0, 3.0]


def nap_for(config: dict[str, Any], ctx: Context) -> float:
    ctx.elapse(config["seconds"])
    return float(config["seconds"])


def test_present_workers_are_all_workers_unless_the_executor_loses_some() -> None:
    assert present_workers(Processes(3)) == 3  # a dead worker is replaced at once
    assert not isinstance(Processes(3), LosesWorkers)
    dask = Dask(workers=2)  # not started: no survey yet, so every worker counts
    assert isinstance(dask, LosesWorkers) and present_workers(dask) == 2


def one_running_one_waiting(grace: float) -> tuple[Threads, list[float], threading.Event]:
    """One thread, after two steady 10 ms jobs (so one job may wait): job 7 running until
    the event is set, and job 8 waiting in the queue; and the configs' x run so far."""
    ran: list[float] = []
    release = threading.Event()

    def hold(config: dict[str, Any], ctx: Context) -> float:
        ran.append(config["x"])
        if config["x"] == 9.0:
            release.wait(30)
        else:
            ctx.elapse(0.01)
        return float(config["x"])

    ex = Threads(1, grace=grace)
    ex.start(hold)
    drain(ex, jobs_for([{"x": 1.0}, {"x": 2.0}]))
    assert ex.free_slots() == 2
    ex.submit(Job(7, 1, {"x": 9.0}, seed=7))
    ex.submit(Job(8, 1, {"x": 10.0}, seed=8))
    assert ex.free_slots() == 0
    wait_until(lambda: 9.0 in ran, 30, "job 7 to start")
    return ex, ran, release


def test_a_job_waiting_in_the_threads_queue_is_cancelled_without_running() -> None:
    ex, ran, release = one_running_one_waiting(grace=30.0)
    try:
        threading.Timer(0.2, release.set).start()  # job 7 ends while cancel waits for it
        events = ex.cancel()
    finally:
        release.set()
        ex.close()
    outcome = {event.trial_id: event.ok for event in events}
    assert outcome == {7: True, 8: False}  # the waiting one came back cancelled
    assert ran == [1.0, 2.0, 9.0]


def test_a_job_waiting_in_the_threads_queue_never_starts_once_they_are_closed() -> None:
    ex, ran, release = one_running_one_waiting(grace=0.1)
    [thread] = ex._threads
    ex.close()  # as when the driver fails: no cancel first
    release.set()  # job 7 ends now; its thread then takes what the queue holds
    wait_until(lambda: not thread.is_alive(), 30, "the thread to end")
    assert ran == [1.0, 2.0, 9.0]


def test_jobs_whose_run_times_vary_do_not_wait_behind_running_ones() -> None:
    # A job queued behind a long one would wait for it while the other worker sat idle.
    ex = Processes(2)
    ex.start(nap_for)
    try:
        events = drain(ex, jobs_for([{"seconds": s} for s in (0.01, 0.2, 0.01, 0.2)]))
        assert ex.free_slots() == 2  # one per worker, none waiting
    finally:
        ex.close()
    assert sorted(e.result for e in events) == [0.01, 0.01, 0.2, 0.2]


def test_cpu_time_is_taken_only_after_a_job_of_a_millisecond_or_more() -> None:
    ticks = iter(range(100))
    cpu = CpuTime(lambda: float(next(ticks)))
    first = cpu.start()
    assert first is not None and cpu.finish(first, seconds=0.0005) == 1.0
    assert cpu.start() is None  # the last job was shorter than 1 ms: not timed
    assert cpu.finish(None, seconds=0.002) is None
    again = cpu.start()
    assert again is not None and cpu.finish(again, seconds=0.002) == 1.0


def test_serial_trials_record_cpu_time_unless_trivial() -> None:
    def spin(config: dict[str, Any]) -> float:
        end = time.perf_counter() + config["x"]
        while time.perf_counter() < end:
            pass
        return 0.0

    slow = pt.tune(spin, {"x": pt.Float(0.003, 0.004)}, executor="serial", max_trials=3,
                   store=None)  # fmt: skip
    assert all(t.cpu_time is not None and t.cpu_time > 0 for t in slow.trial_list)
    quick = pt.tune(spin, {"x": pt.Float(0, 1e-6)}, executor="serial", max_trials=20,
                    store=None)  # fmt: skip
    untimed = [t.cpu_time is None for t in quick.trial_list]
    assert not untimed[0] and any(untimed[1:])  # the first always; then not after short ones


@pytest.mark.parametrize(
    ("name", "workers", "message"),
    [
        ("gpu", 2, "unknown executor 'gpu'; expected one of serial, threads"),
        ("threads", 0, "workers must be >= 1"),
        ("threads", 2.5, "workers must be a positive integer"),
        ("serial", 4, "executor='serial' runs one job at a time"),
    ],
)
def test_make_executor_errors(name: str, workers: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_executor(name, workers)
