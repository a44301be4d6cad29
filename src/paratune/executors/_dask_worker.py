"""What runs on a Dask worker: the plugin that carries the objective there, and the task
that runs one job. Used only where ``distributed`` is installed; importing it without
(collecting doctests, say) imports nothing of Dask."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import cloudpickle

from ..context import Context, Reporter
from ..trial import Event, Job, Report
from ._base import CpuTime, Objective, make_context, run_job
from ._setup import call_setup

if TYPE_CHECKING:
    from distributed import WorkerPlugin
else:
    try:
        from distributed import WorkerPlugin
    except ImportError:  # never used then: `Dask` needs distributed to connect at all
        WorkerPlugin = object

# The objectives loaded in this worker process, by run token: (objective, with_context,
# what the run's setup prepared here).
_OBJECTIVES: dict[str, tuple[Objective, bool, Any]] = {}
# The runs whose setup failed in this worker process, by run token.
_FAILED: dict[str, SetupRaised] = {}
# The contexts of the jobs running in this worker process, by (run token, trial, attempt).
_RUNNING: dict[tuple[str, int, int], Context] = {}

# How long (seconds) a report waits for the driver's answer before the trial goes on.
ANSWER_WITHIN = 600.0
# How often (seconds) a report waiting for its answer checks whether its trial was cancelled.
_LOOK_EVERY = 0.5


# Results up to this size (bytes, pickled) are pushed to the driver as a worker event, which
# saves it a round trip per trial; larger ones stay on the worker until the driver fetches them.
PUSH_BELOW = 64 * 1024


def result_topic(token: str) -> str:
    """The event topic a run's results travel on, from the workers to the driver."""
    return f"paratune-{token}-results"


def report_topic(token: str) -> str:
    """The event topic a run's reports travel on, from the workers to the driver."""
    return f"paratune-{token}-reports"


class SetupRaised(Exception):
    """The run's setup raised on a Dask worker: raised there, by the plugin (which fails its
    registration) and by the run's tasks, for the driver to raise `SetupError`.

    Args:
        where: the worker (``"Dask worker tcp://..."``).
        error: what the setup raised, ``"ValueError: message"``.
        traceback: its traceback.
    """

    def __init__(self, where: str, error: str, traceback: str) -> None:
        super().__init__(where, error, traceback)
        self.where, self.error, self.traceback = where, error, traceback


class ShipObjective(WorkerPlugin):
    """Carries the cloudpickled objective to each worker, also to those that join or restart
    later, loads it there once, and calls the run's setup there once.

    Args:
        token: the run's token, which the tasks name the objective by.
        payload: ``cloudpickle.dumps((objective, takes_context(objective), setup))``.
    """

    def __init__(self, token: str, payload: bytes) -> None:
        self.token = token
        self.payload = payload

    def setup(self, worker: Any) -> None:
        """Load the objective on ``worker`` and call the setup (an error here fails the
        registration; on a worker that joins later, its tasks raise it)."""
        objective, with_context, setup = cloudpickle.loads(self.payload)
        prepared, failed = call_setup(setup, contained=True)
        if failed is not None:
            where = f"Dask worker {getattr(worker, 'address', '?')}"
            _FAILED[self.token] = SetupRaised(where, *failed)
            raise _FAILED[self.token]
        _OBJECTIVES[self.token] = (objective, with_context, prepared)

    def teardown(self, worker: Any) -> None:
        """Forget the objective, and what the setup prepared."""
        _OBJECTIVES.pop(self.token, None)
        _FAILED.pop(self.token, None)


def run_task(token: str, jobs: list[Job], reports: bool) -> tuple[list[Event], str] | None:
    """Run jobs on this worker, one after the other. Their events (times from the wall clock,
    which every host shares) and this worker's address are pushed to the driver as a worker
    event when they are small, and None is returned; otherwise they are returned. With
    ``reports``, each ``ctx.report`` goes to the driver and waits for its answer."""
    if token in _FAILED:
        raise _FAILED[token]
    objective, with_context, prepared = _OBJECTIVES[token]
    events = []
    cpu = CpuTime()  # this thread's
    for job in jobs:
        reporter = _reporter(token, job) if reports else None
        ctx = make_context(job, reporter=reporter, prepared=prepared) if with_context else None
        name = (token, job.trial_id, job.attempt)
        if ctx is not None:
            _RUNNING[name] = ctx
        try:
            # Contained: the objective's `SystemExit` fails its job, not the worker's thread.
            event = run_job(objective, job, ctx, worker=-1, now=time.time, cpu=cpu, contained=True)
            events.append(event)
        finally:
            _RUNNING.pop(name, None)
    from distributed import get_worker

    worker = get_worker()
    outcome = (events, str(worker.address))
    try:
        data = cloudpickle.dumps(outcome)
    except Exception:
        return outcome  # Dask's own serialisation says why, in the driver
    if len(data) >= PUSH_BELOW:
        return outcome
    worker.log_event(result_topic(token), data)
    return None


async def cancel_jobs(token: str, jobs: list[tuple[int, int]]) -> None:
    """Mark the contexts of these ``(trial, attempt)`` jobs cancelled, where they run in this
    process: the objective stops at its next ``ctx.elapse`` or ``ctx.report``, or when it
    polls ``ctx.cancelled`` (a thread cannot be stopped from outside). A coroutine, so that
    the driver need not wait for it (``Client.run(..., wait=False)``)."""
    for trial_id, attempt in jobs:
        ctx = _RUNNING.get((token, trial_id, attempt))
        if ctx is not None:
            ctx.cancel()


def _reporter(token: str, job: Job) -> Reporter:
    """Send each report as a worker event (pickled: metrics may hold any number type), then
    wait on a Dask `Variable` named for it, which the driver sets to go on or stop."""
    from distributed import Variable, get_worker

    variable: Any = Variable  # typed loosely: distributed's own hints are partial
    count = itertools.count()

    def report(step: int, metrics: Mapping[str, Any]) -> bool:
        name = f"paratune-{token}-{job.trial_id}-{job.attempt}-r{next(count)}"
        message = Report(job.trial_id, job.attempt, step, dict(metrics), time.time())
        sent = {"answer": name, "report": cloudpickle.dumps(message)}
        get_worker().log_event(report_topic(token), sent)
        answer = variable(name)
        deadline = time.monotonic() + ANSWER_WITHIN
        while True:
            try:
                go_on = bool(answer.get(timeout=_LOOK_EVERY))
                break
            except TimeoutError:
                ctx = _RUNNING.get((token, job.trial_id, job.attempt))
                if ctx is None or ctx.cancelled or time.monotonic() > deadline:
                    # Cancelled (the trial stops at its next ctx call), or the driver is gone
                    # or stuck: going on is the safe choice.
                    return True
        answer.delete()
        return go_on

    return report
