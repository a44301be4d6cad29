"""The in-memory store."""

from __future__ import annotations

from collections.abc import Iterable

from ..trial import Report, Trial
from ._base import Experiment, RunTotals


class MemoryStore:
    """Keeps the trials of one experiment in a dict; gone when the process ends.

    >>> from paratune.trial import Status, Trial
    >>> store = MemoryStore()
    >>> store.open(Experiment("demo", {}, "loss", "min", 0), resume=False, overwrite=False)
    []
    >>> store.save([Trial(trial_id=0, config={}, seed=1, status=Status.DONE, value=0.5)])
    >>> [t.value for t in store.trials()]
    [0.5]
    """

    def __init__(self) -> None:
        self.experiment: Experiment | None = None
        self._trials: dict[int, Trial] = {}
        self._reports: dict[tuple[int, int], Report] = {}
        self._totals = RunTotals()

    def open(self, experiment: Experiment, *, resume: bool, overwrite: bool) -> list[Trial]:
        """Start a fresh experiment: memory keeps nothing from an earlier one to resume."""
        self.experiment = experiment
        self._trials = {}
        self._reports = {}
        self._totals = RunTotals()
        return []

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        """Keep the trials and reports."""
        for trial in trials:
            self._trials[trial.trial_id] = trial
        for report in reports:
            self._reports[(report.trial_id, report.step)] = report

    def reports(self) -> list[Report]:
        """The reports, by trial and step."""
        return [self._reports[key] for key in sorted(self._reports)]

    def finish(self, totals: RunTotals) -> None:
        """Keep the totals."""
        self._totals = totals

    def totals(self) -> RunTotals:
        """The totals of the last finished session."""
        return self._totals

    def trials(self) -> list[Trial]:
        """The trials, in id order (ids are given in increasing order)."""
        return list(self._trials.values())

    def close(self) -> None:
        """Nothing to release; the trials stay readable."""
