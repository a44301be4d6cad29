"""Schedulers: what runs next, and at which budget.

`FIFO` runs each configuration once at full budget. The multi-fidelity schedulers run
trials at growing budgets and keep only the promising ones: `SuccessiveHalving`
(synchronous, the baseline), `ASHA` (asynchronous, with a stopping variant) and
`Hyperband` (brackets of ASHA).

A scheduler is handed a `Suggest`: it returns new configurations and tells the id the next
one's trial will have. `Suggestions` makes one of a plain function, to drive a scheduler
without the tuner. A scheduler answers with a `Proposal`. One that wants new configurations
in random order (the multi-fidelity ones) says so through the optional `RandomOrder` hook;
`prefers_random_order` asks it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..trial import Proposal
from ._base import RandomOrder, Scheduler, Suggest, prefers_random_order
from ._suggest import Suggestions
from .asha import ASHA, Hyperband
from .fifo import FIFO
from .successive_halving import SuccessiveHalving

__all__ = [
    "ASHA",
    "FIFO",
    "Hyperband",
    "Proposal",
    "RandomOrder",
    "Scheduler",
    "SuccessiveHalving",
    "Suggest",
    "Suggestions",
    "make_scheduler",
    "prefers_random_order",
]


_KINDS: dict[str, Any] = {
    "fifo": FIFO,
    "asha": ASHA,
    "hyperband": Hyperband,
    "successive_halving": SuccessiveHalving,
}


def make_scheduler(scheduler: str | Mapping[str, Any] | Scheduler) -> Scheduler:
    """Turn ``"fifo"``, or a dict such as ``{"type": "asha", "budget": "epochs",
    "min_budget": 1, "max_budget": 64, "eta": 2}`` or ``{"type": "fifo", "max_budget": 64}``
    (as a spec file gives it), into a scheduler; pass a scheduler object through unchanged.

    >>> make_scheduler({"type": "asha", "max_budget": 8}).budgets
    [1, 2, 4, 8]
    >>> make_scheduler({"type": "fifo", "budget": "epochs", "max_budget": 8})
    FIFO(budget='epochs', max_budget=8)
    """
    if isinstance(scheduler, Mapping):
        options = dict(scheduler)
        kind = options.pop("type", None)
        if kind not in _KINDS:
            raise ValueError(
                f"a scheduler dict needs 'type': one of {', '.join(_KINDS)}; got {kind!r}"
            )
        try:
            made: Scheduler = _KINDS[kind](**options)
        except TypeError as exc:
            known = [
                name for name in inspect.signature(_KINDS[kind]).parameters if name not in options
            ]
            raise ValueError(
                f"scheduler {kind!r}: {exc}; its options are type and {', '.join(known)}"
            ) from exc
        return made
    if not isinstance(scheduler, str):
        return scheduler
    if scheduler in _KINDS:
        return _KINDS[scheduler]()  # type: ignore[no-any-return]
    raise ValueError(
        f"unknown scheduler {scheduler!r}; expected 'fifo', 'asha', 'successive_halving', "
        "'hyperband', a dict with a 'type', or a scheduler object"
    )
