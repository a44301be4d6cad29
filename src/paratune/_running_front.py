"""The Pareto front of a run as its trials end, for the live display of a run with several
metrics: kept up to date one ended trial at a time (O(front) each), never rebuilt from
every trial."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .objectives import Objectives
from .pareto import _beaten
from .trial import Status, Trial


class RunningFront:
    """The feasible trials no other beats in every metric, among those ended so far.

    Each trial counts with its latest result: a trial a multi-fidelity scheduler continues
    is taken off with its earlier result when it ends again. A trial that only a later-
    replaced result of another beat stays off (the count is then one short of
    `TuneResult.pareto_front` until the run's table is read): a live count, not the table.

    Args:
        objectives: what the run tunes.
    """

    def __init__(self, objectives: Objectives) -> None:
        self._goals = objectives
        self._ids = np.empty(0, dtype=np.int64)
        self._losses: NDArray[np.float64] = np.empty((0, len(objectives.metrics)))

    @property
    def size(self) -> int:
        """How many trials are on the front."""
        return len(self._ids)

    @property
    def trial_ids(self) -> list[int]:
        """The ids of the trials on the front, in the order they entered it."""
        ids: list[int] = self._ids.tolist()
        return ids

    def add(self, trial: Trial) -> None:
        """Take note of an ended trial: on the front when it is DONE, feasible, and no
        trial on the front beats it; those it beats leave the front."""
        self._take_off(trial.trial_id)
        if trial.status is not Status.DONE:
            return
        metrics = self._goals.metrics_of(trial)
        losses, violation = self._goals.losses(metrics), self._goals.violation(metrics)
        if losses is None or violation != 0:
            return
        point = np.asarray(losses, dtype=np.float64)[None, :]
        front = self._losses
        if _beaten(front, point)[0]:
            return
        kept = ~_beaten(point, front)
        self._ids = np.append(self._ids[kept], trial.trial_id)
        self._losses = np.vstack([front[kept], point])

    def _take_off(self, trial_id: int) -> None:
        kept = self._ids != trial_id
        if not kept.all():
            self._ids, self._losses = self._ids[kept], self._losses[kept]
