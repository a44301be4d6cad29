"""Handing what a run commits to its callbacks (`paratune.callbacks`), each guarded: one
that raises is warned about once and dropped, and the run goes on."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ._outcome import RunOutcome
from .callbacks import Callback
from .store import Experiment
from .trial import Report, Status, Trial


class Fanout:
    """The callbacks of one run, and the experiment each call is about.

    Args:
        experiment: the experiment as the store keeps it.
        callbacks: the callbacks, called in this order.
    """

    __slots__ = ("_callbacks", "experiment")

    def __init__(self, experiment: Experiment, callbacks: Sequence[Callback]) -> None:
        self.experiment = experiment
        self._callbacks = list(callbacks)

    @property
    def callbacks(self) -> list[Callback]:
        """The callbacks still called: those that have not raised."""
        return list(self._callbacks)

    def committed(self, trials: Sequence[Trial], reports: Sequence[Report]) -> None:
        """Tell each callback what one commit stored: the trials' states (in the order
        recorded) and the reports. Per trial, the calls keep its order: the starts first,
        then the reports, then the ends (a commit never holds a trial's end and a later
        start or report of it: the tuner commits each end before it acts on it)."""
        calls = _calls(trials, reports)
        if calls:
            for callback in self.callbacks:
                self._call(callback, calls)

    def run_ended(self, outcome: RunOutcome) -> None:
        """Tell each callback that the run ended with ``outcome``."""
        for callback in self.callbacks:
            self._call(callback, [("on_run_end", outcome)])

    def _call(self, callback: Callback, calls: list[tuple[str, Any]]) -> None:
        """Make ``calls`` on ``callback`` in order; at the first that raises, warn and drop
        it."""
        experiment = self.experiment
        for method, argument in calls:
            try:
                getattr(callback, method)(experiment, argument)
            except Exception as error:  # the run goes on whatever a callback does
                self._callbacks = [kept for kept in self._callbacks if kept is not callback]
                warnings.warn(
                    f"callback {_named(callback)} raised in {method}: "
                    f"{type(error).__name__}: {error}; it is not called again in this run",
                    RuntimeWarning,
                    stacklevel=1,
                )
                return


def fanout(experiment: Experiment, callbacks: Sequence[Callback] | None) -> Fanout | None:
    """The run's `Fanout`, or None when it has no callbacks (the loop then checks one
    attribute per commit, and builds nothing)."""
    return Fanout(experiment, callbacks) if callbacks else None


def _calls(trials: Sequence[Trial], reports: Sequence[Report]) -> list[tuple[str, Any]]:
    """The calls one commit makes, in order: starts, reports, ends. A RUNNING state with
    an end time is a failed attempt waiting for its retry: neither a start nor an end."""
    starts: list[tuple[str, Any]] = []
    ends: list[tuple[str, Any]] = []
    for trial in trials:
        if trial.status is not Status.RUNNING:
            ends.append(("on_trial_end", trial))
        elif trial.finished is None:
            starts.append(("on_trial_start", trial))
    return [*starts, *(("on_report", report) for report in reports), *ends]


def _named(callback: object) -> str:
    """A callback as a warning names it: its class, with its module."""
    kind = type(callback)
    return f"{kind.__module__}.{kind.__qualname__}"
