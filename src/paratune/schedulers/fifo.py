"""The plain scheduler: each configuration once, at full budget, first come first served."""

from __future__ import annotations

from ..objectives import Objectives
from ..trial import Proposal, Trial
from ._base import Suggest
from ._ladder import check_budget, check_label


class FIFO:
    """Runs every suggested configuration once, at full budget.

    Without ``max_budget``, the full budget is the objective's own: ``ctx.budget`` is None.
    With it, every trial runs at ``max_budget`` (``ctx.budget == max_budget``), so one
    objective serves `FIFO` and the multi-fidelity schedulers alike (``range(ctx.budget)``
    works under both), and each trial's result is recorded as a report at that step, as
    under `ASHA`. The options are spelled as ASHA's: in a spec,
    ``scheduler: {type: fifo, budget: epochs, max_budget: 100}``.

    Args:
        budget: the budget's name, for display (``"epochs"``, say).
        max_budget: the budget every trial runs at (a finite number > 0), or None.

    >>> from paratune.schedulers import Suggestions
    >>> FIFO().next_job(Suggestions(lambda: {"x": 1}))
    Proposal(config={'x': 1}, budget=None, trial_id=None, start_step=0)
    >>> FIFO(budget="epochs", max_budget=100).next_job(Suggestions(lambda: {"x": 1})).budget
    100
    """

    # Class defaults too: a subclass whose __init__ does not call this one still works.
    budget: str = "budget"
    max_budget: float | None = None

    def __init__(self, budget: str = "budget", max_budget: float | None = None) -> None:
        self.budget = check_label(budget)
        if max_budget is not None:
            check_budget("max_budget", max_budget)
        self.max_budget = max_budget

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """A new trial for the next suggested configuration, at ``max_budget``."""
        config = suggest()
        return None if config is None else Proposal(config, self.max_budget)

    def aim(self, objectives: Objectives) -> None:
        """Any objectives do: FIFO judges no result."""

    def on_result(self, trial: Trial) -> None:
        """Nothing to decide."""

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Every trial goes on."""
        return True

    def __repr__(self) -> str:
        if self.max_budget is None and self.budget == "budget":
            return "FIFO()"
        return f"FIFO(budget={self.budget!r}, max_budget={self.max_budget!r})"
