"""Random search."""

from __future__ import annotations

import numpy as np

from ..space import Space
from ..trial import Config
from ._base import _BlockSearcher

_BLOCK = 256


class Random(_BlockSearcher):
    """Draw configs independently and uniformly (in log space for log domains).

    Configs come from ``space.sample_many`` in blocks of 256 drawn from
    ``np.random.default_rng(seed)``, so the sequence depends on the seed alone.
    """

    def _start(self, space: Space, *, seed: int, max_trials: int | None) -> None:
        self._rng = np.random.default_rng(seed)

    def _next_block(self, space: Space) -> list[Config]:
        return space.sample_many(self._rng, _BLOCK)

    def __repr__(self) -> str:
        return "Random()"
