"""What ``paratune.executors`` offers the author of an executor, used from outside: an
executor built from those parts alone passes the contract and runs an experiment; the
optional resources hook; and Dask only where a Dask executor connects."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

import paratune as pt
import paratune.executors as executors
from paratune.context import Context
from paratune.executors import (
    Clock,
    Executor,
    Objective,
    Processes,
    ReportHandler,
    Resources,
    Serial,
    Setup,
    Simulated,
    Threads,
    UsesResources,
    make_context,
    run_job,
    run_setup,
    takes_context,
    use_resources,
)
from paratune.testing.executors import ExecutorContract
from paratune.trial import Event, Job, Report


class Monotonic:
    """A clock of one's own: `Clock` is a protocol."""

    virtual = False

    def now(self) -> float:
        return time.monotonic()


class Asked:
    """A report from a job's thread, waiting for the driver's answer."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.answered = threading.Event()
        self.go_on = True


class ThreadPerJob:
    """An executor from the public parts only: each job in a thread of its own, its reports
    handed to the driver within `completed`; the run's setup called once, in the driver, as
    its jobs share one process."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.clock: Clock = Monotonic()
        self._inbox: queue.SimpleQueue[Event | Asked] = queue.SimpleQueue()
        self._running: dict[tuple[int, int], tuple[threading.Thread, Context | None]] = {}
        self._objective: Objective | None = None
        self._on_report: ReportHandler | None = None
        self._prepared: Any = None

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        self._prepared = run_setup(setup, "the driver")
        self._objective, self._on_report = objective, on_report

    def free_slots(self) -> int:
        return self.workers - len(self._running)

    def submit(self, job: Job) -> None:
        assert self._objective is not None
        objective, inbox = self._objective, self._inbox
        ctx = None
        if takes_context(objective):
            ctx = make_context(job, reporter=self._reporter(job), prepared=self._prepared)
        worker = len(self._running)

        def run() -> None:
            inbox.put(run_job(objective, job, ctx, worker=worker, now=self.clock.now))

        thread = threading.Thread(target=run, daemon=True)
        self._running[job.trial_id, job.attempt] = (thread, ctx)
        thread.start()

    def _reporter(self, job: Job) -> Any:
        def report(step: int, metrics: Mapping[str, Any]) -> bool:
            asked = Asked(Report(job.trial_id, job.attempt, step, metrics, self.clock.now()))
            self._inbox.put(asked)
            asked.answered.wait()
            return asked.go_on

        return report

    def completed(self, timeout: float | None = None) -> list[Event]:
        events: list[Event] = []
        while self._running and not events:
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                return []
            if isinstance(item, Asked):
                handler = self._on_report
                item.go_on = handler is None or handler(item.report)
                item.answered.set()
            else:
                del self._running[item.trial_id, item.attempt]
                events.append(item)
        return events

    def cancel(self) -> list[Event]:
        for _, ctx in self._running.values():
            if ctx is not None:
                ctx.cancel()
        self._on_report = None  # a report from now on goes on, unanswered
        events: list[Event] = []
        while self._running:
            events += self.completed(timeout=10)
        return events

    def close(self) -> None:
        for thread, _ in list(self._running.values()):
            thread.join(timeout=10)


class TestThreadPerJob(ExecutorContract):
    def make_executor(self, workers: int) -> Executor:
        return ThreadPerJob(workers)


def test_an_executor_of_ones_own_runs_an_experiment() -> None:
    result = pt.tune(lambda config: config["x"] ** 2, {"x": pt.Float(-1, 1)},
                     executor=ThreadPerJob(3), max_trials=9, store=None)  # fmt: skip
    assert [t.status for t in result.trial_list] == [pt.Status.DONE] * 9
    assert result.workers == 3


def test_the_parts_for_executor_authors_are_exported_with_docstrings() -> None:
    parts = ["Clock", "ReportHandler", "UsesResources", "make_context", "run_job",
             "takes_context", "Pacing", "SetupError", "run_setup", "takes_setup",
             "chosen_executor"]  # fmt: skip
    for name in parts:
        assert name in executors.__all__
        assert getattr(executors, name).__doc__, name
    assert {"Objective", "Setup"} <= set(executors.__all__)  # type aliases: no docstrings


def test_run_job_turns_what_happens_into_an_event() -> None:
    def objective(config: dict[str, Any], ctx: Context) -> float:
        ctx.report(1, loss=0.5)
        return float(config["x"]) + ctx.seed

    job = Job(4, 2, {"x": 1}, seed=10, budget=3.0)
    reports: list[tuple[int, Mapping[str, Any]]] = []

    def reporter(step: int, metrics: Mapping[str, Any]) -> bool:
        reports.append((step, metrics))
        return True

    ctx = make_context(job, reporter=reporter)
    assert (ctx.trial_id, ctx.attempt, ctx.seed, ctx.budget) == (4, 2, 10, 3.0)
    ticks = iter([100.0, 101.5])
    event = run_job(objective, job, ctx, worker=3, now=lambda: next(ticks))
    assert (event.trial_id, event.attempt, event.ok, event.result) == (4, 2, True, 11.0)
    assert (event.started, event.finished, event.worker) == (100.0, 101.5, 3)
    assert reports == [(1, {"loss": 0.5})]
    assert takes_context(objective) and not takes_context(lambda config: 0)


def test_only_executors_with_the_resources_hook_take_resources() -> None:
    assert isinstance(Processes(1), UsesResources)
    assert isinstance(executors.Dask(), UsesResources)  # not started: nothing connects
    for executor in (Serial(), Threads(1), Simulated(1), ThreadPerJob(1)):
        assert not isinstance(executor, UsesResources)
        with pytest.raises(ValueError) as refused:
            use_resources(executor, {"cpus": 1})
        name = type(executor).__name__
        assert str(refused.value) == f"resources need executor='processes' or 'dask', got {name}"
    assert use_resources(Threads(1), None) is None  # no resources asked: nothing to honour


def test_an_executor_of_ones_own_may_take_resources() -> None:
    class Pinned(ThreadPerJob):
        given: Resources | None = None

        def use_resources(self, resources: Resources) -> None:
            self.given = resources

    executor = Pinned(2)
    assert isinstance(executor, UsesResources)
    assert use_resources(executor, {"cpus": 2}) == executor.given == Resources(cpus=2)


def _imported_after(code: str) -> set[str]:
    """The top-level modules a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return {name.split(".")[0] for name in done.stdout.split()}


def test_importing_paratune_imports_no_dask() -> None:
    loaded = _imported_after(
        "import paratune, paratune.executors, paratune.testing.executors\n"
        "paratune.executors.Dask('tcp://head:8786')"  # made, never connected
    )
    assert "paratune" in loaded
    assert not loaded & {"dask", "distributed"}


def test_every_executor_module_imports_without_dask() -> None:
    code = (
        "import sys, importlib, pkgutil\n"
        "sys.modules['distributed'] = sys.modules['dask'] = None\n"
        "import paratune.executors as package\n"
        "for module in pkgutil.iter_modules(package.__path__):\n"
        "    importlib.import_module(f'paratune.executors.{module.name}')\n"
        "print(len(list(pkgutil.iter_modules(package.__path__))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 17
