"""The jobs of one run of a `Dask` executor while they are in flight, and the Dask tasks that
carry them: what ended, what moves because its worker was lost, what failed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..trial import Event, Job
from ._base import failed_event
from ._dask_support import lost_reason, placements
from ._pacing import Pacing


@dataclass(slots=True)
class Running:
    """A job submitted and not yet ended."""

    job: Job
    submitted: float
    task: str = ""  # the key of the Dask task that carries it, once sent
    moved: int = 0  # times sent to another worker after its worker was lost


@dataclass(slots=True)
class Task:
    """A Dask task of ours: jobs run one after the other on one worker thread."""

    address: str  # the worker it runs on ("" for any)
    jobs: list[str]  # the keys of its jobs
    future: Any = None  # distributed.Future (typed loosely: partial hints upstream)
    queued: bool = False  # waits behind another task of ours on its worker thread


class Flight:
    """The run's jobs in flight, by key, and its tasks, in the order they were sent.

    Args:
        token: the run's token, which every key starts with.
        now: the executor's clock.
        worker_loss_retries: how many times a job whose worker was lost moves.
        pacing: when jobs go several to a task, and tasks wait behind running ones; fed
            the run time of every job that ends.
    """

    def __init__(
        self, token: str, now: Any, worker_loss_retries: int, pacing: Pacing | None = None
    ) -> None:
        self.token = token
        self.now = now
        self.worker_loss_retries = worker_loss_retries
        self.pacing = pacing if pacing is not None else Pacing()
        self.running: dict[str, Running] = {}
        self.tasks: dict[str, Task] = {}
        self.outbox: list[str] = []  # keys of jobs to send (submitted, or moving)
        self._indexes: dict[str, int] = {}

    def key(self, trial_id: int, attempt: int) -> str:
        """The key of a job: unique to the run, the trial and the attempt."""
        return f"paratune-{self.token}-{trial_id}-{attempt}"

    def submit(self, job: Job) -> None:
        """Take a job, to be sent with the others in the outbox."""
        key = self.key(job.trial_id, job.attempt)
        self.running[key] = Running(job, self.now())
        self.outbox.append(key)

    def free_slots(self, room: Mapping[str, int], workers: int) -> int:
        """Jobs that may be submitted now: one per place for a task, more when jobs are
        short enough to go several to a task; less those not sent yet."""
        return max(0, len(self.places(room, workers)) * self.chunk() - len(self.outbox))

    def places(self, room: Mapping[str, int], workers: int) -> list[tuple[str, bool]]:
        """A worker address for each task that may be sent now, given each worker's room
        (True: to wait in a queue behind another task), no more than ``workers`` allows.
        A queue is used while the pacing queues ahead and every thread of the cluster is
        ours (else Dask would run the queued task at once on an idle thread, beyond
        ``workers``)."""
        depth = 1 + self.pacing.ahead() if workers >= sum(room.values()) else 1
        tasks = Counter(task.address for task in self.tasks.values())
        return placements(room, tasks, depth, workers * depth - len(self.tasks))

    def chunk(self) -> int:
        """Jobs per task."""
        return self.pacing.chunk()

    def take(self, results: list[Event], address: str | None) -> list[Event]:
        """The events of a task that ran (``address``: its worker, None if unknown), with
        their worker's number and their moves; those of jobs no longer in flight dropped."""
        taken: list[Event] = []
        for event in results:
            running = self.running.pop(self.key(event.trial_id, event.attempt), None)
            if running is None:
                continue  # cancelled, or ended meanwhile
            if (task := self.tasks.pop(running.task, None)) is not None:
                task.future.release()  # now, not when garbage collected
                self.start_next(task.address)
            self.pacing.observe(event.finished - event.started)
            worker = event.worker if address is None else self.index(address)
            taken.append(event._replace(worker=worker, moved=running.moved))
        return taken

    def moved(self, task: Task, worker: str) -> list[Event]:
        """The jobs of a task whose worker was lost go to the outbox, to be sent again as the
        same attempt: those that ran, while they have moves left (else they fail), and those
        queued behind another task there, which never started, without counting."""
        task.future.release()  # else a scheduler could run it again by itself
        failed = []
        for key in task.jobs:
            running = self.running.get(key)
            if running is None:
                continue
            if not task.queued and running.moved >= self.worker_loss_retries:
                del self.running[key]
                reason = lost_reason(worker, running.moved, self.worker_loss_retries)
                failed.append(self.failed(running, reason, self.index(worker)))
                continue
            running.moved += not task.queued
            self.outbox.append(key)
        return failed

    def start_next(self, address: str) -> None:
        """A task of ours on ``address`` ended: its thread starts the oldest task queued there
        (the worker runs tasks sent earlier first)."""
        for task in self.tasks.values():  # in the order they were sent
            if task.address == address and task.queued:
                task.queued = False
                return

    def fail(self, task: Task, reason: str) -> list[Event]:
        """Failed events for the jobs of a task that did not run to its end."""
        running = [self.running.pop(key, None) for key in task.jobs]
        return [self.failed(job, reason) for job in running if job is not None]

    def failed(self, running: Running, reason: str, worker: int = -1) -> Event:
        """The failed event of a job (``worker`` -1: not known)."""
        return failed_event(
            running.job, running.submitted, self.now(), worker, reason, moved=running.moved
        )

    def index(self, address: str) -> int:
        """A small number for each worker address, in the order they are first seen."""
        return self._indexes.setdefault(address, len(self._indexes))
