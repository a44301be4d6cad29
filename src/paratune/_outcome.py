"""What a run hands out: why it ended (`StopReason`), a snapshot for a progress callback
(`Progress`), and what `Tuner.run` returns (`RunOutcome`)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._trial_list import TrialList
from .trial import Config

if TYPE_CHECKING:
    from .trial import Trial


class StopReason(enum.StrEnum):
    """Why a run ended."""

    MAX_TRIALS = "max_trials"
    """``max_trials`` trials were run."""
    EXHAUSTED = "exhausted"
    """The searcher had nothing more to try (a finished grid, say)."""
    CONVERGED = "converged"
    """The searcher converged and had nothing more to try (CMA-ES within its tolerances:
    `searchers.Converging`)."""
    MAX_TIME = "max_time"
    """``max_time`` seconds passed."""
    TARGET = "target"
    """The metric reached ``target``."""
    INTERRUPTED = "interrupted"
    """Ctrl-C, SIGINT or SIGTERM: the trials it cut short run again on resume."""
    UNFINISHED = "unfinished"
    """Not ended (a stored run still running, or whose driver was killed): see `load`."""


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a run, handed to a progress callback.

    Attributes:
        elapsed: seconds since the run started (executor's clock).
        done: trials finished with a value.
        failed: trials failed for good.
        cancelled: trials cancelled by a stop.
        pruned: trials stopped early by the scheduler.
        running: trials a worker is running now (at most ``workers - lost``).
        max_trials: the trial limit, if any.
        workers: the executor's worker count.
        best_value: the best metric so far, or None.
        best_config: the configuration that gave it.
        finished: True on the last call, once the run has ended.
        interrupted: trials cut short by the user's stop, to run again on resume.
        queued: trials not ended that no worker runs yet: handed to the executor ahead of a
            free worker, or waiting to run again (a retry).
        lost: of ``workers``, those the executor has lost and not replaced yet (a Dask
            worker gone: see `paratune.executors.LosesWorkers`); 0 on other executors.
        front: with several metrics, how many trials are on the Pareto front so far (then
            ``best_value`` and ``best_config`` are None: no one trial is best); None with
            one metric.
    """

    elapsed: float
    done: int
    failed: int
    cancelled: int
    pruned: int
    running: int
    max_trials: int | None
    workers: int
    best_value: float | None
    best_config: Config | None
    finished: bool = False
    interrupted: int = 0
    queued: int = 0
    lost: int = 0
    front: int | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class RunOutcome:
    """What `Tuner.run` returns: the trials (given as a list, or kept column by column
    until first read, see `TrialList`) and how the run used its workers."""

    if TYPE_CHECKING:
        trials: list[Trial]
    else:
        trials: TrialList = TrialList()
    wall_time: float
    busy_time: float
    cancelled_time: float
    workers: int
    stop_reason: StopReason
    searcher_time: float | None = None  # None: not measured (a result read from a store)
    suggestions: int = 0
    lost_time: float = 0.0  # worker-seconds that lost workers were absent
