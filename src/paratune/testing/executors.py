"""`ExecutorContract`: the behaviour every executor owes the tuner, as pytest tests.

The contract drives an executor through the `Executor` protocol as the tuner does (start,
free_slots, submit, completed, cancel, close, its clock), with the objectives of this module,
and checks what comes back: every job's event once, results as jobs end rather than in
submission order, a failure kept to its own job, reports handled in the driver, cancellation,
as many jobs at once as the executor has workers, and the run's setup: called once per worker
before its first job, its result each job's ``ctx.prepared``, its time no job's, its failure
a `SetupError` before any job runs. (The setup checks are skipped for an executor whose
``start`` takes no ``setup`` keyword: `tune` refuses a setup for it.)

Subclass `ExecutorContract` to check an executor of your own::

    from paratune.testing.executors import ExecutorContract

    class TestMyExecutor(ExecutorContract):
        def make_executor(self, workers):
            return MyExecutor(workers)
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..context import Context
from ..executors import Executor, Objective, ReportHandler, Setup, SetupError, takes_setup
from ..trial import Event, Job, Report

__all__ = ["ExecutorContract"]

# The longest a trial that waits for the test's go-ahead runs (seconds, in steps of
# `_STEP`): an executor on a virtual clock never sees the go-ahead, and ends it then.
_HOLD_STEPS = 6000
_STEP = 0.01


# ---- objectives: module level, so that every executor can send them to its workers ----------

# Seconds the slow setup takes: start-up that no job's span may include.
_SETUP_SECONDS = 0.5


def square(config: dict[str, Any]) -> float:
    """``x`` squared: a trivial objective of the config alone."""
    return float(config["x"]) ** 2


def identify(config: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """What the objective's context says about its job."""
    return {
        "trial_id": ctx.trial_id,
        "attempt": ctx.attempt,
        "seed": ctx.seed,
        "budget": ctx.budget,
        "start_step": ctx.start_step,
    }


def fails_on_odd(config: dict[str, Any]) -> int:
    """Raises `ValueError` for an odd ``x``; returns ``x`` otherwise."""
    if config["x"] % 2:
        raise ValueError(f"odd x={config['x']}")
    return int(config["x"])


def naps(config: dict[str, Any], ctx: Context) -> float:
    """Spends ``t`` seconds of its trial's time (virtual ones on a virtual clock)."""
    ctx.elapse(config["t"])
    return float(config["t"])


def reports_four_steps(config: dict[str, Any], ctx: Context) -> float:
    """Reports steps 1 to 4 (``value`` = the step), then returns 0."""
    for step in range(1, 5):
        ctx.report(step, value=float(step))
    return 0.0


def holds(config: dict[str, Any], ctx: Context) -> str:
    """With ``hold``: says it started (a file ``started-ID`` in ``folder``), then runs in
    small steps until a file ``go`` appears there, it is cancelled, or a minute has passed
    on its clock. Without: returns at once."""
    if not config["hold"]:
        return "quick"
    folder = Path(config["folder"])
    (folder / f"started-{ctx.trial_id}").touch()
    for _ in range(_HOLD_STEPS):
        if (folder / "go").exists():
            return "went"
        ctx.elapse(_STEP)  # raises TrialCancelled once cancelled
    return "held to the end"


def leaves_a_mark(config: dict[str, Any]) -> str:
    """Leaves a file ``ran-X`` in ``folder``: the job ran."""
    (Path(config["folder"]) / f"ran-{config['x']}").touch()
    return "ran"


def prepared(config: dict[str, Any], ctx: Context) -> Any:
    """What the setup of the worker running the job prepared: ``ctx.prepared``."""
    return ctx.prepared


def counted_setup(folder: str) -> str:
    """A setup (with ``functools.partial``): leaves a file ``setup-TOKEN`` in ``folder``
    and returns the token, new at each call."""
    token = uuid.uuid4().hex
    (Path(folder) / f"setup-{token}").touch()
    return token


def slow_setup() -> str:
    """A setup that takes half a second (real time), and returns ``"rested"``."""
    time.sleep(_SETUP_SECONDS)
    return "rested"


def failing_setup() -> None:
    """A setup that raises `ValueError`."""
    raise ValueError("the setup failed on purpose")


