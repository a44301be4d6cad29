"""The store protocol: where experiments and their trials are kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import StoreError
from ..trial import Report, Trial


@dataclass(frozen=True, slots=True)
class Experiment:
    """What identifies an experiment and how it was set up.

    Attributes:
        name: the experiment's name, unique in its store.
        space: the search space in its JSON form (`Space.to_dict`).
        metric: the tuned metric.
        mode: ``"min"`` or ``"max"``.
        seed: the experiment seed.
        objective: the objective's qualified name (``module:function``), or ``""``.
        settings: other settings worth keeping (searcher, executor, workers, ...), JSON-able.
    """

    name: str
    space: dict[str, Any]
    metric: str
    mode: str
    seed: int
    objective: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    def differences(self, other: Experiment) -> list[str]:
        """What makes ``other`` a different experiment: the fields a resumed run must share
        (space, objective, metric, mode, seed), named, with both values."""
        found = []
        for name in ("space", "objective", "metric", "mode", "seed"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                found.append(f"{name} {theirs!r} (stored: {mine!r})")
        # Several metrics or constraints: the primary metric is a field, the rest settings.
        mine, theirs = self._objectives(), other._objectives()
        parts = [
            f"{name} {theirs.get(name)!r} (stored: {mine.get(name)!r})"
            for name in ("metrics", "modes", "constraints")
            if mine.get(name) != theirs.get(name)
        ]
        if parts:
            found.append(f"objectives: {', '.join(parts)}")
        return found

    def _objectives(self) -> dict[str, Any]:
        """The metrics, modes and constraints, as the settings keep them for several
        metrics or constraints (`Objectives.to_dict`); for one metric, from its fields."""
        kept = self.settings.get("objectives")
        if isinstance(kept, dict):
            return kept
        return {"metrics": [self.metric], "modes": [self.mode], "constraints": {}}


@dataclass(frozen=True, slots=True)
class RunTotals:
    """How a run (all its sessions so far) used its workers.

    Attributes:
        wall_time: seconds the experiment has run, summed over its sessions.
        busy_time: worker-seconds spent in objectives.
        cancelled_time: worker-seconds spent on trials cancelled at a stop.
        workers: the worker count of the latest session.
        stop_reason: why the latest session ended (``""`` while it runs).
        lost_time: worker-seconds during which workers the executor lost were absent (a
            Dask worker gone until another joins): capacity the run did not have.
    """

    wall_time: float = 0.0
    busy_time: float = 0.0
    cancelled_time: float = 0.0
    workers: int = 0
    stop_reason: str = ""
    lost_time: float = 0.0


class Store(Protocol):
    """Keeps trials. The driver is the only writer.

    `save` returns only once its trials are recorded (for a durable store: committed), and
    the tuner saves a finished trial before the scheduler or searcher hears of it, so a crash
    of the driver never loses a result anyone acted on.

    A store may keep several experiments, each under its own name; `save` and the readings
    are of the experiment opened last. Before any is open, they raise `StoreError`.
    ``paratune.testing.stores.StoreContract`` checks a store against this protocol.
    """

    def open(self, experiment: Experiment, *, resume: bool, overwrite: bool) -> list[Trial]:
        """Start ``experiment``, or continue it (``resume``) and return the trials it already
        has, or replace it (``overwrite``).

        Raises:
            StoreError: the name exists and neither ``resume`` nor ``overwrite`` was asked,
                or ``resume`` was asked of an experiment with another space, objective,
                metric, mode or seed.
        """
        ...

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        """Insert the trials, or replace stored trials with the same ids, and add the
        reports (intermediate results), as one group."""
        ...

    def reports(self) -> list[Report]:
        """Every report of the open experiment, by trial and step; times are seconds since
        the experiment started."""
        ...

    def finish(self, totals: RunTotals) -> None:
        """Record how the session that just ended used its workers."""
        ...

    def totals(self) -> RunTotals:
        """What earlier sessions of the open experiment recorded (zeros for a new one)."""
        ...

    def trials(self) -> list[Trial]:
        """Every trial of the open experiment, in id order."""
        ...

    def close(self) -> None:
        """Release the store; what it keeps stays where it is kept."""
        ...


def refuse_reopening(
    stored: Experiment, experiment: Experiment, *, resume: bool, where: str
) -> None:
    """What `Store.open` owes an experiment whose name is already ``stored``, ``where``
    (the store, in words) when neither overwriting it nor, with ``resume``, continuing it
    with the same setup.

    Raises:
        StoreError: without ``resume``, or for another space, objective, metric, mode or
            seed.
    """
    if not resume:
        raise StoreError(
            f"experiment {experiment.name!r} already exists in {where}: resume it, "
            "overwrite it, or choose another name"
        )
    if differences := stored.differences(experiment):
        raise StoreError(
            f"experiment {experiment.name!r} in {where} was run with another setup "
            f"({'; '.join(differences)}): choose another name, or overwrite it"
        )
