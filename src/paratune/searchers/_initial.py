"""Start a search with given configs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpaceError, SpecError
from ..space import Space
from ..trial import Config, Trial
from ._base import Searcher, runs_out


class InitialPoints:
    """Suggest given configs first, then hand over to another searcher.

    The points are checked against the space in `setup`, so a bad point fails before any
    trial runs. Every result, of the points' trials too, is passed on to ``then``.

    Args:
        points: configs to try first, in order. Constants may be left out.
        then: the searcher to use once the points are used up.

    Attributes:
        points: the points as given (copies).
        then: the searcher that follows them.

    Raises:
        SpecError: ``points`` is not a list of mappings, or ``then`` is not a searcher.
    """

    def __init__(self, points: Sequence[Mapping[str, Any]], then: Searcher) -> None:
        if isinstance(points, str | bytes | Mapping) or not isinstance(points, Sequence):
            raise SpecError(f"points must be a list of configs (dicts), got {points!r}")
        for index, point in enumerate(points):
            if not isinstance(point, Mapping):
                raise SpecError(f"initial point {index} must be a dict, got {point!r}")
        if isinstance(then, type) or not isinstance(then, Searcher):
            raise SpecError(f"then must be a searcher instance, got {then!r}")
        self.points: tuple[Config, ...] = tuple(dict(point) for point in points)
        self.then = then
        self._queue: list[Config] = []
        self._next = 0

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Check the points against ``space`` and set up ``then`` for the trials left.

        Raises:
            SpaceError: a point does not fit the space; the message names the point's index
                and the parameter.
        """
        queue = []
        for index, point in enumerate(self.points):
            try:
                queue.append(space.validate(point))
            except SpaceError as exc:
                raise SpaceError(f"initial point {index}: {exc}") from exc
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

    def observe(self, trial: Trial) -> None:
        """Pass the trial on to ``then``."""
        self.then.observe(trial)

    def exhausts(self, space: Space) -> bool:
        """Whether ``then`` runs out on ``space`` (`Finite`): the points are finitely many."""
        return runs_out(self.then, space)

    def __repr__(self) -> str:
        return f"InitialPoints({len(self.points)} points, then={self.then!r})"