class ExecutorContract(ABC):
    """Tests every executor must pass: the `Executor` protocol as the tuner relies on it.
    Subclass it in a test module, in a class whose name starts with ``Test``, and implement
    `make_executor`.

    The objectives are functions of this module, so an executor that sends them to other
    processes or machines must be able to import ``paratune`` there. Some checks coordinate
    with running trials through files in pytest's ``tmp_path``, which the workers must see.

    Class attributes tune the checks:

    Attributes:
        workers: how many workers the executors under test get.
        concurrent: whether jobs run while the driver waits in `Executor.completed`. False
            for an executor that runs each job inside `Executor.submit` (as `Serial` does):
            the checks that need a job still running are skipped.
        deadline: seconds (real ones) any one check may wait for its jobs before it fails.
        set_up_workers: the most workers the run's setup may run on (None: ``workers``);
            more where the executor's workers are a share of a cluster's, each of which
            runs the setup.
    """

    workers: ClassVar[int] = 2
    concurrent: ClassVar[bool] = True
    deadline: ClassVar[float] = 60.0
    set_up_workers: ClassVar[int | None] = None

    @abstractmethod
    def make_executor(self, workers: int) -> Executor:
        """Return a new executor with ``workers`` workers, not started."""

    # ---- helpers --------------------------------------------------------------------------

    @contextlib.contextmanager
    def started(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        setup: Setup | None = None,
    ) -> Iterator[Executor]:
        """A new executor, started with ``objective`` (and ``setup``, where given: the check
        is skipped for an executor that takes none); closed on the way out."""
        executor = self.make_executor(self.workers)
        try:
            if setup is None:
                executor.start(objective, on_report)
            else:
                self.needs_setup(executor)
                executor.start(objective, on_report, setup=setup)
            yield executor
        finally:
            executor.close()

    def run_all(self, executor: Executor, jobs: list[Job]) -> list[Event]:
        """Submit ``jobs`` as slots free up and return their events in the order they came."""
        waiting = list(jobs)
        events: list[Event] = []
        end = time.monotonic() + self.deadline
        while len(events) < len(jobs):
            for _ in range(min(executor.free_slots(), len(waiting))):
                executor.submit(waiting.pop(0))
            events += self.collect(executor, end)
        return events

    def collect(self, executor: Executor, end: float) -> list[Event]:
        """One `Executor.completed`, failing the check once ``end`` (monotonic) has passed."""
        left = end - time.monotonic()
        assert left > 0, f"jobs still in flight after {self.deadline:g} s"
        return executor.completed(timeout=min(left, 1.0))

    def collect_at_least(self, executor: Executor, count: int) -> list[Event]:
        """Call `Executor.completed` until ``count`` events or more have come."""
        end = time.monotonic() + self.deadline
        events: list[Event] = []
        while len(events) < count:
            events += self.collect(executor, end)
        return events

    def wait_for(self, path: Path) -> None:
        """Poll for a file that a trial writes."""
        end = time.monotonic() + self.deadline
        while not path.exists():
            assert time.monotonic() < end, f"{path.name} never appeared"
            time.sleep(0.005)

    def needs_setup(self, executor: Executor) -> None:
        """Skip a check of the setup for an executor whose ``start`` takes none."""
        if not takes_setup(executor):
            pytest.skip("this executor's start() takes no setup keyword")

    def needs_concurrency(self) -> None:
        """Skip a check that needs a job still running while the driver waits."""
        if not self.concurrent:
            pytest.skip("this executor runs each job inside submit(): none is ever in flight")

    # ---- the checks -----------------------------------------------------------------------

    def test_workers_is_the_number_asked_for(self) -> None:
        executor = self.make_executor(self.workers)
        try:
            assert executor.workers == self.workers
        finally:
            executor.close()

    def test_runs_every_job_once_with_its_result(self) -> None:
        jobs = [Job(i, 1, {"x": i}, seed=100 + i) for i in range(12)]
        with self.started(square) as executor:
            events = self.run_all(executor, jobs)
        assert sorted(e.trial_id for e in events) == list(range(12))
        for event in events:
            assert event.ok and event.error is None and event.traceback is None
            assert event.result == float(event.trial_id**2)
            assert event.attempt == 1
            assert not (event.cancelled or event.pruned)
            assert event.finished >= event.started
            assert event.worker >= 0

    def test_the_objective_gets_its_jobs_context(self) -> None:
        jobs = [
            Job(0, 1, {}, seed=7),
            Job(1, 3, {}, seed=8, budget=9.0, start_step=4),
        ]
        with self.started(identify) as executor:
            events = {e.trial_id: e for e in self.run_all(executor, jobs)}
        assert events[0].result == {
            "trial_id": 0, "attempt": 1, "seed": 7, "budget": None, "start_step": 0
        }  # fmt: skip
        assert events[1].result == {
            "trial_id": 1, "attempt": 3, "seed": 8, "budget": 9.0, "start_step": 4
        }  # fmt: skip
        assert events[1].attempt == 3

    def test_an_exception_fails_only_its_job(self) -> None:
        jobs = [Job(x, 1, {"x": x}, seed=x) for x in range(6)]
        with self.started(fails_on_odd) as executor:
            events = {e.trial_id: e for e in self.run_all(executor, jobs)}
        assert {x: e.ok for x, e in events.items()} == {x: x % 2 == 0 for x in range(6)}
        assert all(events[x].result == x for x in (0, 2, 4))
        failed = events[3]
        assert failed.result is None and not failed.cancelled
        assert failed.error == "ValueError: odd x=3"
        assert failed.traceback is not None and "fails_on_odd" in failed.traceback

    def test_a_failed_job_runs_again_as_its_next_attempt(self) -> None:
        with self.started(fails_on_odd) as executor:
            [first] = self.run_all(executor, [Job(0, 1, {"x": 1}, seed=0)])
            [second] = self.run_all(executor, [Job(0, 2, {"x": 1}, seed=0)])
        assert (first.trial_id, first.attempt, first.ok) == (0, 1, False)
        assert (second.trial_id, second.attempt, second.ok) == (0, 2, False)

    def test_free_slots_offer_every_worker_and_fall_as_jobs_are_submitted(self) -> None:
        with self.started(square) as executor:
            free = executor.free_slots()
            assert free >= self.workers  # an idle executor takes a job for each worker
            for trial_id in range(free):
                executor.submit(Job(trial_id, 1, {"x": trial_id}, seed=trial_id))
            assert executor.free_slots() == 0  # until completed() takes their events
            events = self.collect_at_least(executor, free)
            assert executor.free_slots() >= self.workers
        assert sorted(e.trial_id for e in events) == list(range(free))

    def test_completed_with_nothing_in_flight_returns_at_once(self) -> None:
        with self.started(square) as executor:
            assert executor.completed(timeout=0) == []
            assert executor.completed() == []  # None waits only while a job is in flight

    def test_completed_returns_nothing_when_its_timeout_passes_first(self, tmp_path: Path) -> None:
        self.needs_concurrency()
        config = {"folder": str(tmp_path), "hold": True}
        with self.started(holds) as executor:
            executor.submit(Job(0, 1, config, seed=0))
            assert executor.completed(timeout=0) == []
            assert executor.completed(timeout=0.05) == []
            (tmp_path / "go").touch()
            [event] = self.collect_at_least(executor, 1)
        assert event.trial_id == 0 and event.ok

    def test_results_come_as_jobs_end_not_in_submission_order(self, tmp_path: Path) -> None:
        self.needs_concurrency()
        jobs = [
            Job(0, 1, {"folder": str(tmp_path), "hold": True}, seed=0),
            Job(1, 1, {"folder": str(tmp_path), "hold": False}, seed=1),
        ]
        with self.started(holds) as executor:
            for job in jobs:
                executor.submit(job)
            first = self.collect_at_least(executor, 1)  # job 0 is held: only job 1 can end
            (tmp_path / "go").touch()
            second = self.collect_at_least(executor, 1)
        assert [e.trial_id for e in first + second] == [1, 0]
        assert first[0].result == "quick" and second[0].ok

    def test_reports_reach_the_handler_in_the_driver_and_its_answer_stops_the_trial(
        self,
    ) -> None:
        driver = threading.get_ident()
        seen: list[tuple[int, int, int, dict[str, Any]]] = []

        def on_report(report: Report) -> bool:
            assert threading.get_ident() == driver, "a report handled outside the driver"
            seen.append((report.trial_id, report.attempt, report.step, dict(report.metrics)))
            return not (report.trial_id == 1 and report.step >= 2)

        jobs = [Job(0, 1, {}, seed=0), Job(1, 2, {}, seed=1)]
        with self.started(reports_four_steps, on_report) as executor:
            events = {e.trial_id: e for e in self.run_all(executor, jobs)}
        steps = {trial: [s for t, _, s, _ in seen if t == trial] for trial in (0, 1)}
        assert steps == {0: [1, 2, 3, 4], 1: [1, 2]}
        assert all(m == {"value": float(s)} for _, _, s, m in seen)
        assert {(t, a) for t, a, _, _ in seen} == {(0, 1), (1, 2)}
        assert events[0].ok and not events[0].pruned and events[0].result == 0.0
        stopped = events[1]
        assert stopped.ok and stopped.pruned and not stopped.cancelled
        assert stopped.result == {"value": 2.0}  # the metrics of its last report

    def test_cancel_stops_the_jobs_in_flight(self, tmp_path: Path) -> None:
        self.needs_concurrency()
        config = {"folder": str(tmp_path), "hold": True}
        with self.started(holds) as executor:
            for trial_id in range(self.workers):
                executor.submit(Job(trial_id, 1, config, seed=trial_id))
            assert executor.completed(timeout=0) == []  # sends them; none has ended
            for trial_id in range(self.workers):
                self.wait_for(tmp_path / f"started-{trial_id}")
            events = executor.cancel()
        assert sorted(e.trial_id for e in events) == list(range(self.workers))
        for event in events:
            assert event.cancelled and not event.ok and event.result is None
            assert event.finished >= event.started

    def test_close_is_safe_twice(self) -> None:
        executor = self.make_executor(self.workers)
        try:
            executor.start(square)
            [event] = self.run_all(executor, [Job(0, 1, {"x": 3}, seed=0)])
            assert event.result == 9.0
        finally:
            executor.close()
        executor.close()

    def test_event_times_are_on_the_executors_clock(self) -> None:
        jobs = [Job(i, 1, {"t": 0.02}, seed=i) for i in range(4)]
        with self.started(naps) as executor:
            clock = executor.clock
            assert isinstance(clock.virtual, bool)
            before = clock.now()
            events = self.run_all(executor, jobs)
            after = clock.now()
        assert after >= before
        for event in events:
            assert before <= event.started <= event.finished <= after
            # Each took its 20 ms, on this clock (a wall clock may be slewed a little).
            assert event.finished - event.started >= 0.018

    def test_every_worker_runs_a_job_at_once(self, tmp_path: Path) -> None:
        self.needs_concurrency()
        config = {"folder": str(tmp_path), "hold": True}
        with self.started(holds) as executor:
            for trial_id in range(self.workers):
                executor.submit(Job(trial_id, 1, config, seed=trial_id))
            assert executor.completed(timeout=0) == []  # sends them; none has ended
            for trial_id in range(self.workers):  # all started: none waits for another
                self.wait_for(tmp_path / f"started-{trial_id}")
            (tmp_path / "go").touch()
            events = self.collect_at_least(executor, self.workers)
        assert sorted(e.trial_id for e in events) == list(range(self.workers))
        assert all(e.ok for e in events)

    def test_setup_runs_once_per_worker_and_each_job_gets_what_it_prepared(
        self, tmp_path: Path
    ) -> None:
        setup = functools.partial(counted_setup, str(tmp_path))
        jobs = [Job(i, 1, {}, seed=i) for i in range(4 * self.workers)]
        with self.started(prepared, setup=setup) as executor:
            events = self.run_all(executor, jobs)
            more = self.run_all(executor, [Job(100, 1, {}, seed=0)])  # no worker sets up again
        tokens = {path.name.removeprefix("setup-") for path in tmp_path.glob("setup-*")}
        most = self.set_up_workers or self.workers
        assert 1 <= len(tokens) <= most  # once per worker at most, and before a job
        assert all(event.ok for event in events + more)
        assert {event.result for event in events + more} <= tokens

    def test_without_a_setup_nothing_is_prepared(self) -> None:
        with self.started(prepared) as executor:
            events = self.run_all(executor, [Job(i, 1, {}, seed=i) for i in range(3)])
        assert [event.result for event in events] == [None] * 3

    def test_the_setups_time_is_no_jobs_time(self) -> None:
        jobs = [Job(i, 1, {}, seed=i) for i in range(2 * self.workers)]
        with self.started(prepared, setup=slow_setup) as executor:
            events = self.run_all(executor, jobs)
        assert all(event.result == "rested" for event in events)
        assert all(event.finished - event.started < _SETUP_SECONDS for event in events)

    def test_a_setup_that_raises_is_a_setup_error_and_runs_no_job(self, tmp_path: Path) -> None:
        executor = self.make_executor(self.workers)
        try:
            self.needs_setup(executor)
            with pytest.raises(SetupError) as raised:
                executor.start(leaves_a_mark, None, setup=failing_setup)
                for x in range(self.workers):  # from `completed` at the latest
                    executor.submit(Job(x, 1, {"x": x, "folder": str(tmp_path)}, seed=x))
                self.collect_at_least(executor, self.workers)
        finally:
            executor.close()
        error = raised.value
        assert error.setup == f"{__name__}:failing_setup"
        assert error.error == "ValueError: the setup failed on purpose"
        assert "failing_setup" in error.traceback and error.traceback.strip() in str(error)
        assert not list(tmp_path.glob("ran-*"))
