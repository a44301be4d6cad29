"""Schedulers: what runs next, and at which budget."""

from __future__ import annotations

from ._base import Scheduler
from .fifo import FIFO

__all__ = ["FIFO", "Scheduler", "make_scheduler"]


def make_scheduler(scheduler: str | Scheduler) -> Scheduler:
    """Turn ``"fifo"`` into a scheduler; pass a scheduler object through unchanged."""
    if not isinstance(scheduler, str):
        return scheduler
    if scheduler == "fifo":
        return FIFO()
    raise ValueError(f"unknown scheduler {scheduler!r}; expected 'fifo' or a scheduler object")
