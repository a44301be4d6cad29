"""Schedulers: what runs next, and at which budget.

`FIFO` runs each configuration once at full budget. The multi-fidelity schedulers run
trials at growing budgets and keep only the promising ones: `SuccessiveHalving`
(synchronous, the baseline), `ASHA` (asynchronous, with a stopping variant) and
`Hyperband` (brackets of ASHA).
"""

from __future__ import annotations

from ._base import Scheduler
from .asha import ASHA, Hyperband
from .fifo import FIFO
from .successive_halving import SuccessiveHalving

__all__ = ["ASHA", "FIFO", "Hyperband", "Scheduler", "SuccessiveHalving", "make_scheduler"]


def make_scheduler(scheduler: str | Scheduler) -> Scheduler:
    """Turn ``"fifo"`` into a scheduler; pass a scheduler object through unchanged."""
    if not isinstance(scheduler, str):
        return scheduler
    if scheduler == "fifo":
        return FIFO()
    raise ValueError(
        f"unknown scheduler {scheduler!r}; expected 'fifo' or a scheduler object "
        "(paratune.schedulers.ASHA, SuccessiveHalving or Hyperband)"
    )
