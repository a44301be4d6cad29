"""The process executor: a persistent pool of worker processes, one per slot."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from .._signals import signals_held
from ..context import RealClock
from ..trial import Event, Job, Report
from ._base import (
    _HOST,
    LONGEST_WAIT,
    Objective,
    ReportHandler,
    cancelled_event,
    failed_event,
    takes_context,
)
from ._pacing import Pacing
from ._resources import Placement, Resources, plan_slots, visible_cpus, visible_gpus
from ._setup import Setup, SetupFailed, setup_error
from ._worker import Retiring, SetupDone, worker_main
from ._worker_process import KILL_GRACE, WorkerProcess

# Seconds `close` gives the workers to finish their jobs and exit before they are killed.
_CLOSE_GRACE = 2.0


@dataclass(eq=False)
class _Slot:
    index: int
    worker: WorkerProcess
    conn: Connection
    jobs: deque[Job] = field(default_factory=deque)  # sent, not yet reported; the first runs
    outbox: list[Job] = field(default_factory=list)  # submitted, not yet sent
    # How many jobs of each message sent are not yet reported, oldest first. A worker sends
    # the events of a message's jobs by the time it ends, so the job running is in the first.
    batches: deque[int] = field(default_factory=deque)
    busy_since: float = 0.0  # when the job now running started, as far as the driver knows
    ready: bool = True  # False until a worker with a setup to run has said it ran it


class Processes:
    """Runs jobs in ``workers`` processes started once per run and reused for every job.

    The objective is shipped once with cloudpickle, so functions defined in a script's
    ``__main__``, closures and lambdas work, under both the ``fork`` and the ``spawn`` start
    methods. A worker that dies (``os._exit``, a segfault, a kill) fails only the job it was
    running and is replaced. Each worker is the leader of a process group of its own, so
    the processes a trial starts end with the trial when its worker dies or is killed. After
    each trial the worker puts back what the trial changed in its process (standard streams,
    working folder, resource limits, signal handlers); where it cannot, it is replaced
    before the next trial. Very short jobs are sent in chunks (see `free_slots`). A run's
    setup runs once in each worker, also in one that replaces a worker that died.

    Args:
        workers: number of worker processes (default: the number of CPUs).
        start_method: ``"fork"``, ``"spawn"`` or ``"forkserver"`` (default: the platform's).
        trial_timeout: seconds a job may run (from when it is sent to an idle worker, or
            when the job before it on that worker ended) before its worker is killed and
            replaced and the job fails; None for no limit. This also ends a worker that
            was stopped (SIGSTOP) or frozen.
        cpus: the core ids trials with per-trial ``resources`` are pinned to (default: the
            cores this process may run on).
        gpus: the GPU ids they share out (default: those visible to this process, from
            ``CUDA_VISIBLE_DEVICES`` or ``nvidia-smi -L``).
        pacing: when jobs go several to a message, and wait behind running ones (default:
            `Pacing` with its defaults).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str | None = None,
        trial_timeout: float | None = None,
        cpus: Sequence[int] | None = None,
        gpus: Sequence[int | str] | None = None,
        pacing: Pacing | None = None,
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
        self._setup: Setup | None = None
        self._setup_payload: bytes | None = None
        self._setup_failed = False
        self._slots: list[_Slot] = []
        self._taken: list[Event] = []  # taken from the workers, not yet handed over
        self._in_flight = 0
        self._pacing = pacing if pacing is not None else Pacing()
        self._chunk = 1  # the pacing's chunk as of the last `completed`
        self._suspects: set[tuple[int, int]] = set()  # (trial, attempt): to be sent alone
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

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Prepare the objective for the workers. Without a ``setup``, each worker process
        starts when its first job comes, and gets that job at once, so the first trials run
        while the later workers are still starting. With one, every worker starts here and
        runs it, and this returns once all have. A report travels to the driver, is
        handled in `completed`, and its worker waits for the answer.

        Raises:
            TypeError: the objective or the setup cannot be pickled.
            SetupError: the setup raised in a worker, or the worker died in it.
        """
        self._on_report = on_report
        self._pacing.reset()
        self._chunk = 1
        self._suspects.clear()
        payload = (objective, takes_context(objective), on_report is not None)
        self._payload = _pickled("objective", payload)
        self._setup, self._setup_failed = setup, False
        self._setup_payload = None if setup is None else _pickled("setup", setup)
        self._slots = []
        if setup is not None:
            self._await_setup()

    def _await_setup(self) -> None:
        """Start every worker, and wait until each has run the setup.

        Raises:
            SetupError: the setup failed in one (every worker is then ended).
        """
        try:
            self._slots = [self._spawn(index) for index in range(self.workers)]
            while waiting := [slot for slot in self._slots if not slot.ready]:
                watched: dict[Any, _Slot] = {slot.conn: slot for slot in waiting}
                watched.update((slot.worker.death, slot) for slot in waiting)
                for slot in dict.fromkeys(watched[key] for key in wait(list(watched))):
                    self._setup_done(slot)
        except BaseException:  # also Ctrl-C meanwhile: no worker is left behind
            self.close()
            raise

    def _setup_done(self, slot: _Slot) -> None:
        """Read a worker's first message, which says how its setup went; it is ready then.

        Raises:
            SetupError: the setup failed, or the worker died before it said.
        """
        assert self._setup is not None
        message = None
        with contextlib.suppress(EOFError, OSError):
            if slot.conn.poll(0):
                message = slot.conn.recv()
        if isinstance(message, SetupDone) and message.failed is None:
            slot.ready = True
            slot.busy_since = time.monotonic()  # its setup is not its first job's time
            return
        self._setup_failed = True  # `cancel` then stops the others without waiting
        if isinstance(message, SetupDone) and message.failed is not None:
            failed = message.failed
        else:
            slot.worker.end()
            reason = f"the worker died while it ran ({slot.worker.exit_reason()})"
            failed = SetupFailed(reason, "")
        raise setup_error(self._setup, f"worker process {slot.worker.pid}", failed)

    def _spawn(self, index: int) -> _Slot:
        parent, child = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=worker_main,
            args=(child, self._payload, index, self._placement(index), self._setup_payload),
            name=f"paratune-worker-{index}",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(index, WorkerProcess(process), parent, ready=self._setup is None)

    def _placement(self, index: int) -> Placement | None:
        return None if self._placements is None else self._placements[index]

    def free_slots(self) -> int:
        """Jobs that may be sent now: one per idle worker; for jobs seen to take under 5 s
        with steady run times, also one waiting behind each running job; for jobs under
        5 ms, up to 64 times as many, as the run of them grows (see `Pacing`)."""
        depth = 1 + self._pacing.ahead()
        return self.workers * self._chunk * depth - self._in_flight

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
        alone = (job.trial_id, job.attempt) in self._suspects
        if alone:  # in a message of its own, so that a death it causes is known to be its
            self._suspects.discard((job.trial_id, job.attempt))
            if slot.outbox:
                self._send(slot)
        slot.outbox.append(job)
        self._in_flight += 1
        if self._chunk == 1 or alone:
            self._send(slot)

    def _flush(self) -> None:
        for slot in self._slots:
            if slot.outbox:
                self._send(slot)

    def _send(self, slot: _Slot) -> None:
        if not slot.jobs:
            slot.busy_since = time.monotonic()
        slot.jobs.extend(slot.outbox)
        slot.batches.append(len(slot.outbox))
        batch, slot.outbox = slot.outbox, []
        try:
            with signals_held():  # a message cut in half would put the pipe out of step
                slot.conn.send(batch)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the worker is dead; `completed` notices on its end of the pipe

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Send queued jobs, wait for the first message or death of a busy worker, and take
        every event that arrived."""
        self._flush()
        busy = [slot for slot in self._slots if slot.jobs]
        if not busy:
            return self._handed_over()
        # A worker's death is watched on its pidfd, not on its pipe: a child it forked holds
        # the pipe open long after the worker is gone. (Idle workers are not watched: one
        # that cannot start would be replaced over and over. One that retired after its
        # last job is replaced when it is next given a job, which then goes to the new one.)
        watched: dict[Any, _Slot] = {slot.conn: slot for slot in busy}
        watched.update((slot.worker.death, slot) for slot in busy)
        timeout = self._next_deadline(timeout)
        ready = wait(list(watched), None if timeout is None else min(timeout, LONGEST_WAIT))
        dead = {watched[key] for key in ready if isinstance(key, int)}
        # A user's stop must not cut a message in half (the pipe would be out of step); one
        # that arrives meanwhile is raised after, and the events taken wait in `_taken`
        # for `cancel` to hand over.
        with signals_held():
            for slot in dict.fromkeys(watched[key] for key in ready):  # once each, in order
                self._taken.extend(self._take(slot, slot in dead))
            self._taken.extend(self._expire())
        self._chunk = self._pacing.chunk()
        return self._handed_over()

    def _handed_over(self) -> list[Event]:
        events, self._taken = self._taken, []
        self._in_flight -= len(events)
        return events

    def _take(self, slot: _Slot, dead: bool) -> list[Event]:
        """Read a message from a worker (every message left, once it is ``dead``), and
        replace it if it died, retired or sent what cannot be read."""
        if dead:  # what it sent before it died is still there; read it without waiting
            os.set_blocking(slot.conn.fileno(), False)
        if not slot.ready:  # a new worker's first message: its setup went well, or it raises
            self._setup_done(slot)
            if not dead:
                return []
        events: list[Event] = []
        while True:
            try:
                received: list[Event] | Report | Retiring = slot.conn.recv()
            except (EOFError, OSError):  # nothing more, and its end of the pipe closed
                return events + self._replace(slot)
            except Exception as exc:  # a result that pickled in the worker but will not load
                reason = f"its result could not be read back: {type(exc).__name__}: {exc}"
                return events + self._replace(slot, reason)
            if isinstance(received, Retiring):
                return events + self._replace(slot, retiring=True)
            if isinstance(received, Report):
                self._answer(slot, received)
            else:
                events.extend(self._record(slot, received))
            if not dead:
                return events

    def _record(self, slot: _Slot, received: list[Event]) -> list[Event]:
        """Take the events of jobs a worker finished off its queue."""
        for event in received:
            slot.jobs.popleft()
            slot.batches[0] -= 1
            if not slot.batches[0]:
                slot.batches.popleft()
            self._pacing.observe(event.finished - event.started)
        if received:
            slot.busy_since = received[-1].finished
        return received

    def _answer(self, slot: _Slot, report: Report) -> None:
        go_on = self._on_report is None or self._on_report(report)
        try:
            slot.conn.send(go_on)
        except OSError:
            pass  # the worker is dead; `completed` notices on its pidfd

    def _replace(
        self, slot: _Slot, reason: str | None = None, *, retiring: bool = False
    ) -> list[Event]:
        """End a worker and its process group and start a new one in its slot.

        The job it was running fails (it died, or ``reason`` says why it was killed), unless
        it is ``retiring`` (it ran its last job and is exiting on its own); the jobs it had
        not started go to the new worker. Where the job it was running is one of several
        unreported ones, none is blamed: they run again, each alone.
        """
        worker = slot.worker
        # Its pipe closed: it is dying (let it finish, so that its exit status says how it
        # died), unless it closed the pipe itself.
        if reason is None and not retiring and not worker.is_dead(KILL_GRACE):
            reason = f"worker process {worker.pid} closed its pipe to the driver and was killed"
        if not worker.end():
            left = f"worker process {worker.pid} could not be killed and was left behind"
            reason = f"{reason}; {left}"
        now = time.monotonic()
        # Its running job is among the unreported ones of the first message it was sent.
        # If there are several, the events of those that ended since it last sent some
        # were lost with it, and which job it died of is not known: each runs again,
        # uncounted, alone, so that a death names its job.
        first = slot.batches[0] if slot.batches and not retiring else 0
        dead = slot.jobs.popleft() if first == 1 else None
        suspects = [slot.jobs.popleft() for _ in range(first if first > 1 else 0)]
        self._suspects.update((job.trial_id, job.attempt) for job in suspects)
        waiting = suspects + list(slot.jobs) + slot.outbox
        slot.conn.close()
        self._slots[slot.index] = self._spawn(slot.index)
        self._in_flight -= len(waiting)  # resubmitted below
        for job in waiting:
            self.submit(job)
        if dead is None:
            return []
        if reason is None:
            reason = f"worker process {worker.pid} died ({worker.exit_reason()})"
        return [
            failed_event(
                dead, slot.busy_since, now, slot.index, reason, host=_HOST, pid=worker.pid
            )
        ]

    def _expire(self) -> list[Event]:
        """Kill the workers whose job has run past ``trial_timeout``."""
        if self.trial_timeout is None:
            return []
        now = time.monotonic()
        events: list[Event] = []
        for slot in list(self._slots):
            if slot.jobs and slot.ready and now - slot.busy_since >= self.trial_timeout:
                events.extend(self._replace(slot, self._timeout_reason(slot.worker)))
        return events

    def _timeout_reason(self, worker: WorkerProcess) -> str:
        """Why a job that ran past ``trial_timeout`` failed, saying so if its worker was
        stopped (SIGSTOP, a debugger) rather than running."""
        limit = f"trial_timeout={self.trial_timeout:g} s"
        if worker.run_state() in ("T", "t"):
            return (
                f"timed out: worker process {worker.pid} stopped responding past {limit} "
                "(it was stopped by a signal) and was killed"
            )
        return f"timed out: ran past {limit}"

    def _next_deadline(self, timeout: float | None) -> float | None:
        """``timeout``, shortened to wake up when the first running job times out."""
        if self.trial_timeout is None:
            return timeout
        now = time.monotonic()
        ends = [s.busy_since + self.trial_timeout - now for s in self._slots if s.jobs and s.ready]
        if not ends:
            return timeout
        first = max(0.0, min(ends))
        return first if timeout is None else min(timeout, first)

    def cancel(self) -> list[Event]:
        """Kill every busy worker (and its process group) and report its jobs cancelled;
        only `close` may follow."""
        # After a failed setup, only what was taken already: a wait would raise again.
        events = self._handed_over() if self._setup_failed else self.completed(timeout=0)
        now = time.monotonic()
        busy = [slot for slot in self._slots if slot.jobs or slot.outbox]
        for slot in busy:  # all at once, then wait for them together
            slot.worker.kill()
        deadline = time.monotonic() + KILL_GRACE
        for slot in busy:
            slot.worker.end(deadline - time.monotonic())
            slot.conn.close()
            for position, job in enumerate([*slot.jobs, *slot.outbox]):
                started = slot.busy_since if position == 0 and slot.jobs else now
                events.append(cancelled_event(job, started, now, slot.index, slot.worker.pid))
            slot.jobs.clear()
            slot.outbox.clear()
        self._in_flight = 0
        return events

    def close(self) -> None:
        """Tell the workers to stop, give them a moment to, then end them and their process
        groups (the processes their trials left behind)."""
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + _CLOSE_GRACE
        for slot in self._slots:
            slot.worker.is_dead(deadline - time.monotonic())
        for slot in self._slots:
            slot.worker.kill()
        deadline = time.monotonic() + KILL_GRACE
        for slot in self._slots:
            slot.worker.end(deadline - time.monotonic())
            slot.conn.close()
        self._slots = []


def _pickled(what: str, value: Any) -> bytes:
    """``value`` cloudpickled for the workers, or a `TypeError` that names ``what`` it is."""
    try:
        pickled: bytes = cloudpickle.dumps(value)
    except Exception as exc:
        raise TypeError(
            f"the {what} cannot be sent to worker processes: {exc}; "
            f"use executor='threads' for {what}s that cannot be pickled"
        ) from exc
    return pickled
