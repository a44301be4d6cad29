"""The process executor: a persistent pool of worker processes, one per slot."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import cloudpickle

from ..context import RealClock
from ..trial import Event, Job, Report
from ._base import _HOST, LONGEST_WAIT, Objective, ReportHandler, cancelled_event, takes_context
from ._resources import Placement, Resources, plan_slots, visible_cpus, visible_gpus
from ._worker import worker_main

# When jobs are this short on average (seconds), each worker is given several at once, so the
# cost of a round trip through a pipe is paid once per chunk instead of once per job.
_CHUNK_BELOW = 0.005
_MAX_CHUNK = 64
# Once jobs are seen to take less than this on average (seconds), each worker has the next
# job waiting in its pipe while it runs one, so it starts it without waiting for the driver
# (which, on a machine whose cores are all busy, may not run for a while).
_QUEUE_AHEAD_BELOW = 5.0


@dataclass(eq=False)
class _Slot:
    index: int
    process: BaseProcess
    conn: Connection
    jobs: deque[Job] = field(default_factory=deque)  # sent, not yet reported; the first runs
    outbox: list[Job] = field(default_factory=list)  # submitted, not yet sent
    busy_since: float = 0.0  # when the job now running started, as far as the driver knows


class Processes:
    """Runs jobs in ``workers`` processes started once per run and reused for every job.

    The objective is shipped once with cloudpickle, so functions defined in a script's
    ``__main__``, closures and lambdas work, under both the ``fork`` and the ``spawn`` start
    methods. A worker that dies (``os._exit``, a segfault, a kill) fails only the job it was
    running and is replaced. Very short jobs are sent in chunks (see `free_slots`).

    Args:
        workers: number of worker processes (default: the number of CPUs).
        start_method: ``"fork"``, ``"spawn"`` or ``"forkserver"`` (default: the platform's).
        trial_timeout: seconds a job may run (from when it is sent to an idle worker, or
            when the job before it on that worker ended) before its worker is killed and
            replaced and the job fails; None for no limit.
        cpus: the core ids trials with per-trial ``resources`` are pinned to (default: the
            cores this process may run on).
        gpus: the GPU ids they share out (default: those visible to this process, from
            ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi -L``).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str | None = None,
        trial_timeout: float | None = None,
        cpus: Sequence[int] | None = None,
        gpus: Sequence[int | str] | None = None,
    ) -> None:
        if trial_timeout is not None and not 0 < trial_timeout < math.inf:
            raise ValueError(
                f"trial_timeout must be a finite number of seconds > 0, got {trial_timeout}"
            )
        self.trial_timeout = trial_timeout
        self.workers = workers if workers is not None else os.cpu_count() or 1
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self.clock = RealClock()
        # Typed loosely: typeshed's BaseContext lacks the Process every concrete context has.
        self._mp: Any = multiprocessing.get_context(start_method)
        self._payload = b""
        self._slots: list[_Slot] = []
        self._in_flight = 0
        self._chunk = 1
        # Moving averages of job run times (seconds): one that starts at 1 s, so that jobs go
        # in chunks only after a run of short ones, and one that starts at the first job's.
        self._mean_run = 1.0
        self._typical_run: float | None = None
        self._on_report: ReportHandler | None = None
        self._asked = workers
        self._cpus, self._gpus = cpus, gpus
        self._placements: list[Placement] | None = None

    def use_resources(self, resources: Resources) -> None:
        """Give every trial ``resources``: the workers become as many as fit (at most the
        ``workers`` asked for), each pinned to its own cores and shown only its own GPUs,
        so the trials running at once never hold more than there is.

        Raises:
            ValueError: not even one trial fits on this machine.
        """
        cpus = list(self._cpus) if self._cpus is not None else visible_cpus()
        gpus = [str(g) for g in self._gpus] if self._gpus is not None else visible_gpus()
        self._placements = plan_slots(resources, cpus=cpus, gpus=gpus, workers=self._asked)
        self.workers = len(self._placements)

    def start(self, objective: Objective, on_report: ReportHandler | None = None) -> None:
        """Prepare the objective for the workers. Each worker process starts when its first
        job comes, and gets that job at once, so the first trials run while the later
        workers are still starting. A report travels to the driver, is handled in
        `completed`, and its worker waits for the answer."""
        self._on_report = on_report
        try:
            payload = (objective, takes_context(objective), on_report is not None)
            self._payload = cloudpickle.dumps(payload)
        except Exception as exc:
            raise TypeError(
                f"the objective cannot be sent to worker processes: {exc}; "
                "use executor='threads' for objectives that cannot be pickled"
            ) from exc
        self._slots = []

    def _spawn(self, index: int) -> _Slot:
        parent, child = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=worker_main,
            args=(child, self._payload, index, self._placement(index)),
            name=f"paratune-worker-{index}",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(index, process, parent)

    def _placement(self, index: int) -> Placement | None:
        return None if self._placements is None else self._placements[index]

    def free_slots(self) -> int:
        """Jobs that may be sent now: one per idle worker; for jobs seen to take under 5 s,
        also one waiting behind each running job; for jobs under 5 ms, 64 times as many."""
        typical = self._typical_run
        ahead = 2 if typical is not None and typical < _QUEUE_AHEAD_BELOW else 1
        return self.workers * self._chunk * ahead - self._in_flight

    def submit(self, job: Job) -> None:
        """Give the job to an idle worker (starting it if it has not started yet), else to
        the least loaded one. Sent at once, unless jobs go in chunks: then on the next
        `completed`."""
        # The least loaded worker; among equals, the one whose job started first, as it is
        # likely to end first.
        slot = min(
            self._slots, key=lambda s: (len(s.jobs) + len(s.outbox), s.busy_since), default=None
        )
        if (slot is None or slot.jobs or slot.outbox) and len(self._slots) < self.workers:
            slot = self._spawn(len(self._slots))
            self._slots.append(slot)
        assert slot is not None  # workers >= 1
        slot.outbox.append(job)
        self._in_flight += 1
        if self._chunk == 1:
            self._send(slot)

    def _flush(self) -> None:
        for slot in self._slots:
            if slot.outbox:
                self._send(slot)

    def _send(self, slot: _Slot) -> None:
        if not slot.jobs:
            slot.busy_since = time.monotonic()
        slot.jobs.extend(slot.outbox)
        batch, slot.outbox = slot.outbox, []
        try:
            slot.conn.send(batch)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the worker is dead; `completed` notices on its end of the pipe

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Send queued jobs, wait for the first message, and take every event that arrived."""
        self._flush()
        busy = {slot.conn: slot for slot in self._slots if slot.jobs}
        if not busy:
            return []
        events: list[Event] = []
        timeout = self._next_deadline(timeout)
        for conn in wait(list(busy), None if timeout is None else min(timeout, LONGEST_WAIT)):
            slot = busy[conn]  # type: ignore[index]
            try:
                received: list[Event] | Report = slot.conn.recv()
            except (EOFError, OSError):
                events.extend(self._replace(slot))
                continue
            except Exception as exc:  # a result that pickled in the worker but will not load
                reason = f"its result could not be read back: {type(exc).__name__}: {exc}"
                events.extend(self._replace(slot, reason))
                continue
            if isinstance(received, Report):
                self._answer(slot, received)
                continue
            for event in received:
                slot.jobs.popleft()
                run = event.finished - event.started
                self._mean_run += 0.2 * (run - self._mean_run)
                typical = run if self._typical_run is None else self._typical_run
                self._typical_run = typical + 0.2 * (run - typical)
            if received:
                slot.busy_since = received[-1].finished
            events.extend(received)
        events.extend(self._expire())
        self._in_flight -= len(events)
        self._chunk = 1 if self._mean_run >= _CHUNK_BELOW else _MAX_CHUNK
        return events

    def _answer(self, slot: _Slot, report: Report) -> None:
        go_on = self._on_report is None or self._on_report(report)
        try:
            slot.conn.send(go_on)
        except OSError:
            pass  # the worker is dead; `completed` notices on its end of the pipe

    def _replace(self, slot: _Slot, reason: str | None = None) -> list[Event]:
        """Fail the job a worker was running (it died, or ran past ``trial_timeout`` and is
        killed), start a new worker in its slot, and requeue the jobs it had not started."""
        process = slot.process
        if reason is not None or process.is_alive():
            process.kill()
        process.join(timeout=5)
        if process.is_alive():  # pragma: no cover - a kill that did not take
            process.kill()
            process.join()
        now = time.monotonic()
        dead = slot.jobs.popleft()
        waiting = list(slot.jobs) + slot.outbox
        slot.conn.close()
        self._slots[slot.index] = self._spawn(slot.index)
        self._in_flight -= len(waiting)  # resubmitted below
        for job in waiting:
            self.submit(job)
        if reason is None:
            reason = f"worker process {process.pid} died ({_exit_reason(process.exitcode)})"
        event = Event(
            dead.trial_id,
            dead.attempt,
            False,
            None,
            slot.busy_since,
            now,
            slot.index,
            error=reason,
            host=_HOST,
            pid=process.pid,
        )
        return [event]

    def _expire(self) -> list[Event]:
        """Kill the workers whose job has run past ``trial_timeout``."""
        if self.trial_timeout is None:
            return []
        now = time.monotonic()
        events: list[Event] = []
        for slot in list(self._slots):
            if slot.jobs and now - slot.busy_since >= self.trial_timeout:
                reason = f"timed out: ran past trial_timeout={self.trial_timeout:g} s"
                events.extend(self._replace(slot, reason))
        return events

    def _next_deadline(self, timeout: float | None) -> float | None:
        """``timeout``, shortened to wake up when the first running job times out."""
        if self.trial_timeout is None:
            return timeout
        now = time.monotonic()
        ends = [s.busy_since + self.trial_timeout - now for s in self._slots if s.jobs]
        if not ends:
            return timeout
        first = max(0.0, min(ends))
        return first if timeout is None else min(timeout, first)

    def cancel(self) -> list[Event]:
        """Kill every busy worker and report its jobs cancelled; only `close` may follow."""
        events = self.completed(timeout=0)
        now = time.monotonic()
        for slot in self._slots:
            if not slot.jobs and not slot.outbox:
                continue
            slot.process.kill()
            slot.process.join()
            slot.conn.close()
            for position, job in enumerate([*slot.jobs, *slot.outbox]):
                started = slot.busy_since if position == 0 and slot.jobs else now
                events.append(cancelled_event(job, started, now, slot.index, slot.process.pid))
            slot.jobs.clear()
            slot.outbox.clear()
        self._in_flight = 0
        return events

    def close(self) -> None:
        """Tell the workers to stop and wait for them (killing any that do not)."""
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        for slot in self._slots:
            slot.process.join(timeout=2)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []


def _exit_reason(code: int | None) -> str:
    """'exit code 3', 'killed by SIGSEGV', ... for a process's exit code."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
