"""The in-memory store."""

from __future__ import annotations

from ..trial import Trial
from ._base import Experiment


class MemoryStore:
    """Keeps trials in a dict; gone when the process ends. The default for `tune` until a
    durable store is asked for.

    >>> from paratune.trial import Status, Trial
    >>> store = MemoryStore()
    >>> store.open(Experiment("demo", {}, "loss", "min", 0))
    []
    >>> store.save(Trial(trial_id=0, config={}, seed=1, status=Status.DONE, value=0.5))
    >>> [t.value for t in store.trials()]
    [0.5]
    """

    def __init__(self) -> None:
        self.experiment: Experiment | None = None
        self._trials: dict[int, Trial] = {}

    def open(self, experiment: Experiment) -> list[Trial]:
        """Start a fresh experiment (memory keeps one at a time)."""
        self.experiment = experiment
        self._trials = {}
        return []

    def save(self, trial: Trial) -> None:
        """Keep the trial."""
        self._trials[trial.trial_id] = trial

    def trials(self) -> list[Trial]:
        """The trials, in id order (ids are given in increasing order)."""
        return list(self._trials.values())

    def close(self) -> None:
        """Nothing to release; the trials stay readable."""
