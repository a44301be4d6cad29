"""The scheduler protocol: what runs next, and at which budget."""

from __future__ import annotations

from typing import Protocol

from ..trial import Config, Proposal, Trial


class Suggest(Protocol):
    """What `Scheduler.next_job` calls for a new configuration."""

    @property
    def trial_id(self) -> int:
        """The id the trial of the next configuration returned will have."""
        ...

    def __call__(self) -> Config | None:
        """The next configuration to try, or None: nothing more to try, or nothing until
        more results arrive."""
        ...


class Scheduler(Protocol):
    """Decides what a free worker runs next. Sans-IO: it never sleeps, reads a clock, or
    touches the store or the executor; it is handed a way to get new configurations."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """What to run next: a new configuration (asked of ``suggest``; the new trial's id
        is ``suggest.trial_id`` as read before the call), a trial to continue, or None when
        there is nothing to run now. A configuration ``suggest`` returns is proposed at
        once: it is never kept for later."""
        ...

    def on_result(self, trial: Trial) -> None:
        """Learn where ``trial`` stands: a job of it ended (its status says how, its
        ``budget`` how far it got, its ``value`` the result there), or, when a stored
        experiment is resumed, it was running at ``trial.budget`` and runs again there
        (status RUNNING)."""
        ...

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Learn that a running trial reported ``loss`` (the tuned metric, negated for
        mode="max": lower is better) after ``step`` steps; return False to stop it there."""
        ...
