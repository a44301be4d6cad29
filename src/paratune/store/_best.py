"""The best trial of a run: the one that ended DONE with the best value, the earliest among
equals. Two forms, one rule: over trials as records, and over the status and value columns
(`TrialColumns`, `CompactTrials`), where only the best one need be built."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from ..trial import Status, Trial
from ._columns import STATUS_CODES


def best_listed(trials: Iterable[Trial], mode: str) -> Trial | None:
    """The best of ``trials`` (in id order) for ``mode`` ("min" or "max"), or None."""
    done = [t for t in trials if t.status is Status.DONE and t.value is not None]
    sign = 1.0 if mode == "min" else -1.0
    return min(done, key=lambda t: (sign * t.value, t.trial_id), default=None)  # type: ignore[operator]


def best_position(status: NDArray[np.int8], value: NDArray[np.float64], mode: str) -> int | None:
    """The position of the best trial in columns of trials in id order (status codes, and
    values with NaN where none), or None."""
    done = np.flatnonzero((status == STATUS_CODES[Status.DONE]) & ~np.isnan(value))
    if not len(done):
        return None
    # argmin and argmax give the first among equals: the earliest trial.
    at = np.argmin(value[done]) if mode == "min" else np.argmax(value[done])
    return int(done[at])
