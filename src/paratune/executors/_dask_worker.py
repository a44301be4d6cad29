"""What runs on a Dask worker: the plugin that carries the objective there, and the task
that runs one job. Imported only where ``distributed`` is installed."""

from __future__ import annotations

import time
from typing import Any

import cloudpickle
from distributed import WorkerPlugin, get_worker

from ..trial import Event, Job
from ._base import Objective, make_context, run_job

# The objectives loaded in this worker process, by run token: (objective, with_context).
_OBJECTIVES: dict[str, tuple[Objective, bool]] = {}


class ShipObjective(WorkerPlugin):
    """Carries the cloudpickled objective to each worker, also to those that join or restart
    later, and loads it there once.

    Args:
        token: the run's token, which the tasks name the objective by.
        payload: ``cloudpickle.dumps((objective, takes_context(objective)))``.
    """

    def __init__(self, token: str, payload: bytes) -> None:
        self.token = token
        self.payload = payload

    def setup(self, worker: Any) -> None:
        """Load the objective on ``worker`` (an error here fails the registration)."""
        _OBJECTIVES[self.token] = cloudpickle.loads(self.payload)

    def teardown(self, worker: Any) -> None:
        """Forget the objective."""
        _OBJECTIVES.pop(self.token, None)


def run_task(token: str, job: Job) -> tuple[Event, str]:
    """Run one job on this worker: its event (times from the wall clock, which every host
    shares), and this worker's address."""
    objective, with_context = _OBJECTIVES[token]
    ctx = make_context(job) if with_context else None
    event = run_job(objective, job, ctx, worker=-1, now=time.time)
    return event, str(get_worker().address)
