"""The plain scheduler: each configuration once, at full budget, first come first served."""

from __future__ import annotations

from ..trial import Proposal, Trial
from ._base import Suggest


class FIFO:
    """Runs every suggested configuration once, at the objective's own full budget.

    >>> from paratune.schedulers import Suggestions
    >>> FIFO().next_job(Suggestions(lambda: {"x": 1}))
    Proposal(config={'x': 1}, budget=None, trial_id=None, start_step=0)
    """

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """A new trial for the next suggested configuration."""
        config = suggest()
        return None if config is None else Proposal(config)

    def on_result(self, trial: Trial) -> None:
        """Nothing to decide."""

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Every trial goes on."""
        return True
