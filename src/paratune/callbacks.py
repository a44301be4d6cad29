"""Callbacks: the user's code that hears of a run's trials as the store keeps them.

A `Callback` is given to ``tune(..., callbacks=[...])``. Its methods are called in the
driver (the process that called `tune`), only after the state they describe is committed to
the store, so whatever a callback mirrors (an MLflow server, TensorBoard files, a chat
message) is never ahead of the store: a run that crashes and is resumed loses nothing the
callback saw. For each trial the calls come in order: its start, its reports, its end (and,
for a trial continued at a higher budget or run again, another start and end).

A callback that raises does not stop the run: paratune warns once, naming it and the error,
and does not call it again in that run. See ``docs/tracking.md``, and `paratune.tracking`
for the MLflow and TensorBoard callbacks built on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._outcome import RunOutcome
    from .store import Experiment
    from .trial import Report, Trial

__all__ = ["METHODS", "Callback"]


class Callback:
    """Hears what a run commits: trials starting, their reports, their ends, the run's end.

    Override the methods you need: each does nothing by default. Each takes the
    experiment as the store keeps it (`paratune.store.Experiment`: its ``name``,
    ``metric``, ``mode``, ``seed``, ``space`` and stored ``settings``), the same object in
    every call of a run. Calls are made in the driver, one at a time, each after the state
    it describes is committed to the store; a call that takes long holds the run up (a
    slow tracking server slows the loop).

    A method that raises is reported once with a `RuntimeWarning` (naming the callback and
    the error) and the callback is not called again for the rest of the run, which goes on.

    Example:
        >>> import paratune as pt
        >>> from paratune.callbacks import Callback
        >>> class Count(Callback):
        ...     ended = 0
        ...     def on_trial_end(self, experiment, trial):
        ...         self.ended += 1
        >>> count = Count()
        >>> _ = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=3,
        ...             store=None, callbacks=[count])
        >>> count.ended
        3
    """

    def on_trial_start(self, experiment: Experiment, trial: Trial) -> None:
        """A job of ``trial`` was handed to the executor and the trial is stored as
        RUNNING: a new trial (``trial.attempts == 1``), a retry after a failure
        (``attempts`` more than 1), a promotion continuing an ended trial at a higher
        ``budget`` (its earlier metrics still in ``trial``), or a trial of a resumed
        experiment run again. A failed attempt that will be retried is no end: the retry's
        start is the next call for that trial."""

    def on_report(self, experiment: Experiment, report: Report) -> None:
        """A running trial's report is stored: ``report.trial_id``, ``report.step``,
        ``report.metrics`` (from ``ctx.report(step, **metrics)``, or the result at the end
        of a job with a budget, recorded as a report at that budget), ``report.attempt``
        and ``report.time`` (seconds since the experiment started). It comes after its
        trial's start and before its end."""

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        """``trial`` ended, as stored: ``trial.status`` is DONE, FAILED, PRUNED, CANCELLED
        (a stopping rule ended the run) or INTERRUPTED (the user stopped the run; it runs
        again on resume). A promoted trial ends once per job: each end is its latest
        state. When a stop cuts a promotion short, the trial ends where it stood before
        it."""

    def on_run_end(self, experiment: Experiment, outcome: RunOutcome) -> None:
        """The run ended and its totals are stored: ``outcome`` is what `tune` makes its
        result from (every trial, ``stop_reason``, ``wall_time``, ...). Not called when an
        error ends the run (the experiment stays unfinished in the store, to resume)."""


METHODS = ("on_trial_start", "on_report", "on_trial_end", "on_run_end")
"""The methods of a `Callback`: an object that is no `Callback` must have all of them."""
