"""The Dask executor: every job a task on a Dask cluster, a running one or a local one.

Needs the ``dask`` extra (``pip install 'paratune[dask]'``): ``dask`` and ``distributed``,
imported only when a `Dask` executor connects.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import math
import queue
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cloudpickle

from ..errors import ParatuneError
from ..trial import Event, Job, Report
from ._base import LONGEST_WAIT, Objective, ReportHandler, cancelled_event, takes_context
from ._dask_support import (
    check_arguments,
    dask_resources,
    dask_spelling,
    import_distributed,
    pickled_by_value,
    task_error,
)
from ._resources import Resources, parse_resources

# How often (seconds) a wait with no completions checks that the scheduler is still there.
_CHECK_EVERY = 1.0
# Connections to running clusters, by (address, security), kept for the next run in this
# process: connecting and closing a client are a large share of a short run's overhead.
_CLIENTS: dict[tuple[str, Any], Any] = {}
# How long (seconds) a client made by paratune holds a message to the scheduler so as to send
# it with others (Dask's default is 0.01).
_BATCH_WITHIN = 0.002
# Jobs shorter than this on average (seconds) go several to a task, up to _MAX_CHUNK, so that
# one round trip through the scheduler serves many of them (as the process executor does).
_CHUNK_BELOW = 0.005
_MAX_CHUNK = 64
# Jobs shorter than this on average (seconds) have one more task queued on each worker thread
# than it runs, so the thread starts the next job as soon as one ends, instead of waiting a
# round trip (milliseconds) for the driver to send it. Longer jobs lose too little to be worth
# deciding a job early.
_QUEUE_AHEAD_BELOW = 5.0


class WallClock:
    """The machines' wall clock (``time.time``): trials start and end on other hosts, whose
    monotonic clocks share no origin with the driver's. Hosts kept in step by NTP agree to
    a few milliseconds."""

    virtual = False

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()


@dataclass(slots=True)
class _Running:
    job: Job
    submitted: float
    task: str = ""  # the key of the Dask task that carries it, once sent


@dataclass(slots=True)
class _Task:
    address: str  # the worker it runs on ("" for any)
    jobs: list[str]  # the keys of its jobs, run one after the other
    future: Any = None  # distributed.Future (typed loosely: partial hints upstream)
    queued: bool = False  # waits behind another task of ours on its worker thread


class Dask:
    """Runs each job as a task on a Dask cluster.

    ``Dask("tcp://host:8786")`` uses a running cluster (``dask scheduler`` and ``dask worker``
    processes, or a dask-jobqueue cluster's address); ``Dask(client)`` uses a connected
    `distributed.Client`; ``Dask()`` or ``Dask(n_workers=4)`` starts a `LocalCluster` of
    worker processes for the run and stops it afterwards.

    The objective is cloudpickled once and handed to every worker (also to workers that join
    later) as a worker plugin, not once per job. Jobs are tasks that are never treated as pure
    or cached (one key per attempt), taken as they complete. Short jobs are dispatched ahead:
    while jobs take under 5 s on average, each worker thread has one task queued behind the
    one it runs, and while they take under 5 ms, a task carries up to 64 jobs, so the round
    trip through the scheduler is not paid by every job. A trial whose worker is lost
    (killed, out of memory, its node gone) fails that attempt (with the very short jobs of
    its task), so ``retries`` runs it again on another worker; a job queued behind it there
    had not started and is sent again as the same attempt; the other trials go on.
    If the scheduler becomes unreachable, `completed` raises `ParatuneError`: the trials
    finished so far are in the store and the ones in flight stay running there, so the
    experiment resumes later.

    A task runs in a thread of its worker, so a cancelled trial that is already running stops
    only where its objective lets it (``ctx.elapse``, ``ctx.report``, ``ctx.cancelled``, as
    on the thread executor), else it goes on until it returns (its result is dropped);
    ``trial_timeout`` is not offered.

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
        timeout: seconds to wait for the scheduler to answer, and for a first worker to join
            a cluster that has none.
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
    ) -> None:
        check_arguments(
            address, n_workers=n_workers, workers=workers,
            threads_per_worker=threads_per_worker, resources=resources, timeout=timeout,
        )  # fmt: skip
        worker_resources = parse_resources(resources)
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.security = security
        self.clock = WallClock()
        self._local_resources = worker_resources or Resources(cpus=threads_per_worker)
        self._asked = workers
        self._wait = timeout
        self._trial_resources: Resources | None = None
        self._workers: int | None = None
        self._client: Any = None  # distributed.Client
        self._cluster: Any = None
        self._token = ""
        self._running: dict[str, _Running] = {}  # by job key
        self._tasks: dict[str, _Task] = {}  # sent, by task key
        self._sends = itertools.count()
        self._outbox: list[str] = []  # keys of jobs submitted, not yet sent
        self._mean_run: float | None = None  # moving average of job run times, seconds
        # (kind, what) from the client's thread: ("result", pickled events), ("done", task
        # key), (worker address, task key) for a task lost with its worker, ("report",
        # message), ("", "") when workers changed.
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._indexes: dict[str, int] = {}
        self._lost: ParatuneError | None = None
        self._worker_side: Any = None
        self._on_report: ReportHandler | None = None
        self._room: dict[str, int] = {}  # worker address -> trials it runs at once
        self._stale = True  # workers joined or left since `_room` was taken
        self._roomless_since: float | None = None

    def __repr__(self) -> str:
        where = self.address if isinstance(self.address, str) else None
        return f"Dask({where!r})" if self.address is not None else "Dask()"

    # ---- connection ------------------------------------------------------------------------

    @property
    def workers(self) -> int:
        """How many trials run at once (connects to the cluster to find out, if need be)."""
        if self._workers is None:
            self._workers = self._asked or self._capacity()
        return self._workers

    def use_resources(self, resources: Resources) -> None:
        """Run every trial with ``resources`` held on its worker (Dask's ``CPU`` and ``GPU``
        worker resources). Connects to the cluster to check that some worker can run such a
        trial.

        Raises:
            ValueError: no worker of the cluster offers that much.
        """
        self._trial_resources = resources
        self._workers = None
        if self._capacity() == 0:
            offers = "; ".join(
                sorted(
                    ",".join(f"{k}={v:g}" for k, v in sorted((i.get("resources") or {}).items()))
                    or "nothing"
                    for i in self._worker_info().values()
                )
            )
            raise ValueError(
                f"resources: no worker of the Dask cluster ({self._where()}) can run a trial "
                f"that needs {dask_spelling(resources)}: its workers offer {offers}; start "
                f'workers with dask worker --resources "{dask_spelling(resources)}"'
            )

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        distributed = import_distributed()
        try:
            if self.address is None:
                self._cluster = distributed.LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=self.threads_per_worker,
                    processes=True,
                    dashboard_address=":0",  # any free port: 8787 may be taken
                    resources=dask_resources(self._local_resources),
                    security=self.security,
                )
                client = distributed.Client(self._cluster, security=self.security)
                _send_sooner(client)
            elif isinstance(self.address, str):
                client = _CLIENTS.get(self._shared())
                if client is None or client.status != "running":
                    client = distributed.Client(
                        self.address, security=self.security, timeout=self._wait
                    )
                    _send_sooner(client)
                    if not _CLIENTS:
                        atexit.register(_close_shared_clients)
                    _CLIENTS[self._shared()] = client
            else:
                client = self.address
            client.wait_for_workers(1, timeout=self._wait)
        except (OSError, TimeoutError) as exc:
            self._shutdown()
            raise ParatuneError(
                f"cannot use the Dask cluster at {self._where()}: {type(exc).__name__}: {exc}"
            ) from exc
        self._client = client
        return client

    @staticmethod
    def disconnect() -> None:
        """Close the connections to running clusters that `Dask` executors keep for later
        runs in this process (they also close when the process ends). Call it before
        stopping a cluster that this process will not use again."""
        while _CLIENTS:
            _, client = _CLIENTS.popitem()
            with contextlib.suppress(Exception):
                client.close(timeout=2)

    def _shared(self) -> tuple[str, Any]:
        # The Security object itself (hashed by identity), not its id: the key keeps it
        # alive, so a later object cannot take its id and reuse a client made without it.
        return str(self.address), self.security

    def _worker_info(self) -> dict[str, dict[str, Any]]:
        """Each worker's address and what the scheduler knows of it."""
        info = self._connect().scheduler_info(n_workers=-1)
        return dict(info["workers"])

    def _survey(self) -> dict[str, int]:
        """Each worker's address, and how many of our trials it runs at once: its threads,
        or fewer when per-trial resources are the limit."""
        need = dask_resources(self._trial_resources) if self._trial_resources else {}
        room = {}
        for address, info in self._worker_info().items():
            offers = info.get("resources") or {}
            fits = [int(info.get("nthreads", 1))]
            fits += [math.floor(offers.get(name, 0) / need[name] + 1e-9) for name in need]
            room[address] = min(fits)
        return room

    def _capacity(self) -> int:
        """Trials the cluster's workers run at once (with the per-trial resources); the
        survey is kept for `free_slots`."""
        self._room, self._stale = self._survey(), False
        return sum(self._room.values())

    def _where(self) -> str:
        if isinstance(self.address, str):
            return self.address
        if self._client is not None:
            return str(self._client.scheduler.address)
        return "a local cluster" if self.address is None else repr(self.address)

    # ---- the executor protocol -------------------------------------------------------------

    def start(self, objective: Objective, on_report: ReportHandler | None = None) -> None:
        """Connect (starting the local cluster if there is one) and hand the objective to
        every worker, once. Each ``ctx.report`` travels to the driver as a worker event, is
        handed to ``on_report`` within `completed`, and the objective waits for the answer
        (a Dask `Variable`): a few milliseconds per report."""
        try:
            with pickled_by_value(objective):
                payload = cloudpickle.dumps((objective, takes_context(objective)))
        except Exception as exc:
            raise TypeError(f"the objective cannot be sent to Dask workers: {exc}") from exc
        client = self._connect()
        from . import _dask_worker

        self._worker_side = _dask_worker
        self.workers  # noqa: B018 - settle the worker count before the first job
        self._token = secrets.token_hex(6)
        self._running.clear()
        self._tasks.clear()
        self._mean_run = None
        self._lost = None
        try:
            plugin = self._worker_side.ShipObjective(self._token, payload)
            client.register_plugin(plugin, name=self._plugin_name())
        except Exception as exc:
            raise ParatuneError(
                f"the objective cannot be loaded on the Dask workers: {type(exc).__name__}: {exc}"
            ) from exc
        client.subscribe_topic("all", self._on_cluster_event)
        self._on_report = on_report
        results = self._worker_side.result_topic(self._token)
        client.subscribe_topic(results, lambda event: self._inbox.put(("result", event[1])))
        if on_report is not None:
            topic = self._worker_side.report_topic(self._token)
            client.subscribe_topic(topic, lambda event: self._inbox.put(("report", event[1])))

    def free_slots(self) -> int:
        """Jobs that may be submitted now: a job for each worker thread that has room
        (threads, and resources when trials ask for some) and is not taken, within
        ``workers``; more when jobs are short (see the class docstring)."""
        if self._stale:
            self._refresh()
        return max(0, len(self._places()) * self._chunk() - len(self._outbox))

    def _depth(self) -> int:
        """Tasks per worker thread: 2 (one running, one queued) while jobs are short and every
        thread of the cluster is ours (else Dask would run the queued one at once on an idle
        thread, beyond ``workers``), else 1."""
        short = self._mean_run is None or self._mean_run < _QUEUE_AHEAD_BELOW
        return 2 if short and self.workers >= sum(self._room.values()) else 1

    def _chunk(self) -> int:
        """Jobs per task."""
        short = self._mean_run is not None and self._mean_run < _CHUNK_BELOW
        return _MAX_CHUNK if short else 1

    def _places(self) -> list[tuple[str, bool]]:
        """A worker address for each task that may be sent now: idle threads first, then
        places in the queues (marked True), taking the workers in turn so that tasks spread
        out; no more than ``workers`` allows."""
        depth = self._depth()
        tasks = Counter(task.address for task in self._tasks.values())
        idle = {a: fits - tasks[a] for a, fits in self._room.items()}
        queued = {a: fits * depth - max(tasks[a], fits) for a, fits in self._room.items()}
        places = [(a, False) for a in _in_turn(idle)] + [(a, True) for a in _in_turn(queued)]
        return places[: max(0, self.workers * depth - len(self._tasks))]

    def _refresh(self) -> None:
        """Take the list of workers again; a task sent to a worker that is gone is lost."""
        self._stale = False
        self._room = self._survey()
        for key, task in self._tasks.items():
            if task.address and task.address not in self._room:
                self._inbox.put((task.address, key))

    def submit(self, job: Job) -> None:
        """Queue the job; it is sent on the next `completed`, together with the other jobs
        submitted meanwhile, one `Client.map` per worker. Each task has its own key, never
        cached or merged with another attempt.

        paratune picks the workers because Dask places tasks by their expected run time, not
        by resources, and could queue a trial behind another on a busy worker while an idle
        one could run it."""
        key = self._key(job.trial_id, job.attempt)
        self._running[key] = _Running(job, self.clock.now())
        self._outbox.append(key)

    def _key(self, trial_id: int, attempt: int) -> str:
        return f"paratune-{self._token}-{trial_id}-{attempt}"

    def _flush(self) -> None:
        """Send the jobs submitted since the last call: spread over as many tasks as there are
        places for (at least one), each task a run of consecutive jobs."""
        keys = [key for key in self._outbox if key in self._running]
        self._outbox = []
        if not keys:
            return
        places = self._places() or [("", False)] * len(keys)  # no room known: Dask picks
        count = min(len(places), len(keys))
        size, extra = divmod(len(keys), count)
        by_worker: dict[str, list[list[str]]] = {}
        queued: set[str] = set()  # the first key of each task sent to wait in a queue
        begin = 0
        for index in range(count):
            end = begin + size + (index < extra)
            address, behind = places[index]
            by_worker.setdefault(address, []).append(keys[begin:end])
            if behind:
                queued.add(keys[begin])
            begin = end
        resources = dask_resources(self._trial_resources) if self._trial_resources else None
        reports = self._on_report is not None
        for address, groups in by_worker.items():
            # Named for the first job, and unique, also when a job is sent again.
            names = [f"{group[0]}-{next(self._sends)}" for group in groups]
            futures = self._client.map(
                self._worker_side.run_task,
                [self._token] * len(groups),
                [[self._running[key].job for key in group] for group in groups],
                [reports] * len(groups),
                key=names,
                workers=[address] if address else None,
                allow_other_workers=False,
                resources=resources,
                retries=0,
            )
            for name, group, future in zip(names, groups, futures, strict=True):
                self._tasks[name] = _Task(address, group, future, group[0] in queued)
                for key in group:
                    self._running[key].task = name
                future.add_done_callback(lambda f: self._inbox.put(("done", str(f.key))))

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """Runs in the client's thread: a worker joined, or left while it held our tasks."""
        message = event[1]
        if not isinstance(message, dict):
            return
        action = message.get("action")
        if action in ("add-worker", "remove-worker"):
            self._stale = True
            self._inbox.put(("", ""))  # wakes a driver waiting for room
        if action != "remove-worker":
            return
        worker = str(message.get("worker", "?"))
        for key in message.get("processing-tasks") or ():
            if str(key).startswith(f"paratune-{self._token}-"):
                self._inbox.put((worker, str(key)))

    def completed(self, timeout: float | None = None) -> list[Event]:
        """Wait up to ``timeout`` seconds for the first job to end; return every ended one.

        Raises:
            ParatuneError: the scheduler is unreachable.
        """
        self._check_scheduler()
        self._flush()
        if not self._running:
            return self._await_room(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        messages: list[tuple[str, Any]] = []
        while not messages:
            wait = _CHECK_EVERY if deadline is None else deadline - time.monotonic()
            try:
                messages.append(
                    self._inbox.get(timeout=max(0.0, min(wait, _CHECK_EVERY, LONGEST_WAIT)))
                )
            except queue.Empty:
                self._check_scheduler()
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
            self._roomless_since = None
            return []
        now = time.monotonic()
        if self._roomless_since is None:
            self._roomless_since = now
        left = self._roomless_since + self._wait - now
        if left <= 0:
            raise ParatuneError(
                f"no worker of the Dask cluster ({self._where()}) can run the trials: none "
                f"has joined for {self._wait:g} s"
            )
        try:
            self._inbox.get(timeout=min(left, _CHECK_EVERY if timeout is None else timeout))
        except queue.Empty:
            self._check_scheduler()
        return []

    def _events(self, messages: list[tuple[str, Any]]) -> list[Event]:
        events: list[Event] = []
        finished: list[str] = []
        for kind, what in messages:
            if kind == "report":
                self._answer(what)
            elif kind == "result":  # the usual way results come: pushed by their worker
                events += self._take(*cloudpickle.loads(what))
            elif kind == "done":
                finished.append(what)
            elif what and (task := self._tasks.pop(what, None)) is not None:
                task.future.release()  # the scheduler would run it again by itself
                if task.queued:  # it never started: send it again, as the same attempt
                    self._outbox += [key for key in task.jobs if key in self._running]
                    continue
                reason = f"Dask worker {kind} was lost while it ran the trial"
                events += self._fail(task, reason, worker=self._index(kind))
        ended = [self._tasks[key] for key in finished if key in self._tasks]
        ok = [task for task in ended if task.future.status == "finished"]
        for result in self._gather(ok):
            if result is not None:  # else pushed as a worker event, still on its way
                events += self._take(*result)
        for task in ended:
            status = task.future.status
            if status in ("finished", "pending") or task.future.key not in self._tasks:
                continue  # pending: a worker's loss touched it, and it runs on
            del self._tasks[task.future.key]
            self._start_next(task.address)
            if status == "cancelled":
                self._check_scheduler()
                events += self._fail(task, "its Dask task was cancelled")
            else:
                events += self._fail(task, task_error(task.future.exception()))
        return events

    def _take(self, results: list[Event], address: str | None) -> list[Event]:
        """The events of a task that ran (``address``: its worker, None if unknown)."""
        taken: list[Event] = []
        for event in results:
            running = self._running.pop(self._key(event.trial_id, event.attempt), None)
            if running is None:
                continue  # cancelled meanwhile
            if (task := self._tasks.pop(running.task, None)) is not None:
                task.future.release()  # now, not when garbage collected
                self._start_next(task.address)
            run = event.finished - event.started
            self._mean_run = run if self._mean_run is None else self._mean_run * 0.8 + run * 0.2
            taken.append(event if address is None else event._replace(worker=self._index(address)))
        return taken

    def _start_next(self, address: str) -> None:
        """A task of ours on ``address`` ended: its thread starts the oldest task queued there
        (the worker runs tasks sent earlier first)."""
        for task in self._tasks.values():  # in the order they were sent
            if task.address == address and task.queued:
                task.queued = False
                return

    def _fail(self, task: _Task, reason: str, worker: int = -1) -> list[Event]:
        """Failed events for the jobs of a task that did not run to its end."""
        now = self.clock.now()
        failed = []
        for key in task.jobs:
            running = self._running.pop(key, None)
            if running is not None:
                job, started = running.job, running.submitted
                failed.append(
                    Event(job.trial_id, job.attempt, False, None, started, now, worker, reason)
                )
        return failed

    def _answer(self, message: dict[str, Any]) -> None:
        """Hand a report to the driver's handler and send its answer back to the worker."""
        report: Report = cloudpickle.loads(message["report"])
        go_on = True if self._on_report is None else self._on_report(report)
        distributed = import_distributed()
        distributed.Variable(message["answer"], client=self._client).set(go_on)

    def _gather(self, finished: list[_Task]) -> list[tuple[list[Event], str | None] | None]:
        """The results of finished tasks that were not pushed (too large for a worker event),
        fetched together: one round trip, not one each. None for those that were pushed."""
        if not finished:
            return []
        try:
            results: list[tuple[list[Event], str | None] | None] = self._client.gather(
                [task.future for task in finished], errors="raise"
            )
        except Exception:
            self._check_scheduler()
            results = []
            for task in finished:  # one failed to arrive: take them one by one
                try:
                    results.append(task.future.result())
                except Exception as exc:
                    results.append((self._fail(task, task_error(exc)), None))
        return results

    def _check_scheduler(self) -> None:
        """Raise `ParatuneError` once the client has lost the scheduler."""
        if self._lost is None and self._client is not None:
            if self._client.status not in ("running", "newly-created"):
                self._lost = ParatuneError(
                    f"the Dask scheduler at {self._where()} is unreachable "
                    f"(client {self._client.status}); trials finished so far are in the store, "
                    "and the run can be resumed once the cluster is back"
                )
        if self._lost is not None:
            raise self._lost

    def _index(self, address: str) -> int:
        """A small number for each worker address, in the order they are first seen."""
        return self._indexes.setdefault(address, len(self._indexes))

    def cancel(self) -> list[Event]:
        """Release every task in flight and report it cancelled. A task already running is
        told through its ``ctx`` (see the class docstring); its result is dropped.

        Raises:
            ParatuneError: the scheduler is unreachable, so what became of the jobs in flight
                is not known: they stay running in the store, to run again on resume.
        """
        self._check_scheduler()
        self._outbox = []  # never sent: reported cancelled below, nothing to stop
        events = self.completed(timeout=0)
        now = self.clock.now()
        futures = [task.future for task in self._tasks.values()]
        if futures and self._client is not None:
            self._client.cancel(futures)
            jobs = [(r.job.trial_id, r.job.attempt) for r in self._running.values()]
            # Running tasks go on in their threads; their objectives learn of it through ctx.
            self._client.run(self._worker_side.cancel_jobs, self._token, jobs, wait=False)
        for running in self._running.values():
            events.append(cancelled_event(running.job, running.submitted, now, -1))
        self._running.clear()
        self._tasks.clear()
        return events

    def close(self) -> None:
        """Take the objective off the workers and disconnect (stopping the local cluster if
        this executor started it; a client passed in is left open). Safe to call twice."""
        client = self._client
        if client is not None and self._lost is None and client.status == "running":
            try:
                client.unsubscribe_topic("all")
                if self._token:
                    client.unsubscribe_topic(self._worker_side.result_topic(self._token))
                    client.unsubscribe_topic(self._worker_side.report_topic(self._token))
                    client.unregister_worker_plugin(self._plugin_name())
            except Exception:  # pragma: no cover - the cluster went away while closing
                pass
        self._running.clear()
        self._tasks.clear()
        self._shutdown()

    def _shutdown(self) -> None:
        client, self._client = self._client, None
        shared = (
            client is not None
            and isinstance(self.address, str)
            and _CLIENTS.get(self._shared()) is client
        )
        if shared and client.status != "running":
            del _CLIENTS[self._shared()]
            shared = False
        if client is not None and client is not self.address and not shared:
            client.close(timeout=5)
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close(timeout=10)
        self._workers = None if self._asked is None else self._workers
        self._token = ""

    def _plugin_name(self) -> str:
        return f"paratune-{self._token}"


def _send_sooner(client: Any) -> None:
    """Let a client that paratune made batch its messages to the scheduler over 2 ms rather
    than Dask's 10: jobs sent just after other messages (the run's subscriptions, the answer
    to a report, a result's release) would otherwise wait up to 10 ms, each time."""
    comm: Any = getattr(client, "scheduler_comm", None)
    interval = getattr(comm, "interval", None)
    if isinstance(interval, float):  # a private detail of Dask's: left alone if it changes
        comm.interval = min(interval, _BATCH_WITHIN)


def _close_shared_clients() -> None:
    """Close the kept connections as the process ends. A client whose scheduler went first
    is still trying to reconnect, and would log an error as it is closed: nothing is lost
    by then, so that log is silenced."""
    if any(client.status == "connecting" for client in _CLIENTS.values()):
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    Dask.disconnect()


def _in_turn(counts: dict[str, int]) -> list[str]:
    """Each address as many times as its count, taking the addresses in turn:
    ``{"a": 2, "b": 1}`` gives ``["a", "b", "a"]``."""
    order: list[str] = []
    left = {address: count for address, count in counts.items() if count > 0}
    while left:
        for address in list(left):
            order.append(address)
            left[address] -= 1
            if not left[address]:
                del left[address]
    return order
