"""The in-memory store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import StoreError
from ..trial import Report, Trial
from ._base import Experiment, RunTotals, refuse_reopening
from ._columns import TrialColumns
from ._compact import CompactTrials


@dataclass
class _Kept:
    """One experiment as memory keeps it."""

    experiment: Experiment
    trials: CompactTrials = field(default_factory=CompactTrials)
    reports: dict[tuple[int, int], Report] = field(default_factory=dict)
    totals: RunTotals = field(default_factory=RunTotals)


class MemoryStore:
    """Keeps experiments in memory, by name; gone when the process ends (`tune` with
    ``store=None`` opens a new one for each run). Trials are kept column by column
    (`CompactTrials`), and read back as they were saved.

    >>> from paratune.trial import Status, Trial
    >>> store = MemoryStore()
    >>> store.open(Experiment("demo", {}, "loss", "min", 0), resume=False, overwrite=False)
    []
    >>> store.save([Trial(trial_id=0, config={}, seed=1, status=Status.DONE, value=0.5)])
    >>> [t.value for t in store.trials()]
    [0.5]

    Attributes:
        experiment: the open experiment (None before `open`).
    """

    def __init__(self) -> None:
        self.experiment: Experiment | None = None
        self._kept: dict[str, _Kept] = {}
        self._open: _Kept | None = None

    def open(self, experiment: Experiment, *, resume: bool, overwrite: bool) -> list[Trial]:
        """Start, continue or replace ``experiment``; see `Store.open`."""
        stored = self._kept.get(experiment.name)
        if stored is not None and not overwrite:
            refuse_reopening(stored.experiment, experiment, resume=resume, where="memory")
            stored.experiment = experiment  # its settings may be new, as in SQLiteStore
        else:
            stored = self._kept[experiment.name] = _Kept(experiment)
        self._open, self.experiment = stored, experiment
        return self.trials()

    def _require_open(self) -> _Kept:
        if self._open is None:
            raise StoreError("no experiment is open in this store: call open() first")
        return self._open

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        """Keep the trials and reports (for one given twice, the last one)."""
        kept = self._require_open()
        kept.trials.put(trials)
        for report in reports:
            kept.reports[(report.trial_id, report.step)] = report

    def reports(self) -> list[Report]:
        """The reports, by trial and step."""
        kept = self._require_open().reports
        return [kept[key] for key in sorted(kept)]

    def finish(self, totals: RunTotals) -> None:
        """Keep the totals."""
        self._require_open().totals = totals

    def totals(self) -> RunTotals:
        """The totals of the last finished session (zeros before one)."""
        return self._require_open().totals

    def trials(self) -> list[Trial]:
        """The trials, in id order."""
        return self._require_open().trials.trials()

    def compact_trials(self) -> CompactTrials:
        """The open experiment's trials as this store keeps them: the tuner reads a trial
        to continue, and the run's result, from them, with no second copy in memory."""
        return self._require_open().trials

    def trial_columns(
        self, *, after: int | None = None, before: int | None = None
    ) -> TrialColumns:
        """The trials whose ids lie between ``after`` and ``before`` (both excluded; None: no
        bound), in id order, as columns: what `SQLiteStore.trial_columns` reads (its arrays
        are read-only)."""
        return self._require_open().trials.columns(after=after, before=before)

    def close(self) -> None:
        """Nothing to release; the experiments stay readable."""
