"""Grid search: every combination, in order or shuffled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ..objectives import Objectives
from ..space import Space
from ..trial import Config, Trial
from ._order import Order, check_order, shuffled_indices


class Grid:
    """Try every config of `Space.grid` once, then stop.

    In the given order, the last parameter varies fastest; shuffled, the order is drawn from
    the experiment seed (the same seed gives the same order, whatever the workers), without
    building the configs first, so a grid of any size costs no memory.

    Every tunable parameter must be a Choice or an Int; `setup` raises `SpaceError` for a
    Float range. On a conditional space the grid holds each distinct combination of active
    parameters once (an inactive parameter adds none), each config only its active
    parameters.

    Args:
        order: ``"given"``, ``"shuffled"``, or ``"auto"`` (the default): shuffled under a
            multi-fidelity scheduler (`SuccessiveHalving`, `ASHA`, `Hyperband`), whose
            comparisons of each new trial with the earlier ones assume a random order, and
            given otherwise (`Ordered`). ``order="given"`` keeps the grid's order under
            every scheduler.

    Raises:
        SpecError: ``order`` is none of these.
    """

    def __init__(self, order: Order = "auto") -> None:
        self.order: Order = check_order(order)
        self._auto: Literal["given", "shuffled"] = "given"
        self._configs: Iterator[Config] | None = None

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over at the first config of ``space``'s grid, in this run's order."""
        grid = space.grid()
        if self.resolved_order == "shuffled":
            self._configs = (grid[index] for index in shuffled_indices(grid.size, seed))
        else:
            self._configs = iter(grid)

    def suggest(self) -> Config | None:
        """Return the next grid config, or None once all were suggested."""
        if self._configs is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        return next(self._configs, None)

    def aim(self, objectives: Objectives) -> None:
        """Take any objectives (`Aimed`): a grid does not judge results."""
        return None

    def observe(self, trial: Trial) -> None:
        """Ignore the result: a grid does not depend on results."""

    def exhausts(self, space: Space) -> bool:
        """True: a grid ends after its last config (`Finite`)."""
        return True

    def set_auto_order(self, order: Literal["given", "shuffled"]) -> None:
        """What ``order="auto"`` means in the runs to come (`Ordered`)."""
        self._auto = order

    @property
    def resolved_order(self) -> Literal["given", "shuffled"]:
        """The order the next `setup` uses: ``order``, or for ``"auto"`` what the run set."""
        return self._auto if self.order == "auto" else self.order

    def __repr__(self) -> str:
        return "Grid()" if self.order == "auto" else f"Grid(order={self.order!r})"
