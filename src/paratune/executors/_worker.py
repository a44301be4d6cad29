"""The loop of one worker process. Imports little, so a spawned worker starts fast."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from ..trial import Event, Job, Report
from ._base import CpuTime, PeakMemory, make_context, run_job
from ._resources import Placement, apply_placement

# A worker sends what it has finished at the end of each batch of jobs, or sooner once this
# many seconds have passed since its last message: cheap jobs travel in chunks, slow ones
# one by one as they end.
_FLUSH_AFTER = 0.002


# How often (seconds) a worker checks that its driver is still alive.
_WATCH_EVERY = 0.5


def worker_main(
    conn: Connection, payload: bytes, worker: int, placement: Placement | None = None
) -> None:
    """Receive batches of jobs, run them, send their events back, until told to stop.
    ``placement``: the cores and GPUs this worker's trials get (None: no per-trial resources)."""
    # Ctrl-C reaches the whole process group; the driver handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_the_driver()
    if placement is not None:
        apply_placement(placement)  # before the objective (and what it imports) loads
    objective, with_context, reports = cloudpickle.loads(payload)
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
                ctx = make_context(job, reporter=reporter)
            event = run_job(
                objective,
                job,
                ctx,
                worker=worker,
                now=time.monotonic,
                cpu=cpu,
                memory=memory,
            )
            ready.append(event)
            if time.monotonic() - last_sent > _FLUSH_AFTER:
                _send(conn, ready)
                ready = []
                last_sent = time.monotonic()
        if ready:
            _send(conn, ready)
            ready = []


def _exit_with_the_driver() -> None:
    """End this worker, even in the middle of a trial, once the driver has died (killed, say):
    a forked worker may hold copies of the pipes' driver ends, so it would never see them
    close, and an orphan must not go on burning a core."""
    driver = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(_WATCH_EVERY)
            if os.getppid() != driver:
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
