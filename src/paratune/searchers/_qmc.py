"""Quasi-random searchers: Sobol' sequences and Latin hypercubes, from `scipy.stats.qmc`.

Both spread points more evenly than random sampling, which helps when few trials are run.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..space import Space
from ..trial import Config
from ._base import _BlockSearcher


def _qmc() -> Any:
    """`scipy.stats.qmc`, imported on first use: importing scipy.stats costs half a second,
    which every worker process and every command would pay otherwise."""
    from scipy.stats import qmc

    return qmc


_SOBOL_FIRST = 64
_SOBOL_LARGEST = 4096
_LHS_BLOCK = 128
_LHS_LARGEST = 2**16


class Sobol(_BlockSearcher):
    """Follow a Sobol' sequence through the unit cube of the space.

    Points are drawn in blocks of 64, 64, 128, 256, ... (so the count drawn stays a power of
    two, as Sobol' balance needs) up to 4096 at a time.

    Args:
        scramble: randomise the sequence with the seed (Owen scrambling). Without it the
            sequence is the same for every seed and starts at the corner of the cube.
    """

    def __init__(self, scramble: bool = True) -> None:
        super().__init__()
        self.scramble = scramble

    def _start(self, space: Space, *, seed: int, max_trials: int | None) -> None:
        self._engine = _qmc().Sobol(space.dimension, scramble=self.scramble, **_rng(seed))

    def _next_block(self, space: Space) -> list[Config]:
        engine = self._engine
        drawn = int(engine.num_generated)
        # 64, then as many again as drawn so far: the total is 64, 128, 256, ...
        size = min(max(drawn, _SOBOL_FIRST), _SOBOL_LARGEST, int(engine.maxn) - drawn)
        if size <= 0:
            return []  # the sequence is exhausted (2**30 points)
        return space.decode_many(engine.random(size))

    def __repr__(self) -> str:
        return f"Sobol(scramble={self.scramble})"


class LatinHypercube(_BlockSearcher):
    """Draw a Latin hypercube design: each parameter's range is cut into as many equal
    slices as there are points, and each slice gets exactly one point.

    The design has ``max_trials`` points when that is known (up to 65536); otherwise, and
    after the first design is used up, designs of 128 points follow one another.
    """

    def _start(self, space: Space, *, seed: int, max_trials: int | None) -> None:
        self._engine = _qmc().LatinHypercube(space.dimension, **_rng(seed))
        self._first = max_trials if max_trials and max_trials <= _LHS_LARGEST else _LHS_BLOCK

    def _next_block(self, space: Space) -> list[Config]:
        # The engine draws each call as an independent stratified design.
        size, self._first = self._first, _LHS_BLOCK
        return space.decode_many(self._engine.random(size))

    def __repr__(self) -> str:
        return "LatinHypercube()"


def _rng(seed: int) -> dict[str, Any]:
    """Keyword arguments that seed a qmc engine on every supported SciPy.

    SciPy 1.15 renamed ``seed`` to ``rng`` and will deprecate ``seed``; a Generator gives the
    same points under either name.
    """
    generator = np.random.default_rng(seed)
    if "rng" in inspect.signature(_qmc().Sobol).parameters:
        return {"rng": generator}
    return {"seed": generator}
