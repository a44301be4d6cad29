"""The scheduler protocol: what runs next, and at which budget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..trial import Config, Proposal, Trial


class Scheduler(Protocol):
    """Decides what a free worker runs next. Sans-IO: it never sleeps, reads a clock, or
    touches the store or the executor; it is handed a way to get new configurations."""

    def next_job(self, suggest: Callable[[], Config | None]) -> Proposal | None:
        """What to run next: a new configuration (asked of ``suggest``), a trial to continue,
        or None when there is nothing to run now."""
        ...

    def on_result(self, trial: Trial) -> None:
        """Learn that a job of ``trial`` ended (its status says how)."""
        ...
