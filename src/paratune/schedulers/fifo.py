"""The plain scheduler: each configuration once, at full budget, first come first served."""

from __future__ import annotations

from collections.abc import Callable

from ..trial import Config, Proposal, Trial


class FIFO:
    """Runs every suggested configuration once, at the objective's own full budget.

    >>> FIFO().next_job(lambda: {"x": 1})
    Proposal(config={'x': 1}, budget=None, trial_id=None, start_step=0)
    """

    def next_job(self, suggest: Callable[[], Config | None]) -> Proposal | None:
        """A new trial for the next suggested configuration."""
        config = suggest()
        return None if config is None else Proposal(config)

    def on_result(self, trial: Trial) -> None:
        """Nothing to decide."""

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Every trial goes on."""
        return True
