"""The serial executor: jobs run in the driver, one at a time."""

from __future__ import annotations

import time

from ..context import RealClock
from ..trial import Event, Job
from ._base import Objective, make_context, run_job, takes_context


class Serial:
    """Runs each job in the calling thread as it is submitted.

    The cheapest executor: no process, no thread, no copy of the config. Use it for cheap
    objectives, debugging (breakpoints work) and baselines.

    >>> from paratune.trial import Job
    >>> ex = Serial()
    >>> ex.start(lambda config: config["x"] * 2)
    >>> ex.submit(Job(trial_id=0, attempt=1, config={"x": 21}, seed=0))
    >>> [event.result for event in ex.completed()]
    [42]
    """

    def __init__(self) -> None:
        self.workers = 1
        self.clock = RealClock()
        self._done: list[Event] = []
        self._objective: Objective | None = None
        self._with_context = False

    def start(self, objective: Objective) -> None:
        """Keep the objective; nothing to start."""
        self._objective = objective
        self._with_context = takes_context(objective)

    def free_slots(self) -> int:
        """1 until the finished job has been collected."""
        return 0 if self._done else 1

    def submit(self, job: Job) -> None:
        """Run the job now."""
        if self._objective is None:
            raise RuntimeError("Serial.submit called before start()")
        ctx = make_context(job) if self._with_context else None
        self._done.append(run_job(self._objective, job, ctx, worker=0, now=time.monotonic))

    def completed(self, timeout: float | None = None) -> list[Event]:
        """The jobs run since the last call."""
        done, self._done = self._done, []
        return done

    def cancel(self) -> list[Event]:
        """Nothing is ever in flight between calls."""
        return self.completed()

    def close(self) -> None:
        """Nothing to release."""
        self._objective = None
