"""The thread executor: a fixed set of worker threads in the driver's process."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..context import Context, RealClock
from ..trial import Event, Job, Report
from ._base import (
    LONGEST_WAIT,
    CpuTime,
    Objective,
    ReportHandler,
    cancelled_event,
    make_context,
    run_job,
    takes_context,
)
from ._pacing import Pacing
from ._setup import Setup, SetupFailed, call_setup, setup_error

_STOP = None


class _Asked:
    """A report waiting in a worker thread for the driver's answer."""

    __slots__ = ("answer", "go_on", "report")

    def __init__(self, report: Report) -> None:
        self.report = report
        self.answer = threading.Event()
        self.go_on = True


class Threads:
    """Runs jobs on ``workers`` threads started once per run.

    Good for objectives that release the GIL (NumPy, PyTorch, I/O, `time.sleep`) and for
    objectives that cannot be pickled. A thread cannot be killed: cancellation is cooperative
    through `Context.elapse` and `Context.cancelled`; threads still busy after ``grace``
    seconds are abandoned (they are daemon threads and do not keep the program alive).

    Args:
        workers: number of threads (default: the number of CPUs).
        grace: seconds `cancel` waits for running jobs to notice their cancellation.
        pacing: when jobs wait in the threads' queue behind running ones (default:
            `Pacing()`; only its queue ahead applies, as jobs need no messages here).
    """

    def __init__(
        self, workers: int | None = None, *, grace: float = 1.0, pacing: Pacing | None = None
    ) -> None:
        self.workers = workers if workers is not None else os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.clock = RealClock()
        self._grace = grace
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[Event | _Asked] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Running jobs: (context, started, worker, job), to cancel them and to account for
        # the time of those abandoned.
        self._running: dict[int, tuple[Context | None, float, int, Job]] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self._on_report: ReportHandler | None = None
        self._pacing = pacing if pacing is not None else Pacing()

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Start the worker threads. With a ``setup``, each thread calls it before its first
        job, and this returns once every one has. A report waits in its thread until the
        driver has handled it in `completed`.

        Raises:
            SetupError: the setup raised in a thread (anything, `SystemExit` included).
        """
        with_context = takes_context(objective)
        self._on_report = on_report
        self._pacing.reset()
        ready: queue.SimpleQueue[tuple[int, SetupFailed | None]] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(
                target=self._work,
                args=(objective, with_context, index, setup, ready),
                name=f"paratune-worker-{index}",
                daemon=True,
            )
            for index in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        if setup is not None:
            self._await_setup(setup, ready)

    def _await_setup(
        self, setup: Setup, ready: queue.SimpleQueue[tuple[int, SetupFailed | None]]
    ) -> None:
        """Wait for every thread's setup; at the first that failed, stop them and raise."""
        try:
            for _ in self._threads:
                worker, failed = ready.get()
                if failed is not None:
                    raise setup_error(setup, f"worker thread {worker}", failed)
        except BaseException:  # also Ctrl-C meanwhile: no thread is left waiting for jobs
            self.close()
            raise

    def _work(
        self,
        objective: Objective,
        with_context: bool,
        worker: int,
        setup: Setup | None,
        ready: queue.SimpleQueue[tuple[int, SetupFailed | None]],
    ) -> None:
        prepared, failed = call_setup(setup, contained=True)
        if setup is not None:
            ready.put((worker, failed))
        if failed is not None:
            return
        cpu = CpuTime()  # this thread's
        while (job := self._jobs.get()) is not _STOP:
            ctx = None
            if with_context:
                ctx = make_context(job, reporter=self._reporter(job), prepared=prepared)
            with self._lock:
                self._running[job.trial_id] = (ctx, time.monotonic(), worker, job)
            # Contained: a `SystemExit` or `KeyboardInterrupt` of the objective would end
            # this thread, and its job would never be reported.
            event = run_job(objective, job, ctx, worker=worker, now=time.monotonic, cpu=cpu,
                            contained=True)  # fmt: skip
            with self._lock:
                self._running.pop(job.trial_id, None)
            self._events.put(event)

    def _reporter(self, job: Job) -> Any:
        if self._on_report is None:
            return None

        def reporter(step: int, metrics: Mapping[str, Any]) -> bool:
            asked = _Asked(Report(job.trial_id, job.attempt, step, metrics, time.monotonic()))
            self._events.put(asked)
            asked.answer.wait()
            return asked.go_on

        return reporter

    def _answer(self, asked: _Asked) -> None:
        try:
            asked.go_on = self._on_report is None or self._on_report(asked.report)
        finally:
            asked.answer.set()

    def free_slots(self) -> int:
        """Idle threads; for jobs seen to take under 5 s with steady run times (`Pacing`),
        also one job waiting in the threads' queue per thread, which the first thread to
        end its job takes at once instead of waiting for the driver to hand it one (with
        many threads, the driver's turn at the interpreter can take milliseconds)."""
        return self.workers * (1 + self._pacing.ahead()) - self._in_flight

    def submit(self, job: Job) -> None:
        """Hand the job to the next idle thread (or queue it for the first to be idle)."""
        self._in_flight += 1
        self._jobs.put(job)

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Wait for the first job to end, then take every other that has ended too."""
        if self._in_flight == 0:
            return []
        try:
            wait = None if timeout is None else min(timeout, LONGEST_WAIT)
            arrived = [self._events.get(timeout=wait)]
        except queue.Empty:
            return []
        while True:
            try:
                arrived.append(self._events.get_nowait())
            except queue.Empty:
                break
        events = []
        for item in arrived:
            if isinstance(item, _Asked):
                self._answer(item)
            else:
                events.append(item)
                self._pacing.observe(item.finished - item.started)
        self._in_flight -= len(events)
        return events

    def cancel(self) -> list[Event]:
        """Ask running jobs to stop; wait ``grace`` seconds; report the rest as cancelled."""
        now = time.monotonic()
        events: list[Event] = []
        while True:  # jobs no thread has taken yet never start
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._in_flight -= 1
                events.append(cancelled_event(job, now, now, -1))
        with self._lock:
            running = dict(self._running)
        for ctx, *_ in running.values():
            if ctx is not None:
                ctx.cancel()
        self._on_report = None  # a report made from now on gets no answer but "go on"
        deadline = time.monotonic() + self._grace
        while self._in_flight and (left := deadline - time.monotonic()) > 0:
            events.extend(self.completed(timeout=left))
        ended = {event.trial_id for event in events}
        now = time.monotonic()
        for trial_id, (_, started, worker, job) in running.items():
            if trial_id not in ended:
                # Abandoned: it keeps its thread until it returns, but the run is over.
                events.append(cancelled_event(job, started, now, worker))
        self._in_flight = 0
        return events

    def close(self) -> None:
        """Stop the threads; waits only for threads that are idle or about to be. Jobs still
        waiting in the queue (closed without `cancel`, as when the driver fails) never
        start: the run they belonged to is over."""
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._in_flight = 0
        for _ in self._threads:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + self._grace
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = []
