"""Grid search: every combination, in order."""

from __future__ import annotations

from collections.abc import Iterator

from ..space import Space
from ..trial import Config, Trial


class Grid:
    """Try every config of `Space.grid`, in order (the last parameter varies fastest), then
    stop.

    Every tunable parameter must be a Choice or an Int; `setup` raises `SpaceError` for a
    Float range. The seed plays no part.
    """

    def __init__(self) -> None:
        self._configs: Iterator[Config] | None = None

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over at the first config of ``space``'s grid."""
        self._configs = iter(space.grid())

    def suggest(self) -> Config | None:
        """Return the next grid config, or None once all were suggested."""
        if self._configs is None:
            raise RuntimeError("Grid(): call setup() before suggest()")
        return next(self._configs, None)

    def observe(self, trial: Trial) -> None:
        """Ignore the result: a grid does not depend on results."""

    def exhausts(self, space: Space) -> bool:
        """True: a grid ends after its last config (`Finite`)."""
        return True

    def __repr__(self) -> str:
        return "Grid()"
