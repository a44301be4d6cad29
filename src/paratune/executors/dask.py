"""The Dask executor: every job a task on a Dask cluster, a running one or a local one.

Needs the ``dask`` extra (``pip install 'paratune[dask]'``): ``dask`` and ``distributed``,
imported only when a `Dask` executor connects.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import secrets
import time
from collections.abc import Mapping
from typing import Any

import cloudpickle

from ..errors import ParatuneError
from ..trial import Event, Job, Report
from . import _dask_cluster
from ._base import LONGEST_WAIT, Objective, ReportHandler, cancelled_event, takes_context
from ._dask_flight import Flight, Task
from ._dask_inbox import Asked, Ended, Inbox, Lost, Message, Pushed, WorkersChanged
from ._dask_support import (
    check_arguments,
    dask_resources,
    import_distributed,
    pickled_by_value,
    split,
    task_error,
)
from ._dask_survey import Survey
from ._pacing import Pacing
from ._resources import Resources, parse_resources
from ._setup import Setup, SetupError, SetupFailed, setup_error

# How often (seconds) a wait with no completions checks that the scheduler is still there.
_CHECK_EVERY = 1.0


class WallClock:
    """The machines' wall clock (``time.time``): trials start and end on other hosts, whose
    monotonic clocks share no origin with the driver's. Hosts kept in step by NTP agree to
    a few milliseconds."""

    virtual = False

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()


class Dask:
    """Runs each job as a task on a Dask cluster.

    ``Dask("tcp://host:8786")`` uses a running cluster (``dask scheduler`` and ``dask worker``
    processes, or a dask-jobqueue cluster's address); ``Dask(client)`` uses a connected
    `distributed.Client`; ``Dask()`` or ``Dask(n_workers=4)`` starts a `LocalCluster` of
    worker processes when the run starts, and closes it, processes and all, when the run
    ends (also when it fails or is interrupted). That cluster listens on 127.0.0.1 only and
    serves no dashboard.

    The objective is cloudpickled once and handed to every worker (also to workers that join
    later) as a worker plugin, not once per job. Jobs are tasks that are never treated as pure
    or cached (one key per attempt), taken as they complete. Short, steady jobs are
    dispatched ahead, one task queued behind each running one (where every thread of the
    cluster is this executor's), very short ones several to a task (see `Pacing`).

    A trial whose worker is lost (killed, out of memory, its node gone) is not at fault: it
    is sent to another worker as the same attempt, up to ``worker_loss_retries`` times (its
    `Event` counts the moves), and only then fails that attempt, which ``retries`` may run
    again. The very short jobs that shared its task move with it; a job queued behind it had
    not started and is sent again without counting. Each task is placed on a named worker,
    so Dask's scheduler cannot run it again elsewhere by itself (its ``allowed-failures``):
    paratune alone decides. The other trials go on. If the scheduler becomes unreachable,
    `completed` raises `ParatuneError`: the trials finished so far are in the store and the
    ones in flight stay running there, so the experiment resumes later.

    A task runs in a thread of its worker, so a running trial that is cancelled stops only
    where its objective lets it (``ctx.elapse``, ``ctx.report``, ``ctx.cancelled``), else its
    result is dropped; ``trial_timeout`` is not offered.

    Args:
        address: the scheduler's address (``"tcp://host:8786"``, ``"tls://..."``), a
            `distributed.Client` (left open afterwards), or None to start a local cluster.
            The connection to an address is kept open, for later runs in the same process
            to the same address (with the same ``security``), until the process ends.
        n_workers: worker processes of the local cluster (default: the number of CPUs).
        threads_per_worker: threads of each local worker (each runs one trial at a time).
        security: a `distributed.Security` (TLS certificates) for the connection, and for the
            local cluster when one is started.
        resources: what each local worker offers to trials with per-trial resources, as
            ``{"cpus": 4, "gpus": 1}`` (default: ``{"cpus": threads_per_worker}``). With an
            address, start the workers with ``dask worker --resources "CPU=4,GPU=1"``.
        workers: the most trials at once (default: what the cluster runs at once when this
            executor connects: its threads, or with per-trial resources, how many fit).
        timeout: seconds to wait for the scheduler to answer (an address where nothing
            listens fails after that long), and for a first worker to join a cluster that
            has none.
        worker_loss_retries: how many times a trial whose worker was lost moves to another
            worker before that attempt fails (0: it fails at once).
        pacing: when jobs go several to a task, and tasks wait behind running ones.

    Raises:
        ValueError: an argument is malformed (an address that is not
            ``PROTOCOL://HOST:PORT``, say); the message names it.
    """

    def __init__(
        self,
        address: Any = None,
        *,
        n_workers: int | None = None,
        threads_per_worker: int = 1,
        security: Any = None,
        resources: Mapping[str, float] | None = None,
        workers: int | None = None,
        timeout: float = 60.0,
        worker_loss_retries: int = 3,
        pacing: Pacing | None = None,
    ) -> None:
        check_arguments(
            address, n_workers=n_workers, workers=workers,
            threads_per_worker=threads_per_worker, resources=resources, timeout=timeout,
            worker_loss_retries=worker_loss_retries,
        )  # fmt: skip
        offers = parse_resources(resources) or Resources(cpus=threads_per_worker)
        self.address = address
        self.worker_loss_retries = worker_loss_retries
        self.clock = WallClock()
        self._link = _dask_cluster.Link(
            address, n_workers=n_workers, threads_per_worker=threads_per_worker,
            resources=dask_resources(offers), security=security, timeout=timeout,
        )  # fmt: skip
        self._survey = Survey(self._link, workers, timeout)
        self._pacing = pacing if pacing is not None else Pacing()
        self._token = ""
        self._flight = self._new_flight()
        self._sends = itertools.count()
        self._inbox: Inbox = queue.SimpleQueue()  # from the client's thread
        self._worker_side: Any = None
        self._on_report: ReportHandler | None = None
        self._setup: Setup | None = None
        self._set_up_failed = False

    def __repr__(self) -> str:
        where = self.address if isinstance(self.address, str) else None
        return f"Dask({where!r})" if self.address is not None else "Dask()"

    @property
    def workers(self) -> int:
        """How many trials run at once: ``workers`` if given, else what the cluster runs at
        once (a local cluster's from its arguments, without starting it; a running
        cluster's from its scheduler, connecting if need be)."""
        return self._survey.workers

    @property
    def present(self) -> int:
        """Trials the workers as last surveyed run at once (`LosesWorkers`)."""
        return self._survey.present(self.workers)

    def use_resources(self, resources: Resources) -> None:
        """Run every trial with ``resources`` held on its worker (Dask's ``CPU`` and ``GPU``
        worker resources). Checks that some worker can run such a trial (connecting to a
        running cluster to ask).

        Raises:
            ValueError: no worker of the cluster offers that much.
        """
        self._survey.use_resources(resources)

    @staticmethod
    def disconnect() -> None:
        """Close the connections to running clusters that `Dask` executors keep for later
        runs in this process (they also close when the process ends). Call it before
        stopping a cluster that this process will not use again."""
        _dask_cluster.disconnect()

    def _new_flight(self, token: str = "") -> Flight:
        return Flight(token, self.clock.now, self.worker_loss_retries, self._pacing)

    # ---- the executor protocol -------------------------------------------------------------

    def start(
        self,
        objective: Objective,
        on_report: ReportHandler | None = None,
        *,
        setup: Setup | None = None,
    ) -> None:
        """Connect (starting the local cluster if there is one) and hand the objective to
        every worker, once; each worker calls ``setup`` then (a worker that joins later,
        when it joins), and this returns once the workers there are have. Each
        ``ctx.report`` travels to the driver as a worker event, is handed to ``on_report``
        within `completed`, and the objective waits for the answer (a Dask `Variable`): a
        few milliseconds per report.

        Raises:
            TypeError: the objective or the setup cannot be pickled.
            SetupError: the setup raised on a worker.
        """
        try:
            with pickled_by_value(objective, setup):
                payload = cloudpickle.dumps((objective, takes_context(objective), setup))
        except Exception as exc:
            what = "objective" if setup is None else "objective or the setup"
            raise TypeError(f"the {what} cannot be sent to Dask workers: {exc}") from exc
        self._setup, self._set_up_failed = setup, False
        client = self._link.connect()
        try:
            self._begin(client, payload, on_report)
        except BaseException:  # also Ctrl-C: the run never starts, so close nothing stays
            self._shutdown()
            raise

    def _begin(self, client: Any, payload: bytes, on_report: ReportHandler | None) -> None:
        """Ship the objective to the workers (running the setup there) and listen for the
        run's events."""
        from . import _dask_worker

        self._worker_side = _dask_worker
        self._survey.begin()
        self._token = secrets.token_hex(6)
        self._pacing.reset()
        self._flight = self._new_flight(self._token)
        try:
            plugin = _dask_worker.ShipObjective(self._token, payload)
            client.register_plugin(plugin, name=self._plugin_name())
        except _dask_worker.SetupRaised as exc:
            raise self._setup_error(exc) from None
        except Exception as exc:
            raise ParatuneError(
                f"the objective cannot be loaded on the Dask workers: {type(exc).__name__}: {exc}"
            ) from exc
        client.subscribe_topic("all", self._on_cluster_event)
        self._on_report = on_report
        inbox = self._inbox
        client.subscribe_topic(
            _dask_worker.result_topic(self._token), lambda event: inbox.put(Pushed(event[1]))
        )
        if on_report is not None:
            client.subscribe_topic(
                _dask_worker.report_topic(self._token),
                lambda event: inbox.put(Asked(event[1]["answer"], event[1]["report"])),
            )

    def free_slots(self) -> int:
        """Jobs that may be submitted now: a job for each worker thread that has room
        (threads, and resources when trials ask for some) and is not taken, within
        ``workers``; more when jobs are short (see the class docstring)."""
        self._refresh()
        return self._flight.free_slots(self._survey.room, self.workers)

    def _refresh(self) -> None:
        """Take the list of workers again if it changed; a task sent to a worker that is
        gone is lost."""
        if not self._survey.refresh():
            return
        room = self._survey.room
        for key, task in self._flight.tasks.items():
            if task.address and task.address not in room:
                self._inbox.put(Lost(task.address, key))

    def submit(self, job: Job) -> None:
        """Queue the job; it is sent on the next `completed`, together with the other jobs
        submitted meanwhile, one `Client.map` per worker. Each task has its own key, never
        cached or merged with another attempt.

        paratune picks the workers because Dask places tasks by their expected run time, not
        by resources, and could queue a trial behind another on a busy worker while an idle
        one could run it."""
        self._flight.submit(job)

    def _flush(self) -> None:
        """Send the jobs submitted since the last call: spread over as many tasks as there are
        places for (at least one), each task a run of consecutive jobs."""
        keys = [key for key in self._flight.outbox if key in self._flight.running]
        self._flight.outbox.clear()
        if not keys:
            return
        self._refresh()  # a worker left (its trials are among these, sent again) or joined
        places = self._flight.places(self._survey.room, self.workers)
        places = places or [("", False)] * len(keys)  # no room known: Dask picks
        by_worker, queued = split(keys, places)
        for address, groups in by_worker.items():
            self._send(address, groups, queued)

    def _send(self, address: str, groups: list[list[str]], queued: set[str]) -> None:
        """One task per group of job keys, on the worker at ``address`` ("": any); those
        whose first key is in ``queued`` wait behind another task of ours there."""
        trial_resources = self._survey.trial_resources
        resources = dask_resources(trial_resources) if trial_resources else None
        reports = self._on_report is not None
        # Named for the first job, and unique, also when a job is sent again.
        names = [f"{group[0]}-{next(self._sends)}" for group in groups]
        futures = self._link.client.map(
            self._worker_side.run_task,
            [self._token] * len(groups),
            [[self._flight.running[key].job for key in group] for group in groups],
            [reports] * len(groups),
            key=names,
            workers=[address] if address else None,
            allow_other_workers=False,
            resources=resources,
            retries=0,
        )
        inbox = self._inbox
        for name, group, future in zip(names, groups, futures, strict=True):
            self._flight.tasks[name] = Task(address, group, future, group[0] in queued)
            for key in group:
                self._flight.running[key].task = name
            future.add_done_callback(lambda f: inbox.put(Ended(str(f.key))))

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """Runs in the client's thread: a worker joined, or left while it held our tasks."""
        message = event[1]
        if not isinstance(message, dict):
            return
        action = message.get("action")
        if action in ("add-worker", "remove-worker"):
            self._survey.stale = True
            self._inbox.put(WorkersChanged())  # wakes a driver waiting for room
        if action != "remove-worker":
            return
        worker = str(message.get("worker", "?"))
        for key in message.get("processing-tasks") or ():
            if str(key).startswith(f"paratune-{self._token}-"):
                self._inbox.put(Lost(worker, str(key)))

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Wait up to ``timeout`` seconds for the first job to end; return every ended one.

        Raises:
            ParatuneError: the scheduler is unreachable.
        """
        self._survey.check_scheduler()
        self._flush()
        if not self._flight.running:
            return self._await_room(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        messages: list[Message] = []
        while not messages:
            wait = _CHECK_EVERY if deadline is None else deadline - time.monotonic()
            try:
                messages.append(
                    self._inbox.get(timeout=max(0.0, min(wait, _CHECK_EVERY, LONGEST_WAIT)))
                )
            except queue.Empty:
                self._survey.check_scheduler()
                if deadline is not None and time.monotonic() >= deadline:
                    return []
        while True:
            try:
                messages.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return self._events(messages)

    def _await_room(self, timeout: float | None) -> list[Event]:
        """Nothing in flight: if no worker has room (all gone), wait up to ``timeout`` for
        one to join; give up once none has for ``timeout`` seconds of the constructor."""
        if self.free_slots() > 0:
            self._survey.room_found()
            return []
        left = self._survey.room_wait()
        try:
            self._inbox.get(timeout=min(left, _CHECK_EVERY if timeout is None else timeout))
        except queue.Empty:
            self._survey.check_scheduler()
        return []

    def _events(self, messages: list[Message]) -> list[Event]:
        """The events that ``messages`` bring, once each message is handled."""
        events: list[Event] = []
        finished: list[str] = []
        for message in messages:
            match message:
                case Asked(answer, report):
                    self._answer(answer, report)
                case Pushed(data):  # the usual way results come: pushed by their worker
                    events += self._flight.take(*cloudpickle.loads(data))
                case Ended(key):
                    finished.append(key)
                case Lost(worker, key):
                    if (task := self._flight.tasks.pop(key, None)) is not None:
                        events += self._flight.moved(task, worker)
                case WorkersChanged():
                    pass  # `free_slots` surveys them again
        return events + self._ended(finished)

    def _ended(self, keys: list[str]) -> list[Event]:
        """The events of the tasks whose futures are done: results not pushed are fetched;
        a task that failed fails its jobs, or moves them if Dask gave up on its worker."""
        events: list[Event] = []
        ended = [self._flight.tasks[key] for key in keys if key in self._flight.tasks]
        ok = [task for task in ended if task.future.status == "finished"]
        for result in self._gather(ok):
            if result is not None:  # else pushed as a worker event, still on its way
                events += self._flight.take(*result)
        for task in ended:
            status = task.future.status
            if status in ("finished", "pending") or task.future.key not in self._flight.tasks:
                continue  # pending: a worker's loss touched it, and it runs on
            del self._flight.tasks[task.future.key]
            failure = task.future.exception() if status == "error" else None
            if isinstance(failure, self._worker_side.SetupRaised) and not self._set_up_failed:
                self._set_up_failed = True  # once: its other tasks fail while the run ends
                raise self._setup_error(failure)  # on a worker that joined later
            if type(failure).__name__ == "KilledWorker":
                events += self._flight.moved(task, task.address or "?")  # the scheduler gave up
                continue
            self._flight.start_next(task.address)
            if status == "cancelled":
                self._survey.check_scheduler()
                events += self._flight.fail(task, "its Dask task was cancelled")
            else:
                events += self._flight.fail(task, task_error(task.future.exception()))
        return events

    def _setup_error(self, raised: Any) -> SetupError:
        """The `SetupError` of a setup that raised on a worker."""
        assert self._setup is not None
        return setup_error(self._setup, raised.where, SetupFailed(raised.error, raised.traceback))

    def _answer(self, answer: str, pickled: bytes) -> None:
        """Hand a report to the driver's handler and send its answer back to the worker."""
        report: Report = cloudpickle.loads(pickled)
        go_on = True if self._on_report is None else self._on_report(report)
        distributed = import_distributed()
        distributed.Variable(answer, client=self._link.client).set(go_on)

    def _gather(self, finished: list[Task]) -> list[tuple[list[Event], str | None] | None]:
        """The results of finished tasks that were not pushed (too large for a worker event),
        fetched together: one round trip, not one each. None for those that were pushed."""
        if not finished:
            return []
        try:
            results: list[tuple[list[Event], str | None] | None] = self._link.client.gather(
                [task.future for task in finished], errors="raise"
            )
        except Exception:
            self._survey.check_scheduler()
            results = []
            for task in finished:  # one failed to arrive: take them one by one
                try:
                    results.append(task.future.result())
                except Exception as exc:
                    results.append((self._flight.fail(task, task_error(exc)), None))
        return results

    def cancel(self) -> list[Event]:
        """Release every task in flight and report it cancelled. A task already running is
        told through its ``ctx`` (see the class docstring); its result is dropped.

        Raises:
            ParatuneError: the scheduler is unreachable, so what became of the jobs in flight
                is not known: they stay running in the store, to run again on resume.
        """
        self._survey.check_scheduler()
        self._flight.outbox.clear()  # never sent: reported cancelled below, nothing to stop
        events = self.completed(timeout=0)
        now = self.clock.now()
        futures = [task.future for task in self._flight.tasks.values()]
        if futures and self._link.client is not None:
            self._link.client.cancel(futures)
            jobs = [(r.job.trial_id, r.job.attempt) for r in self._flight.running.values()]
            # Running tasks go on in their threads; their objectives learn of it through ctx.
            self._link.client.run(self._worker_side.cancel_jobs, self._token, jobs, wait=False)
        for running in self._flight.running.values():
            events.append(cancelled_event(running.job, running.submitted, now, -1))
        self._flight = self._new_flight()
        return events

    def close(self) -> None:
        """Take the objective off the workers and disconnect (closing the local cluster, with
        its processes, if this executor started one; a client passed in is left open). Safe
        to call twice; the connection is dropped even when interrupted (Ctrl-C)."""
        client = self._link.client
        try:
            # Unsubscribed first, also from a local cluster: its scheduler would otherwise
            # send the client's own removal to the closed client (and log it as critical).
            if client is not None and self._survey.lost is None and client.status == "running":
                with contextlib.suppress(Exception):  # the cluster went away meanwhile
                    client.unsubscribe_topic("all")
                    if self._token:
                        client.unsubscribe_topic(self._worker_side.result_topic(self._token))
                        client.unsubscribe_topic(self._worker_side.report_topic(self._token))
                        client.unregister_worker_plugin(self._plugin_name())
        finally:
            self._flight = self._new_flight()
            self._shutdown()

    def _shutdown(self) -> None:
        self._link.close()
        self._survey.forget()
        self._token = ""

    def _plugin_name(self) -> str:
        return f"paratune-{self._token}"
