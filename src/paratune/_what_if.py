"""The what-if replay of a large run, computed directly.

`paratune.analysis.what_if` replays the recorded durations through the whole tuning loop on
the simulated executor: faithful, and about a second per 10,000 trials and worker count. With
no overhead that loop is list scheduling (each job, in order, starts on the first worker to be
free), which a heap of the workers' free times computes in a fraction of that: the same
predicted times, to the last bit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from . import analysis

if TYPE_CHECKING:
    import pandas as pd

    from .result import TuneResult


def replay_time(jobs: Sequence[float], workers: int) -> float:
    """The wall time of ``jobs`` (seconds each) run in order on ``workers``, each job
    starting when the first worker is free, with no overhead: when the last one ends."""
    if not jobs:
        return 0.0
    free = [0.0] * min(workers, len(jobs))  # a heap: when each worker is next free
    replace = heapq.heapreplace
    for seconds in jobs:
        replace(free, free[0] + seconds)
    return max(free)


def what_if(result: TuneResult, workers: Iterable[int] | None = None) -> pd.DataFrame:
    """`paratune.analysis.what_if`'s table (same arguments, same figures, same errors),
    computed with `replay_time` instead of a run of the tuning loop per worker count."""
    counts = analysis._worker_counts(workers, default_up_to=2 * max(1, result.workers))
    # As analysis.what_if: trials that never ran took no worker time in the run either.
    jobs = [t.worker_time for t in result.trial_list if t.worker_time > 0]
    return analysis.scaling_table(
        counts, [replay_time(jobs, n) for n in counts], sequential=sum(jobs)
    )
