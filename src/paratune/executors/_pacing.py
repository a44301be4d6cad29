"""How fast to feed the workers: one policy, fed the run time of each job that ends, shared by
the process and the Dask executors.

Two figures follow from the jobs' run times:

- the **chunk**: how many jobs travel in one message (a pipe write, a Dask task). Jobs shorter
  than ``chunk_below`` on average go several at a time (up to ``max_chunk``), so that the
  round trip is paid once per chunk instead of once per job;
- the **queue ahead**: how many jobs wait behind the one a worker runs (0 or 1). Jobs shorter
  than ``queue_ahead_below`` on average have the next one waiting, so that a worker starts it
  as soon as one ends instead of waiting a round trip for the driver (which, on a machine
  whose cores are all busy, may not run for a while).

The process and Dask executors used to pace jobs each their own way. Where they differed:

- **Before a first job has ended, nothing is queued ahead** (the process executor's way;
  Dask's queued ahead from the start). An unknown job may take an hour: one queued behind
  it would wait that hour however many workers are free, and be decided (its config drawn)
  long before it runs. Waiting costs one round trip per worker, once per run.
- **Chunks grow with the evidence** (neither's way). The Dask executor sent 64 jobs a task
  as soon as one job had been short: one trial that fails at once (a config refused at its
  first line, say) would then send the next 64 to each worker, where they queue if they
  are long, while the searcher draws them all before any result is in. The process
  executor started its average at 1 s, so that about 25 short jobs had to go one at a time:
  safe, and cheap through a pipe (a tenth of a millisecond each), but about 7 ms each
  through a Dask scheduler. Here a message carries no more jobs than have been short in a
  row, so its size doubles with each round trip (1, 1, 2, 4, ... 64 after 7 of them) and a
  job longer than ``chunk_below`` on average starts again from 1.
- **One moving average** of run times, from the first job's (Dask's way; the process
  executor kept two): with chunks bounded by the count of short jobs, a prior is no longer
  needed to hold them back.
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
    >>> for _ in range(11):
    ...     pacing.observe(0.0001)
    >>> pacing.short_runs, pacing.chunk()  # the average is under 5 ms since the 4th of them
    (8, 8)

    Args:
        chunk_below: jobs shorter than this on average (seconds) go several to a message:
            as many as have been so in a row, up to ``max_chunk``.
        max_chunk: the most jobs in one message.
        queue_ahead_below: jobs shorter than this on average (seconds) have one more waiting
            behind each running one.
        weight: how much each new run time moves the average (0 < weight <= 1).

    Raises:
        ValueError: a threshold is negative or not a number, ``max_chunk`` is not a positive
            integer, or ``weight`` is outside (0, 1].
    """

    chunk_below: float = 0.005
    max_chunk: int = 64
    queue_ahead_below: float = 5.0
    weight: float = 0.2
    # The moving average of run times (seconds), from the first job's (None until then), and
    # how many jobs in a row have left it under ``chunk_below``.
    typical_run: float | None = field(init=False, default=None)
    short_runs: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        for name in ("chunk_below", "queue_ahead_below"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value < math.inf):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        chunk = self.max_chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"max_chunk must be a positive integer, got {chunk!r}")
        if not (_is_number(self.weight) and 0 < self.weight <= 1):
            raise ValueError(f"weight must be a number in (0, 1], got {self.weight!r}")

    def reset(self) -> None:
        """Forget the run times seen: a new run may run another objective."""
        self.typical_run = None
        self.short_runs = 0

    def observe(self, seconds: float) -> None:
        """Take the run time of a job that ended."""
        typical = seconds if self.typical_run is None else self.typical_run
        self.typical_run = typical = typical + self.weight * (seconds - typical)
        self.short_runs = self.short_runs + 1 if typical < self.chunk_below else 0

    def chunk(self) -> int:
        """How many jobs to send in one message: as many as have been shorter than
        ``chunk_below`` on average in a row, at least 1 and at most ``max_chunk``."""
        return max(1, min(self.max_chunk, self.short_runs))

    def ahead(self) -> int:
        """How many jobs wait behind the one each worker runs: 1 once jobs are seen to be
        shorter than ``queue_ahead_below`` on average, else 0."""
        typical = self.typical_run
        return 1 if typical is not None and typical < self.queue_ahead_below else 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
