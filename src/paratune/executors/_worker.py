"""The loop of one worker process. Imports little, so a spawned worker starts fast."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

import cloudpickle

from ..trial import Event, Job, Report
from ._base import _MEASURE_AFTER, CpuTime, Objective, PeakMemory, make_context, run_job
from ._resources import Placement, apply_placement
from ._setup import SetupFailed, call_setup
from ._worker_state import WorkerState

# A worker sends what it has finished at the end of each batch of jobs, or sooner once this
# many seconds have passed since its last message: cheap jobs travel in chunks, slow ones
# one by one as they end.
_FLUSH_AFTER = 0.002


# How often (seconds) a worker checks that its driver is still alive.
_WATCH_EVERY = 0.5


class Retiring:
    """What a worker sends, after the events of the jobs it ran, when a trial changed its
    process in a way it cannot undo: it runs no more jobs and exits, and the driver gives
    the jobs it had not started to a new worker."""


class SetupDone(NamedTuple):
    """What a worker of a run with a setup sends first, once the setup has run: ``failed``
    is None when it went well; otherwise the worker exits."""

    failed: SetupFailed | None


def worker_main(
    conn: Connection,
    payload: bytes,
    worker: int,
    placement: Placement | None = None,
    setup: bytes | None = None,
) -> None:
    """Run the setup, if any (``setup``: it, cloudpickled), then receive batches of jobs, run
    them, send their events back, until told to stop. ``placement``: the cores and GPUs this
    worker's trials get (None: no per-trial resources)."""
    started = _start(conn, payload, placement, setup)
    if started is None:
        return  # its setup failed, and the driver knows
    objective, with_context, reports, prepared = started
    state = WorkerState()  # after the loading and the setup: what they set up, trials keep
    memory = PeakMemory()
    cpu = CpuTime(time.process_time)
    # Batches that arrived while a report waited for its answer.
    early: deque[list[Job] | None] = deque()
    ready: list[Event] = []

    def ask(job: Job, step: int, metrics: Mapping[str, Any]) -> bool:
        """Send a report (after the events ready so far) and wait for the driver's answer."""
        nonlocal ready
        if ready:
            _send(conn, ready)
            ready = []
        conn.send(Report(job.trial_id, job.attempt, step, dict(metrics), time.monotonic()))
        while True:
            answer = conn.recv()
            if isinstance(answer, bool):
                return answer
            early.append(answer)

    while True:
        try:
            batch: list[Job] | None = early.popleft() if early else conn.recv()
        except EOFError:  # the driver went away
            return
        if batch is None:
            return
        last_sent = time.monotonic()
        for job in batch:
            ctx = None
            if with_context:
                reporter = (lambda s, m, job=job: ask(job, s, m)) if reports else None
                ctx = make_context(job, reporter=reporter, prepared=prepared)
            # Contained: the objective's `SystemExit` fails its job; this worker lives on.
            event = run_job(objective, job, ctx, worker=worker, now=time.monotonic, cpu=cpu,
                            memory=memory, contained=True)  # fmt: skip
            ready.append(event)
            # Resource limits are compared only where that costs a small part of the trial.
            if not state.restore(thorough=event.finished - event.started >= _MEASURE_AFTER):
                _send(conn, ready)
                conn.send(Retiring())
                return
            if time.monotonic() - last_sent > _FLUSH_AFTER:
                _send(conn, ready)
                ready = []
                last_sent = time.monotonic()
        if ready:
            _send(conn, ready)
            ready = []


def _start(
    conn: Connection, payload: bytes, placement: Placement | None, setup: bytes | None
) -> tuple[Objective, bool, bool, Any] | None:
    """Make this process a worker: out of the driver's stops, ending with the driver, on
    its ``placement``, with the objective loaded and the setup run. Returns the objective,
    whether it takes a context, whether it reports, and what the setup prepared; None when
    the setup failed."""
    _detach_from_the_driver()
    _exit_with_the_driver()
    if placement is not None:
        apply_placement(placement)  # before the objective (and what it imports) loads
    objective, with_context, reports = cloudpickle.loads(payload)
    prepared, failed = _set_up(conn, setup)
    return None if failed else (objective, with_context, reports, prepared)


def _set_up(conn: Connection, setup: bytes | None) -> tuple[Any, bool]:
    """Call the run's setup, if it has one, and tell the driver how it went; return what it
    prepared, and whether it failed."""
    if setup is None:
        return None, False
    try:
        prepared, failed = call_setup(cloudpickle.loads(setup), contained=True)
    except Exception as exc:  # it cannot be loaded here (its module is missing, say)
        error = f"it cannot be loaded in the worker: {type(exc).__name__}: {exc}"
        prepared, failed = None, SetupFailed(error, traceback.format_exc())
    conn.send(SetupDone(failed))
    return prepared, failed is not None


def _detach_from_the_driver() -> None:
    """Lead a process group of its own, and leave the user's stops to the driver."""
    # A group of its own, so that the driver can end a trial together with every process
    # it started. (A session, not just a group: a group of the terminal's session that is
    # not in the foreground would be stopped on reading from the terminal.)
    with contextlib.suppress(OSError):
        os.setsid()
    # Should it stay in the driver's group, Ctrl-C would reach it; the driver handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A batch system's pre-emption sends SIGTERM to every process of the job: the driver
    # stops the trials (as interrupted, to run again on resume) and then ends the workers;
    # a worker that died of it first would fail its trial instead.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _exit_with_the_driver() -> None:
    """End this worker, even in the middle of a trial, once the driver has died (killed, say):
    a forked worker may hold copies of the pipes' driver ends, so it would never see them
    close, and an orphan must not go on burning a core. The processes its trial started
    (its process group) end with it."""
    driver = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(_WATCH_EVERY)
            if os.getppid() != driver:
                if os.getpgid(0) == os.getpid():  # the group is this worker's own
                    os.killpg(0, signal.SIGKILL)  # with the processes its trial started
                os._exit(1)

    threading.Thread(target=watch, name="paratune-watchdog", daemon=True).start()


def _send(conn: Connection, events: list[Event]) -> None:
    try:
        conn.send(events)
    except Exception:  # pickling runs the result's own code, which may raise anything
        conn.send([_picklable(event) for event in events])


def _picklable(event: Event) -> Event:
    """The event itself if it pickles, else a failure that says why."""
    try:
        pickle.dumps(event)
    except Exception as exc:
        kind = type(event.result).__name__
        reason = f"the objective's result ({kind}) cannot be pickled: {exc}"
        return event._replace(ok=False, result=None, error=reason)
    return event
