"""CMA-ES: an evolution strategy whose whole population is evaluated in parallel."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import is_whole
from .._conditions import describe_when
from ..errors import SpaceError, SpecError
from ..space import Choice, Space
from ..trial import Config, Status, Trial

_MIN_POPSIZE = 4
"""CMA's default for one dimension; below it the `cmaes` learning rates divide by zero."""

_Key = tuple[Any, ...]


def _tolerance(name: str, value: object) -> float:
    """``value`` as a tolerance: a finite number >= 0.

    Raises:
        SpecError: it is not one.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise SpecError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _cma_class() -> Any:
    """`cmaes.CMA`, imported on first use: importing cmaes imports scipy.stats (most of a
    second), which every worker process and every command would pay otherwise."""
    from cmaes import CMA

    return CMA


class CMAES:
    """Covariance matrix adaptation evolution strategy (CMA-ES), through `cmaes.CMA`.

    It searches the unit cube of the space (`Space.encode`/`Space.decode`: log ranges in
    log space, integers rounded by decoding), within bounds [0, 1] on every axis, starting
    from the cube's centre. Each generation is ``popsize`` candidates, handed out one by one
    so the workers evaluate them in parallel; once they are all out, `suggest` returns None
    until the last of them is observed, then CMA learns from the generation and draws the
    next. It minimises ``trial.value``.

    A trial that failed or was cancelled counts as the worst value observed in its
    generation; a generation where every trial failed teaches nothing and is drawn again.

    The search has converged when, after a generation, the best and worst values of each of
    the last ``10 + ceil(30 d / popsize)`` generations (CMA's own window, for ``d``
    parameters) lie within ``tolfun`` of each other, or the generation's candidates spread
    less than ``tolx`` along every axis of the cube (their standard deviation, as a
    fraction of each range), or one of CMA's own tests fires (values within 1e-12, a
    vanishing step, no effect of a step on the mean, a covariance conditioned beyond 1e14,
    divergence). It then starts again from a random point of the cube with a population
    twice as large (IPOP-CMA-ES), up to ``restarts`` times; after that, `converged` is True,
    `suggest` returns None for good, and the run ends with ``StopReason.CONVERGED``.

    Choice parameters have no order for CMA to follow: `setup` refuses them, and conditional
    parameters too (`paratune.space.Space.conditional`). Everything is
    drawn from generators seeded by the experiment seed, so with ``popsize`` given the
    trials are the same whatever the number of workers.

    >>> from paratune.space import Float
    >>> searcher = CMAES(popsize=6)
    >>> searcher.setup(Space({"x": Float(-1, 1)}), seed=0, workers=3, max_trials=None)
    >>> generation = [searcher.suggest() for _ in range(6)]
    >>> searcher.suggest() is None  # waits for the generation's results
    True

    Args:
        sigma0: the initial step size, in cube coordinates (where every range is 1 wide);
            about a third of the range lets the first generations look around widely.
        popsize: candidates per generation. Default: the smallest multiple of the number of
            workers that is at least CMA's default ``4 + floor(3 ln d)`` for ``d``
            parameters, so a generation fills every worker. That default depends on the
            number of workers, hence so do the trials; give ``popsize`` (preferably a
            multiple of the workers) to make them depend on the seed alone.
        tolfun: the function-value tolerance, in the objective's units (0 turns the test
            off). The default, pycma's, suits a smooth deterministic objective; a noisy or
            coarsely computed one (a simulation solved to a tolerance) needs one above its
            noise to converge.
        tolx: the step-size tolerance, as a fraction of each parameter's range (0 turns the
            test off); pycma's default.
        restarts: how many times to start again once converged, each with a population
            twice as large (IPOP), before the search ends; None: for ever (the run then ends
            only by ``max_trials``, ``max_time`` or ``target``).

    Raises:
        SpecError: ``sigma0`` is not a finite number above 0, ``popsize`` is not an integer
            of at least 4, a tolerance is not a finite number >= 0, or ``restarts`` is not
            None or an integer >= 0.
    """

    def __init__(
        self,
        sigma0: float = 0.3,
        popsize: int | None = None,
        *,
        tolfun: float = 1e-11,
        tolx: float = 1e-11,
        restarts: int | None = 0,
    ) -> None:
        if isinstance(sigma0, bool) or not isinstance(sigma0, int | float):
            raise SpecError(f"sigma0 must be a number, got {sigma0!r}")
        if not (math.isfinite(sigma0) and sigma0 > 0):
            raise SpecError(f"sigma0 must be a finite number above 0, got {sigma0!r}")
        if popsize is not None and not is_whole(popsize, _MIN_POPSIZE):
            raise SpecError(f"popsize must be an integer >= {_MIN_POPSIZE}, got {popsize!r}")
        if restarts is not None and not is_whole(restarts, 0):
            raise SpecError(f"restarts must be None or an integer >= 0, got {restarts!r}")
        self.sigma0 = float(sigma0)
        self.popsize = popsize
        self.tolfun = _tolerance("tolfun", tolfun)
        self.tolx = _tolerance("tolx", tolx)
        self.restarts = restarts
        self._space: Space | None = None
        self._rng = np.random.default_rng(0)
        self._cma: Any = None
        self._history: deque[tuple[float, float]] = deque()
        self._population = 0
        self._generation = 0
        self._restarted = 0
        self._converged = False
        self._constant_given = False
        self._reset_generation()

    # ---- the Searcher protocol --------------------------------------------------------------

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start a new search over ``space``; see `Searcher.setup`.

        Raises:
            SpaceError: a parameter is a Choice, or is conditional (CMA-ES moves every
                coordinate at once, and a coordinate that is sometimes absent has no place
                in its distribution).
        """
        if space.conditional:
            name = space.conditional[0]
            raise SpaceError(
                f"CMAES cannot search a conditional space: {name!r} is active only when "
                f"{describe_when(space.domains[name].when)}; use 'tpe', 'gp' or 'random'"
            )
        for name, domain in space.domains.items():
            if isinstance(domain, Choice):
                raise SpaceError(
                    f"parameter {name!r} is a Choice; CMA-ES needs Float and Int ranges: "
                    "use searcher 'random', 'sobol' or 'lhs' for a space with choices"
                )
        self._space = space
        # One generator for everything random here: CMA's seeds and restart points.
        self._rng = np.random.default_rng(seed)
        self._generation = 0
        self._restarted = 0
        self._converged = False
        self._constant_given = False
        self._cma = None
        self._population = 0
        self._reset_generation()
        dimension = space.dimension
        if dimension == 0:
            return
        if self.popsize is not None:
            self._population = self.popsize
        else:
            smallest = _MIN_POPSIZE + math.floor(3 * math.log(dimension))
            slots = max(1, workers)
            self._population = slots * math.ceil(smallest / slots)
        self._start_cma(np.full(dimension, 0.5))
        self._draw()

    def suggest(self) -> Config | None:
        """Return the next candidate of the current generation, or None while the
        generation's last results are awaited, and for good once converged.

        Raises:
            RuntimeError: `setup` was not called.
        """
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        if space.dimension == 0:
            # Every candidate would be the same config: suggest it once.
            if self._constant_given:
                return None
            self._constant_given = True
            return space.decode(np.empty(0))
        if self._converged or self._handed == len(self._configs):
            return None
        index = self._handed
        self._handed += 1
        config = self._configs[index]
        self._waiting.setdefault(self._key(config), []).append(index)
        return dict(config)  # a copy: the objective may change the one it is given

    def observe(self, trial: Trial) -> None:
        """Record the trial's value against its candidate; the generation's last one makes
        CMA learn and draw the next generation.

        A trial that is not a candidate of the current generation (a point to evaluate, an
        earlier run's trial) is ignored.
        """
        if self._cma is None or self._converged:
            return
        try:
            waiting = self._waiting.get(self._key(trial.config))
        except TypeError:  # an unhashable value: not a config this searcher made
            return
        if not waiting:
            return
        index = waiting.pop(0)  # equal configs are interchangeable: take the first
        value = trial.value
        valued = trial.status in (Status.DONE, Status.PRUNED)
        if valued and value is not None and math.isfinite(value):
            self._values[index] = float(value)
        self._observed += 1
        if self._observed == len(self._candidates):
            self._learn()

    # ---- introspection ----------------------------------------------------------------------

    def converged(self) -> bool:
        """Whether the search has converged for good: its tolerances were met after its last
        restart, so it suggests nothing more (`Converging`)."""
        return self._converged

    @property
    def restarted(self) -> int:
        """How many times the search has started again (IPOP) in this run."""
        return self._restarted

    @property
    def population_size(self) -> int:
        """Candidates in the current generation (0 before `setup` and for a space with no
        tunable parameter). It doubles at each restart."""
        return self._population

    @property
    def generation(self) -> int:
        """How many generations CMA has learnt from in this run."""
        return self._generation

    def __repr__(self) -> str:
        return (
            f"CMAES(sigma0={self.sigma0!r}, popsize={self.popsize!r}, tolfun={self.tolfun!r}, "
            f"tolx={self.tolx!r}, restarts={self.restarts!r})"
        )

    # ---- generations ------------------------------------------------------------------------

    def _start_cma(self, mean: NDArray[np.float64]) -> None:
        """A new CMA run from ``mean``, with the current population and an empty history."""
        bounds = np.tile([0.0, 1.0], (mean.size, 1))
        self._cma = _cma_class()(
            mean=mean,
            sigma=self.sigma0,
            bounds=bounds,
            seed=int(self._rng.integers(2**32)),
            population_size=self._population,
        )
        window = 10 + math.ceil(30 * mean.size / self._population)
        self._history = deque(maxlen=window)

    def _reset_generation(self) -> None:
        self._candidates: list[NDArray[np.float64]] = []
        self._configs: list[Config] = []
        self._values: list[float | None] = []  # None: failed, cancelled, or not yet observed
        self._waiting: dict[_Key, list[int]] = {}  # handed-out config -> candidate indices
        self._handed = 0
        self._observed = 0

    def _draw(self) -> None:
        """Ask CMA for a whole generation at once, so its draws do not depend on timing."""
        assert self._space is not None
        self._reset_generation()
        self._candidates = [self._cma.ask() for _ in range(self._population)]
        self._configs = self._space.decode_many(np.array(self._candidates))
        self._values = [None] * self._population

    def _learn(self) -> None:
        """Tell CMA the generation's values (failures as its worst), then, unless the search
        has converged for good, draw the next."""
        done = [value for value in self._values if value is not None]
        if done:
            worst = max(done)
            # Candidate order, not arrival order: the same results teach the same thing
            # whichever worker finished first.
            self._cma.tell(
                [
                    (x, worst if value is None else value)
                    for x, value in zip(self._candidates, self._values, strict=True)
                ]
            )
            self._generation += 1
            self._history.append((min(done), worst))
            if self._within_tolerances() or self._cma.should_stop():
                if self.restarts is not None and self._restarted >= self.restarts:
                    self._converged = True
                    self._reset_generation()
                    return
                self._restarted += 1
                self._population *= 2
                self._start_cma(self._rng.uniform(size=len(self._candidates[0])))
        self._draw()

    def _within_tolerances(self) -> bool:
        """Whether the last generations' values lie within ``tolfun`` of each other, or the
        last generation's candidates spread less than ``tolx`` along every axis."""
        history = self._history
        if len(history) == history.maxlen:
            lows, highs = zip(*history, strict=True)
            if max(highs) - min(lows) < self.tolfun:
                return True
        spread = np.std(np.array(self._candidates), axis=0)
        return bool(np.all(spread < self.tolx))

    def _key(self, config: Config) -> _Key:
        """A hashable form of a config: its tunable values (constants are in every one)."""
        assert self._space is not None
        return tuple(config.get(name) for name in self._space.tunable)
