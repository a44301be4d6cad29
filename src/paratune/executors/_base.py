"""The executor protocol, and the one function every executor uses to run a job."""

from __future__ import annotations

import inspect
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from ..context import Clock, Context, TrialCancelled
from ..trial import Event, Job

_HOST = socket.gethostname()
_pid = os.getpid()  # one int shared by every event of this process, not a new one per trial


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)

Objective = Callable[..., Any]
"""``objective(config)`` or ``objective(config, ctx)``."""


class Executor(Protocol):
    """Where jobs run. Owns the clock the tuner reads, so real and simulated runs share the loop.

    An executor is used by one driver thread; it is not thread-safe. Jobs may complete in any
    order; `completed` returns them as they end, never in submission order.
    """

    @property
    def workers(self) -> int:
        """How many jobs run at once."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock the run is measured with."""
        ...

    def start(self, objective: Objective) -> None:
        """Start the workers and ship them the objective (once, not once per job)."""
        ...

    def free_slots(self) -> int:
        """How many more jobs the executor takes now (it may queue a few per worker when
        jobs are very short, to hide the cost of a round trip)."""
        ...

    def submit(self, job: Job) -> None:
        """Queue one job; never waits for it to run."""
        ...

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Wait up to ``timeout`` seconds of the executor's clock (None: until at least one job
        ends, if any is in flight) and return the events of every job that ended."""
        ...

    def cancel(self) -> list[Event]:
        """Stop every job in flight, where the executor can, and return an event for each.

        Jobs that finish normally during the cancellation are returned as ordinary events.
        The run is over: only `close` may follow.
        """
        ...

    def close(self) -> None:
        """Release the workers. Safe to call twice."""
        ...


def takes_context(objective: Objective) -> bool:
    """True when ``objective`` accepts a second positional argument (the `Context`)."""
    try:
        signature = inspect.signature(objective)
    except (TypeError, ValueError):  # builtins without a signature: call with the config only
        return False
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            positional += 1
    return positional >= 2


def make_context(job: Job, *, virtual: bool = False) -> Context:
    """The context for one job."""
    return Context(
        trial_id=job.trial_id,
        seed=job.seed,
        budget=job.budget,
        start_step=job.start_step,
        attempt=job.attempt,
        virtual=virtual,
    )


# The longest single wait an executor makes (seconds). The operating system's waits take
# milliseconds as a 32-bit integer (about 24.8 days); returning early is harmless, the loop
# simply waits again.
LONGEST_WAIT = 86_400.0


def cancelled_event(
    job: Job, started: float, finished: float, worker: int, pid: int | None = None
) -> Event:
    """The event of a job stopped by a cancellation (``worker`` -1: it never reached one)."""
    return Event(job.trial_id, job.attempt, False, None, started, finished, worker,
                 "cancelled", None, True, _HOST, pid)  # fmt: skip


def run_job(
    objective: Objective,
    job: Job,
    ctx: Context | None,
    *,
    worker: int,
    now: Callable[[], float],
) -> Event:
    """Run one job and turn whatever happens into an `Event`.

    ``ctx`` is None for an objective that takes only the config. An exception is caught and
    recorded with its traceback; `TrialCancelled` marks the job cancelled.
    `KeyboardInterrupt` propagates, so Ctrl-C still stops a serial run.
    """
    started = now()
    pid = _pid
    error: str | None
    try:
        result = objective(job.config) if ctx is None else objective(job.config, ctx)
    except TrialCancelled:
        result, error, tb, cancelled = None, "cancelled", None, True
    except Exception as exc:
        result, error, tb = None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        cancelled = False
    else:
        return Event(
            job.trial_id,
            job.attempt,
            True,
            result,
            started,
            now(),
            worker,
            None,
            None,
            False,
            _HOST,
            pid,
        )
    return Event(
        job.trial_id,
        job.attempt,
        False,
        result,
        started,
        now(),
        worker,
        error,
        tb,
        cancelled,
        _HOST,
        pid,
    )
