"""Searchers: what to try next.

A searcher proposes configs (`Searcher.suggest`) and may learn from finished trials
(`Searcher.observe`). Pick one by name with `make_searcher` or pass an instance. Optional
hooks: a searcher that runs out of configurations says so through `Finite` (`runs_out` asks
it), one that converges through `Converging` (`has_converged`), and one that hands out a
fixed list of configs takes the order a run wants through `Ordered` (`set_auto_order`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import SpecError
from ._base import Converging, Finite, Searcher, has_converged, runs_out
from ._cmaes import CMAES
from ._gp import GP
from ._grid import Grid
from ._initial import InitialPoints
from ._nsga2 import NSGA2
from ._order import Ordered, set_auto_order
from ._qmc import LatinHypercube, Sobol
from ._random import Random
from ._tpe import TPE

__all__ = [
    "CMAES",
    "GP",
    "NSGA2",
    "TPE",
    "Converging",
    "Finite",
    "Grid",
    "InitialPoints",
    "LatinHypercube",
    "Ordered",
    "Random",
    "Searcher",
    "Sobol",
    "has_converged",
    "make_searcher",
    "runs_out",
    "set_auto_order",
]

_BY_NAME: dict[str, Callable[[], Searcher]] = {
    "grid": Grid,
    "random": Random,
    "sobol": Sobol,
    "lhs": LatinHypercube,
    "cmaes": CMAES,
    "gp": GP,
    "tpe": TPE,
    "nsga2": NSGA2,
}


def make_searcher(searcher: str | Searcher) -> Searcher:
    """Return a new searcher for a name, or ``searcher`` itself when it is one already.

    Args:
        searcher: ``"grid"``, ``"random"``, ``"sobol"``, ``"lhs"``, ``"cmaes"``, ``"gp"``,
            ``"tpe"`` or ``"nsga2"`` (any case), or an object with ``setup``, ``suggest``
            and ``observe`` methods.

    Raises:
        SpecError: an unknown name (the message lists the valid ones), a searcher class
            rather than an instance, or an object that is not a searcher.
    """
    names = ", ".join(repr(name) for name in _BY_NAME)
    if isinstance(searcher, str):
        factory = _BY_NAME.get(searcher.lower())
        if factory is None:
            raise SpecError(f"unknown searcher {searcher!r}; expected one of {names}")
        return factory()
    if isinstance(searcher, type):
        raise SpecError(
            f"searcher must be an instance, got the class {searcher.__name__}; "
            f"write {searcher.__name__}()"
        )
    if not isinstance(searcher, Searcher):
        raise SpecError(
            f"searcher must be one of {names} or an object with setup, suggest and observe "
            f"methods, got {searcher!r}"
        )
    return searcher
