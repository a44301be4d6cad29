"""The store protocol: where experiments and their trials are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..trial import Trial


@dataclass(frozen=True, slots=True)
class Experiment:
    """What identifies an experiment and how it was set up.

    Attributes:
        name: the experiment's name, unique in its store.
        space: the search space in its JSON form (`Space.to_dict`).
        metric: the tuned metric.
        mode: ``"min"`` or ``"max"``.
        seed: the experiment seed.
        settings: other settings worth keeping (searcher, executor, workers, ...), JSON-able.
    """

    name: str
    space: dict[str, Any]
    metric: str
    mode: str
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """Keeps trials. The driver is the only writer.

    `save` returns only once the trial is recorded (for a durable store: committed), so a
    result is kept before the scheduler or searcher acts on it.
    """

    def open(self, experiment: Experiment) -> list[Trial]:
        """Start (or continue) ``experiment`` and return the trials it already has."""
        ...

    def save(self, trial: Trial) -> None:
        """Insert the trial, or replace the stored trial with the same id."""
        ...

    def trials(self) -> list[Trial]:
        """Every trial of the open experiment, in id order."""
        ...

    def close(self) -> None:
        """Release the store (the data stays where it is kept)."""
        ...
