"""The executor protocol, and the one function every executor uses to run a job."""

from __future__ import annotations

import inspect
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..context import Clock, Context, Reporter, TrialCancelled, TrialPruned
from ..trial import Event, Job, Report
from ._resources import Resources
from ._setup import Setup

_HOST = socket.gethostname()
_pid = os.getpid()  # one int shared by every event of this process, not a new one per trial


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)

Objective = Callable[..., Any]
"""``objective(config)`` or ``objective(config, ctx)``."""


class ReportHandler(Protocol):
    """What the driver does with a `Report`: record it, and say whether the trial goes on
    (False: `Context.report` raises `TrialPruned` in the objective). Any callable that
    takes a `Report` and returns a bool is one; an executor calls it in the driver's
    thread."""

    def __call__(self, report: Report, /) -> bool:
        """Handle ``report``; True: the trial goes on."""
        ...


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

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Start the workers and ship them the objective (once, not once per job).

        Every ``ctx.report`` of a running job is handed to ``on_report`` in the driver's
        thread, from within `completed` (or at once, for an executor that runs jobs in the
        driver), and the objective waits for its answer. None: reports are kept nowhere and
        trials always go on.

        ``setup`` (optional: an executor without it refuses runs that have one) is called
        once in each worker before it takes its first job, also in a worker that replaces
        one that died, and what it returns is ``ctx.prepared`` of every job that worker
        runs. Its time is start-up, in no job's span. One that raises (or whose worker dies
        in it) raises `SetupError` from `start`, or from `completed` for a worker that
        replaces another, before that worker runs a job.
        """
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


@runtime_checkable
class UsesResources(Protocol):
    """An executor that can give each trial its own resources (cores, GPUs): the optional
    hook `paratune.executors.use_resources` looks for. `Processes` and `Dask` have it."""

    def use_resources(self, resources: Resources) -> None:
        """Give every trial ``resources`` from now on (called before `Executor.start`).

        Raises:
            ValueError: no worker could ever run such a trial.
        """
        ...


@runtime_checkable
class LosesWorkers(Protocol):
    """An executor whose workers can leave during a run without being replaced at once (a
    Dask worker killed, or its node gone, until another joins): the optional hook
    `present_workers` looks for, so that progress shows the workers there are. `Dask` has
    it; `Processes` replaces a dead worker at once and does not need it."""

    @property
    def present(self) -> int:
        """How many trials the workers still there run at once (at most `workers`)."""
        ...


def present_workers(executor: Executor) -> int:
    """How many trials ``executor`` can run at once now: its `LosesWorkers.present` count if it
    has the hook (within 0 and ``workers``), else ``workers``."""
    # getattr, not isinstance: a runtime protocol check costs microseconds, and the loop
    # asks after every result.
    present = getattr(executor, "present", None)
    if isinstance(present, int):
        return max(0, min(present, executor.workers))
    return executor.workers


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


def make_context(
    job: Job, *, virtual: bool = False, reporter: Reporter | None = None, prepared: Any = None
) -> Context:
    """The `Context` an objective gets for ``job``: its trial, seed, budget, start step,
    attempt and checkpoint, and what its worker's setup ``prepared``.

    Args:
        job: the job about to run.
        virtual: True for an executor on a virtual clock: ``ctx.elapse`` then adds to
            ``ctx.virtual_time`` instead of sleeping.
        reporter: called with ``(step, metrics)`` on each ``ctx.report``; it returns
            whether the trial goes on (False: the report raises `TrialPruned`). None: reports
            are kept in the context only.
        prepared: what the run's setup returned in this worker (None without a setup).
    """
    return Context(
        trial_id=job.trial_id,
        seed=job.seed,
        budget=job.budget,
        start_step=job.start_step,
        attempt=job.attempt,
        virtual=virtual,
        checkpoint=job.checkpoint,
        reporter=reporter,
        prepared=prepared,
    )


# Peak memory and CPU time cost system calls worth a tenth of a trivial job or more, so a job
# is measured only when the one before it (in the same worker) took at least this long.
_MEASURE_AFTER = 0.001


class PeakMemory:
    """Peak resident memory of this process over one job, where Linux tells it: the peak is
    reset before the job (``/proc/self/clear_refs``) and read after (``VmHWM``).

    Both take tens of microseconds, which would double the cost of a trivial job, so a job is
    measured only when the previous one of this process took a millisecond or more.

    Used only where a job has its process to itself (a worker process). The serial and
    simulated executors run jobs in the user's own process, the driver: its peak only grows
    (``ru_maxrss``), so a job under an earlier peak would read as using nothing, and
    resetting the peak would change what the user's program reads of its own; and the
    simulated executor interleaves jobs at each report. There, and on threads (jobs share
    the process), no job's peak is its own, and none is recorded.
    """

    def __init__(self) -> None:
        self.enabled = sys.platform.startswith("linux")
        self._next = True

    def start(self) -> bool:
        """Reset the peak; False when this job is not measured."""
        if not (self.enabled and self._next):
            return False
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
        except OSError:
            self.enabled = False
            return False
        return True

    def finish(self, measured: bool, seconds: float) -> int | None:
        """The peak since `start`, in bytes, if this job was ``measured``; ``seconds``: how
        long the job took, which decides whether the next one is measured."""
        self._next = seconds >= _MEASURE_AFTER
        if not measured:
            return None
        try:
            with open("/proc/self/status", "rb") as file:
                status = file.read()
            at = status.index(b"VmHWM:") + 6
            return int(status[at : status.index(b"kB", at)]) * 1024
        except (OSError, ValueError):
            return None


class CpuTime:
    """CPU time of one job, from ``clock`` (`time.thread_time` for a job run in a thread,
    `time.process_time` for a worker process).

    A CPU clock is a system call (about a microsecond in a virtual machine), a tenth of a
    trivial job's whole cost, so a job is timed only when the previous one took a millisecond
    or more.
    """

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self.clock = clock
        self._next = True

    def start(self) -> float | None:
        """The clock now, or None when this job is not timed."""
        return self.clock() if self._next else None

    def finish(self, started: float | None, seconds: float) -> float | None:
        """CPU seconds since `start` (None if not timed); ``seconds``: how long the job
        took, which decides whether the next one is timed."""
        self._next = seconds >= _MEASURE_AFTER
        return None if started is None else self.clock() - started


# The longest single wait an executor makes (seconds). The operating system's waits take
# milliseconds as a 32-bit integer (about 24.8 days); returning early is harmless, the loop
# simply waits again.
LONGEST_WAIT = 86_400.0


def cancelled_event(
    job: Job, started: float, finished: float, worker: int, pid: int | None = None
) -> Event:
    """The event of a job stopped by a cancellation (``worker`` -1: it never reached one)."""
    event = failed_event(job, started, finished, worker, "cancelled", host=_HOST, pid=pid)
    return event._replace(cancelled=True)


def failed_event(
    job: Job,
    started: float,
    finished: float,
    worker: int,
    error: str,
    *,
    host: str | None = None,
    pid: int | None = None,
    moved: int = 0,
) -> Event:
    """The event of a job that failed without a result of its own: its worker died, it ran
    past its timeout, or its task was lost (``worker`` -1: not known)."""
    return Event(
        trial_id=job.trial_id,
        attempt=job.attempt,
        ok=False,
        result=None,
        started=started,
        finished=finished,
        worker=worker,
        error=error,
        host=host,
        pid=pid,
        moved=moved,
    )


def _error_text(exc: BaseException) -> tuple[str, str]:
    """``"ValueError: message"`` and the traceback of an exception the objective raised;
    an exception whose own ``str`` raises is named by its class alone."""
    try:
        return f"{type(exc).__name__}: {exc}", traceback.format_exc()
    except Exception:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        return f"{type(exc).__name__} (its message cannot be shown)", frames


def run_job(
    objective: Objective,
    job: Job,
    ctx: Context | None,
    *,
    worker: int,
    now: Callable[[], float],
    cpu: CpuTime | None = None,
    memory: PeakMemory | None = None,
    contained: bool = False,
) -> Event:
    """Run one job and turn whatever happens into an `Event`.

    ``ctx`` is None for an objective that takes only the config. An exception is caught and
    recorded with its traceback; `TrialCancelled` marks the job cancelled; `TrialPruned` (or
    a context told to stop) marks it pruned, with its last report as the result.
    `KeyboardInterrupt` and `SystemExit` propagate, so Ctrl-C still stops a serial run,
    unless the job is ``contained``: run in a worker (a thread or a process of its own),
    where they can only come from the objective itself (``sys.exit(3)``, a stray ``raise
    KeyboardInterrupt``), and fail its job with their traceback like any exception, the
    worker living on. ``cpu`` measures the job's CPU time, and ``memory`` its peak memory,
    where given.
    """
    measured = memory is not None and memory.start()
    cpu_started = cpu.start() if cpu is not None else None
    started = now()
    pid = _pid
    error: str | None = None
    tb: str | None = None
    ok, cancelled = True, False
    try:
        result = objective(job.config) if ctx is None else objective(job.config, ctx)
    except TrialCancelled:
        ok, result, error, cancelled = False, None, "cancelled", True
    except TrialPruned:
        result = None
    except Exception as exc:
        ok, result, (error, tb) = False, None, _error_text(exc)
    except BaseException as exc:
        if not contained:
            raise
        ok, result, (error, tb) = False, None, _error_text(exc)
    finished = now()
    cpu_time = cpu.finish(cpu_started, finished - started) if cpu is not None else None
    peak = memory.finish(measured, finished - started) if memory is not None else None
    pruned = ctx is not None and ctx.pruned and not cancelled
    if pruned and ctx is not None:
        last = ctx.last_report
        ok, error, tb = True, None, None
        result = dict(last[1]) if last is not None and result is None else result
    checkpoint_step = None if ctx is None else ctx.checkpoint_step
    # In the order of Event's fields, not by keyword: sixteen keywords cost about a
    # microsecond more per job, several percent of a trivial serial trial (about 27 us).
    return Event(
        job.trial_id,
        job.attempt,
        ok,
        result,
        started,
        finished,
        worker,
        error,
        tb,
        cancelled,
        _HOST,
        pid,
        pruned,
        checkpoint_step,
        cpu_time,
        peak,
    )
