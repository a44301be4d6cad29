"""The serial executor: jobs run in the driver, one at a time."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

from .._signals import STOPS
from ..context import RealClock
from ..trial import Event, Job, Report
from ._base import CpuTime, Objective, ReportHandler, make_context, run_job, takes_context
from ._setup import Setup, run_setup


class Serial:
    """Runs each job in the calling thread as it is submitted.

    The cheapest executor: no process, no thread, no copy of the config. Use it for cheap
    objectives, debugging (breakpoints work) and baselines.

    >>> from paratune.trial import Job
    >>> ex = Serial()
    >>> ex.start(lambda config: config["x"] * 2)
    >>> ex.submit(Job(trial_id=0, attempt=1, config={"x": 21}, seed=0))
    >>> [event.result for event in ex.completed()]
    [42]
    """

    def __init__(self) -> None:
        self.workers = 1
        self.clock = RealClock()
        self._done: list[Event] = []
        self._objective: Objective | None = None
        self._with_context = False
        self._on_report: ReportHandler | None = None
        self._cpu = CpuTime()
        self._handlers: tuple[object, ...] = ()  # the driver's, of the signals that stop it
        self._trials = 0
        self._prepared: Any = None

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Keep the objective and call ``setup``, once, here in the driver. Reports are
        handed over as they are made.

        Raises:
            SetupError: the setup raised (its `KeyboardInterrupt` stops the run, as Ctrl-C).
        """
        self._prepared = run_setup(setup, "the driver")
        self._objective = objective
        self._with_context = takes_context(objective)
        self._on_report = on_report
        self._handlers = _stop_handlers()

    def free_slots(self) -> int:
        """1 until the finished job has been collected."""
        return 0 if self._done else 1

    def submit(self, job: Job) -> None:
        """Run the job now."""
        if self._objective is None:
            raise RuntimeError("Serial.submit called before start()")
        ctx = None
        if self._with_context:
            on_report = self._on_report

            def reporter(step: int, metrics: Mapping[str, Any]) -> bool:
                report = Report(job.trial_id, job.attempt, step, metrics, time.monotonic())
                return on_report is None or on_report(report)

            ctx = make_context(job, reporter=reporter, prepared=self._prepared)
        # A trial must not take the user's stop away. Reading the handlers costs more than
        # a trivial trial: they are checked after a trial of 1 ms or more, and every 100th.
        self._trials += 1
        check = self._trials % 100 == 0
        handlers = self._handlers
        event = run_job(self._objective, job, ctx, worker=0, now=time.monotonic, cpu=self._cpu)
        if check or event.finished - event.started >= 0.001:
            if _stop_handlers() != handlers:
                _restore(handlers)
        self._done.append(event)

    def completed(self, timeout: float | None = None) -> list[Event]:
        """The jobs run since the last call."""
        done, self._done = self._done, []
        return done

    def cancel(self) -> list[Event]:
        """Nothing is ever in flight between calls."""
        return self.completed()

    def close(self) -> None:
        """Nothing to release but what the setup prepared."""
        self._objective = None
        self._prepared = None


def _stop_handlers() -> tuple[object, ...]:
    """The driver's handlers of the signals that stop a run: they must outlive any trial."""
    return tuple(map(signal.getsignal, STOPS))


def _restore(handlers: tuple[object, ...]) -> None:
    if threading.current_thread() is threading.main_thread():  # only there can they change
        for number, handler in zip(STOPS, handlers, strict=True):
            signal.signal(number, handler)  # type: ignore[arg-type]
