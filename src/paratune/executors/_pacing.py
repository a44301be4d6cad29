"""How fast to feed the workers: one policy, fed the run time of each job that ends, shared by
the process and the Dask executors.

Two figures follow from the jobs' run times:

- the **chunk**: how many jobs travel in one message (a pipe write, a Dask task). Jobs shorter
  than ``chunk_below`` on average go up to ``max_chunk`` at a time, so that the round trip is
  paid once per chunk instead of once per job;
- the **queue ahead**: how many jobs wait behind the one a worker runs (0 or 1). Jobs shorter
  than ``queue_ahead_below`` on average have the next one waiting, so that a worker starts it
  as soon as one ends instead of waiting a round trip for the driver (which, on a machine
  whose cores are all busy, may not run for a while).

The two executors used to differ where nothing is known yet. The process executor's way is
kept, for both: a wrong guess costs much more than a late one.

- Chunks start only after a run of short jobs: their average starts at ``assumed_run`` (1 s)
  rather than at the first job's time. One quick job (a trial that fails at once, say) would
  otherwise send the next 64 jobs to one worker, and if they are long they queue there while
  the other workers idle; waiting for about 25 short jobs costs 25 round trips, milliseconds.
- Nothing is queued ahead before a first job has ended: an unknown job may take an hour, and
  one queued behind it would wait that hour however many workers are free, and be decided
  (its config drawn) long before it runs. Waiting costs one round trip per worker, once.
  Once one job has ended, its time is a fair guess, so the queue-ahead average starts there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True, kw_only=True)
class Pacing:
    """The batching policy of an executor: fed each job's run time with `observe`, it says
    how many jobs go per message (`chunk`) and how many wait behind a running one
    (`ahead`).

    >>> pacing = Pacing()
    >>> pacing.chunk(), pacing.ahead()  # nothing known: one job at a time, none waiting
    (1, 0)
    >>> pacing.observe(0.01)
    >>> pacing.chunk(), pacing.ahead()  # 10 ms jobs: one waits behind each running one
    (1, 1)
    >>> for _ in range(30):
    ...     pacing.observe(0.0001)
    >>> pacing.chunk(), pacing.ahead()  # a run of trivial jobs: 64 per message
    (64, 1)

    Args:
        chunk_below: jobs shorter than this on average (seconds) go ``max_chunk`` at a time.
        max_chunk: the most jobs in one message.
        queue_ahead_below: jobs shorter than this on average (seconds) have one more waiting
            behind each running one.
        assumed_run: the run time (seconds) the chunk average starts from, before any job
            has ended; high, so that chunks need a run of short jobs.
        weight: how much each new run time moves the averages (0 < weight <= 1).

    Raises:
        ValueError: a threshold is negative or not a number, ``max_chunk`` is not a positive
            integer, or ``weight`` is outside (0, 1].
    """

    chunk_below: float = 0.005
    max_chunk: int = 64
    queue_ahead_below: float = 5.0
    assumed_run: float = 1.0
    weight: float = 0.2
    # Moving averages of run times (seconds): the one chunks follow, from ``assumed_run``, and
    # the one the queue ahead follows, from the first job's (None until then).
    mean_run: float = field(init=False)
    typical_run: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for name in ("chunk_below", "queue_ahead_below", "assumed_run"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value < math.inf):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        chunk = self.max_chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"max_chunk must be a positive integer, got {chunk!r}")
        if not (_is_number(self.weight) and 0 < self.weight <= 1):
            raise ValueError(f"weight must be a number in (0, 1], got {self.weight!r}")
        self.reset()

    def reset(self) -> None:
        """Forget the run times seen: a new run may run another objective."""
        self.mean_run = self.assumed_run
        self.typical_run = None

    def observe(self, seconds: float) -> None:
        """Take the run time of a job that ended."""
        self.mean_run += self.weight * (seconds - self.mean_run)
        typical = seconds if self.typical_run is None else self.typical_run
        self.typical_run = typical + self.weight * (seconds - typical)

    def chunk(self) -> int:
        """How many jobs to send in one message: ``max_chunk`` once jobs are seen to be
        shorter than ``chunk_below`` on average, else 1."""
        return self.max_chunk if self.mean_run < self.chunk_below else 1

    def ahead(self) -> int:
        """How many jobs wait behind the one each worker runs: 1 once jobs are seen to be
        shorter than ``queue_ahead_below`` on average, else 0."""
        typical = self.typical_run
        return 1 if typical is not None and typical < self.queue_ahead_below else 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
