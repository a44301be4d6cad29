"""How fast to feed the workers: one policy, fed the run time of each job that ends, shared by
the process and the Dask executors (and the thread executor, for its queue ahead: a job
waiting in the threads' shared queue is taken by the first thread to be free).

Two figures follow from the jobs' run times:

- the **chunk**: how many jobs travel in one message (a pipe write, a Dask task). Jobs shorter
  than ``chunk_below`` on average go several at a time (up to ``max_chunk``), so that the
  round trip is paid once per chunk instead of once per job;
- the **queue ahead**: how many jobs wait behind the one a worker runs (0 or 1). Jobs shorter
  than ``queue_ahead_below`` on average, whose run times are **steady**, have the next one
  waiting, so that a worker starts it as soon as one ends instead of waiting a round trip for
  the driver (which, on a machine whose cores are all busy, may not run for a while).

A job queued behind another is bound to that worker: if the running job turns out long, the
queued one waits for it while another worker may sit idle (at the end of a run, or of a
design, nothing else is left to give that worker). With run times that vary (a network
trained for 32 or for 512 epochs, an SVM that converges at once or not), that wait costs far
more than the round trip saved: a 10-trial torch design on 2 workers lost 10-20% of its wall
time to it. So jobs are queued ahead only while their run times stay within
``steady_within`` of their average (or within 10 ms of it, a wait shorter than the round
trips it saves), which takes two jobs ended to know.

The process and Dask executors used to pace jobs each their own way. Where they differed:

- **Before two jobs have ended, nothing is queued ahead** (the process executor waited for
  one; Dask's queued ahead from the start). An unknown job may take an hour: one queued behind
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
    >>> pacing.ahead()  # one 10 ms job: is the next as short? nothing waits yet
    0
    >>> pacing.observe(0.01)
    >>> pacing.chunk(), pacing.ahead()  # steady 10 ms jobs: one waits behind each running one
    (1, 1)
    >>> for _ in range(11):
    ...     pacing.observe(0.0001)
    >>> pacing.short_runs, pacing.chunk()  # the average is under 5 ms since the 4th of them
    (8, 8)
    >>> pacing.observe(1.0)
    >>> pacing.ahead()  # a 1 s job among 0.1 ms ones: run times vary, nothing waits
    0

    Args:
        chunk_below: jobs shorter than this on average (seconds) go several to a message:
            as many as have been so in a row, up to ``max_chunk``.
        max_chunk: the most jobs in one message.
        queue_ahead_below: jobs shorter than this on average (seconds), with steady run
            times, have one more waiting behind each running one.
        steady_within: run times are steady while they differ from their average by at most
            this fraction of it on average (or by at most 10 ms).
        weight: how much each new run time moves the average (0 < weight <= 1).

    Raises:
        ValueError: a threshold (or ``steady_within``) is negative or not a number,
            ``max_chunk`` is not a positive integer, or ``weight`` is outside (0, 1].
    """

    chunk_below: float = 0.005
    max_chunk: int = 64
    queue_ahead_below: float = 5.0
    steady_within: float = 0.25
    weight: float = 0.2
    # The moving average of run times (seconds), from the first job's (None until then), and
    # how many jobs in a row have left it under ``chunk_below``.
    typical_run: float | None = field(init=False, default=None)
    short_runs: int = field(init=False, default=0)
    # The moving average of how far each run time fell from the average before it (seconds),
    # from the second job's (None until then).
    typical_spread: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for name in ("chunk_below", "queue_ahead_below", "steady_within"):
            value = getattr(self, name)
            if not (_is_number(value) and 0 <= value < math.inf):
                what = "a fraction" if name == "steady_within" else "a number of seconds"
                raise ValueError(f"{name} must be {what} >= 0, got {value!r}")
        chunk = self.max_chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"max_chunk must be a positive integer, got {chunk!r}")
        if not (_is_number(self.weight) and 0 < self.weight <= 1):
            raise ValueError(f"weight must be a number in (0, 1], got {self.weight!r}")

    def reset(self) -> None:
        """Forget the run times seen: a new run may run another objective."""
        self.typical_run = None
        self.short_runs = 0
        self.typical_spread = None

    def observe(self, seconds: float) -> None:
        """Take the run time of a job that ended."""
        typical = seconds if self.typical_run is None else self.typical_run
        if self.typical_run is not None:
            gap = abs(seconds - typical)
            spread = gap if self.typical_spread is None else self.typical_spread
            self.typical_spread = spread + self.weight * (gap - spread)
        self.typical_run = typical = typical + self.weight * (seconds - typical)
        self.short_runs = self.short_runs + 1 if typical < self.chunk_below else 0

    def chunk(self) -> int:
        """How many jobs to send in one message: as many as have been shorter than
        ``chunk_below`` on average in a row, at least 1 and at most ``max_chunk``."""
        return max(1, min(self.max_chunk, self.short_runs))

    def ahead(self) -> int:
        """How many jobs wait behind the one each worker runs: 1 once jobs are seen to be
        shorter than ``queue_ahead_below`` on average, with steady run times, else 0."""
        typical, spread = self.typical_run, self.typical_spread
        if typical is None or spread is None or typical >= self.queue_ahead_below:
            return 0
        return 1 if spread <= max(self.steady_within * typical, _SHORT_WAIT) else 0


# A queued job may wait about the spread of run times longer than on a free worker; a wait
# this short costs less than the round trips that queuing ahead saves.
_SHORT_WAIT = 0.01


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
