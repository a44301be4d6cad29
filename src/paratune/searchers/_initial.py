"""Start a search with given configs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..errors import SpaceError, SpecError
from ..objectives import Objectives, aim
from ..space import Space
from ..trial import Config, Trial
from ._base import Searcher, has_converged, runs_out
from ._order import Order, check_order, set_auto_order, shuffled_indices

FEW_POINTS = 10
"""Under ``order="auto"``, at most this many points keep their order whatever the scheduler:
a handful of known good configs is tried first as listed; a longer list is likely a sweep,
whose order would bias a multi-fidelity scheduler."""


class InitialPoints:
    """Suggest given configs first, then hand over to another searcher.

    The points are checked against the space in `setup`, so a bad point fails before any
    trial runs. Every result, of the points' trials too, is passed on to ``then``.

    Args:
        points: configs to try first. Constants may be left out; on a conditional space a
            point holds exactly the parameters active under it (`paratune.space.Space.active`
            drops the others).
        then: the searcher to use once the points are used up.
        order: ``"given"`` (the points as listed), ``"shuffled"`` (in an order drawn from
            the experiment seed), or ``"auto"`` (the default): shuffled when there are more
            than `FEW_POINTS` of them and the scheduler is a multi-fidelity one, which
            assumes a random order (`Ordered`), given otherwise. What the run asks for
            ``"auto"`` is passed on to ``then``.

    Attributes:
        points: the points as given (copies).
        then: the searcher that follows them.
        order: the order asked for.

    Raises:
        SpecError: ``points`` is not a list of mappings, ``then`` is not a searcher, or
            ``order`` is not one of the three.
    """

    def __init__(
        self, points: Sequence[Mapping[str, Any]], then: Searcher, order: Order = "auto"
    ) -> None:
        if isinstance(points, str | bytes | Mapping) or not isinstance(points, Sequence):
            raise SpecError(f"points must be a list of configs (dicts), got {points!r}")
        for index, point in enumerate(points):
            if not isinstance(point, Mapping):
                raise SpecError(f"initial point {index} must be a dict, got {point!r}")
        if isinstance(then, type) or not isinstance(then, Searcher):
            raise SpecError(f"then must be a searcher instance, got {then!r}")
        self.points: tuple[Config, ...] = tuple(dict(point) for point in points)
        self.then = then
        self.order: Order = check_order(order)
        self._auto: Literal["given", "shuffled"] = "given"
        self._queue: list[Config] = []
        self._next = 0

    def check(self, space: Space) -> list[Config]:
        """The points, each validated against ``space`` (complete and in order).

        Raises:
            SpaceError: a point does not fit the space; the message names the point's index
                and the parameter (and, for a parameter given where it is inactive, its
                condition).
        """
        checked = []
        for index, point in enumerate(self.points):
            try:
                checked.append(space.validate(point))
            except SpaceError as exc:
                raise SpaceError(f"initial point {index}: {exc}") from exc
        return checked

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Check the points against ``space`` and set up ``then`` for the trials left.

        Raises:
            SpaceError: a point does not fit the space; the message names the point's index
                and the parameter (and, for a parameter given where it is inactive, its
                condition).
        """
        queue = self.check(space)
        if self.resolved_order == "shuffled":
            queue = [queue[index] for index in shuffled_indices(len(queue), seed)]
        self._queue = queue
        self._next = 0
        left = None if max_trials is None else max(max_trials - len(queue), 0)
        self.then.setup(space, seed=seed, workers=workers, max_trials=left)

    def suggest(self) -> Config | None:
        """Return the next point, then whatever ``then`` suggests."""
        if self._next < len(self._queue):
            config = dict(self._queue[self._next])
            self._next += 1
            return config
        return self.then.suggest()

    def aim(self, objectives: Objectives) -> None:
        """Pass the objectives on to ``then`` (`Aimed`), which must take them."""
        aim(self.then, objectives, "searcher")

    def observe(self, trial: Trial) -> None:
        """Pass the trial on to ``then``."""
        self.then.observe(trial)

    def exhausts(self, space: Space) -> bool:
        """Whether ``then`` runs out on ``space`` (`Finite`): the points are finitely many."""
        return runs_out(self.then, space)

    def converged(self) -> bool:
        """Whether ``then`` has converged (`Converging`)."""
        return has_converged(self.then)

    def set_auto_order(self, order: Literal["given", "shuffled"]) -> None:
        """What ``order="auto"`` means in the runs to come, for the points and for ``then``
        (`Ordered`)."""
        self._auto = order
        set_auto_order(self.then, order)

    @property
    def resolved_order(self) -> Literal["given", "shuffled"]:
        """The order the next `setup` gives the points: ``order``, or for ``"auto"`` what the
        run set when there are more than `FEW_POINTS` points, else given."""
        if self.order != "auto":
            return self.order
        return self._auto if len(self.points) > FEW_POINTS else "given"

    def __repr__(self) -> str:
        shown = "" if self.order == "auto" else f", order={self.order!r}"
        return f"InitialPoints({len(self.points)} points, then={self.then!r}{shown})"
