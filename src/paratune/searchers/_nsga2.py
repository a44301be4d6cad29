"""NSGA-II, steady-state: a genetic algorithm for several objectives (or one, with or
without constraints) that makes one child per free worker instead of a generation at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._checks import is_whole
from ..errors import SpaceError, SpecError
from ..objectives import Objectives
from ..space import Space
from ..trial import Config, Status, Trial
from ._nsga2_ops import Archive, crossover, mutation, tournament
from ._qmc import _qmc, _rng

_Array = NDArray[np.float64]
_Key = tuple[float | None, ...]

_SMALLEST = 24  # the default population is max(24, 2 * workers), made even
_ETA_CROSSOVER = 15.0
_CROSSOVER = 0.9
_ETA_MUTATION = 20.0
_TRIES = 16  # draws made for a config not suggested nor observed before taking a repeat
_SOBOL_FIRST = 64
_SOBOL_LARGEST = 4096


class NSGA2:
    """NSGA-II (Deb et al. 2002), steady-state: each suggestion is one child of the
    current survivors, so every worker stays busy.

    1. **Initial design.** The first configs follow a scrambled Sobol' sequence through the
       unit cube (`Sobol`'s points, for the same seed), until ``population`` trials have
       ended with a result; with many workers, more than ``population`` design points are
       handed out, none waits.
    2. **Survivors.** The best ``population`` of the trials observed, by
       `paratune.pareto.pareto_order`: front first (non-dominated sorting; with
       constraints, Deb's rule: a feasible trial before every infeasible one, of two
       infeasible ones the smaller violation), then the larger crowding distance, then the
       earlier trial. The ordering keeps the best ``3 * population`` trials for the next
       one, so a suggestion costs the same after 100 trials and after 100,000; the
       survivors are those of all the trials observed, in whatever order they ended, while
       the front holds fewer than that (beyond, the crowding distance is measured among
       the kept trials). A resumed experiment, whose trials are observed again in id
       order, rebuilds them.
    3. **A child.** Two parents, each the winner of a binary tournament among the survivors
       (the earlier in that order wins), are crossed by simulated binary crossover
       (``eta`` 15, probability 0.9) and mutated by polynomial mutation (``eta`` 20, each
       coordinate with probability ``1 / dimension``), in the unit cube (`Space.decode`:
       log ranges in log space; an Int or a Choice is the cell its coordinate falls in).
    4. **Pending trials** do not wait: children come from the survivors of the trials
       ended so far. A config suggested or observed before is not suggested again while a
       few draws find a new one (a small discrete space may leave only repeats).
    5. **Failures.** A FAILED or CANCELLED trial, or one whose metrics are unusable, is
       never a parent; only DONE trials are (a PRUNED one stopped short of its budget).
       A trial observed again at a higher budget (a promotion) counts with its new result.
    6. **Conditional spaces** are searched as `Random` does: every coordinate of the cube
       is drawn and crossed, and the parameters inactive under the result are dropped.
       Each trial keeps its whole cube point, so an inactive parameter's coordinate comes
       back when a child turns it on; a trial this searcher did not suggest (a resumed
       one) gets random coordinates for its inactive parameters.

    With one metric this is a plain steady-state genetic algorithm. The objectives come
    through `aim` (`paratune.objectives.Aimed`); without it the trials' ``value`` is the
    one loss. The same seed and the same sequence of `suggest` and `observe` calls give
    the same suggestions.

    Args:
        population: how many survivors are kept (and the size of the initial design);
            None: ``max(24, 2 * workers)``, rounded up to an even number.

    Raises:
        SpecError: ``population`` is not an integer of at least 2.
    """

    def __init__(self, population: int | None = None) -> None:
        if population is not None and not is_whole(population, 2):
            raise SpecError(
                f"population must be an integer of at least 2, or None for "
                f"max(24, 2 * workers); got {population!r}"
            )
        self.population = population
        self._objectives: Objectives | None = None
        self._space: Space | None = None

    def aim(self, objectives: Objectives) -> None:
        """Take note of what the run tunes (`paratune.objectives.Aimed`): every metric and
        constraint counts in the survivors. Kept across `setup`."""
        self._objectives = objectives

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over on ``space``, forgetting every earlier suggestion and observation."""
        self._space = space
        self._size = self.population or _default_population(workers)
        self._rng = np.random.default_rng(seed)
        self._design = _SobolDesign(space.dimension, seed)
        self._archive = Archive(self._size)
        self._points: list[_Array] = []  # each archive row's whole cube point
        self._trial_ids: list[int] = []  # each archive row's trial
        self._row_of: dict[int, int] = {}  # trial id -> its archive row
        self._ended: set[int] = set()  # every trial id observed
        self._known: set[_Key] = set()  # every config suggested or observed
        self._pending: dict[_Key, _Array] = {}  # suggested, not observed: the cube points
        self._latest: _Key | None = None  # the latest suggestion, until the next observation
        self._finished = False

    def suggest(self) -> Config | None:
        """Return the next design point until ``population`` trials have a result, then a
        child of the survivors. For a space with only constants: its config, then None."""
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        if self._finished:
            return None
        if space.dimension == 0:
            self._finished = True  # every suggestion would be the same config
            return space.decode_many(np.zeros((1, 0)))[0]
        if len(self._archive) < self._size:
            point, config, key = self._new(self._design.next)
        else:
            point, config, key = self._new(self._child)
        self._known.add(key)
        self._pending[key] = point
        self._latest = key
        return config

    def observe(self, trial: Trial) -> None:
        """Take note of a trial that ended: a DONE one with usable metrics joins the
        candidates for survival; every one is a config not to suggest again."""
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before observe()")
        if space.dimension == 0 or trial.status is Status.RUNNING:
            return
        if trial.trial_id in self._ended:
            self._observe_again(trial)
            return
        self._ended.add(trial.trial_id)
        key = self._key(trial.config)
        point = self._claim(key)
        result = self._result(trial)
        if result is not None and key is not None:  # else never a parent
            self._add(trial, result, point if point is not None else self._filled(trial.config))

    def survivors(self) -> list[int]:
        """The trial ids of the current survivors, the parents of the next children, best
        first (fewer than ``population`` until that many trials have a result)."""
        if self._space is None:
            raise RuntimeError(f"{self!r}: call setup() before survivors()")
        return [self._trial_ids[row] for row in self._archive.survivors().tolist()]

    def __repr__(self) -> str:
        return f"NSGA2(population={self.population!r})"

    # ---- suggesting -----------------------------------------------------------------------

    def _new(self, draw: Callable[[], _Array]) -> tuple[_Array, Config, _Key]:
        """The first of up to `_TRIES` points from ``draw`` (then as many uniform ones) whose
        config is new; the last one drawn when none is."""
        assert self._space is not None
        for source in (draw, self._uniform):
            for _ in range(_TRIES):
                point = source()
                config = self._space.decode(point)
                key = _key(self._space.encode(config))
                if key not in self._known:
                    return point, config, key
        return point, config, key

    def _child(self) -> _Array:
        """A child of two parents, each chosen by a tournament among the survivors."""
        survivors = self._archive.survivors()
        first = self._points[survivors[tournament(len(survivors), self._rng)]]
        second = self._points[survivors[tournament(len(survivors), self._rng)]]
        child = crossover(first, second, self._rng, eta=_ETA_CROSSOVER, probability=_CROSSOVER)
        chance = 1.0 / len(child)
        return mutation(child, self._rng, eta=_ETA_MUTATION, probability=chance)

    def _uniform(self) -> _Array:
        assert self._space is not None
        return self._rng.random(self._space.dimension)

    # ---- observations ---------------------------------------------------------------------

    def _claim(self, key: _Key | None) -> _Array | None:
        """The cube point of the pending suggestion of ``key``, which is pending no more;
        None for a config this searcher did not suggest."""
        point = self._pending.pop(key, None) if key is not None else None
        if point is None and self._latest in self._pending:
            # Not one of ours, observed right after our latest suggestion: the tuner ran a
            # stored trial in its place (a resumed run replays each trial after a suggest).
            del self._pending[self._latest]
        self._latest = None
        if key is not None:
            self._known.add(key)
        return point

    def _observe_again(self, trial: Trial) -> None:
        """A later result of a trial already observed (a promotion to a higher budget)
        replaces its earlier one; one that failed or was cancelled leaves it as it was."""
        result = self._result(trial)
        if result is None:
            return
        row = self._row_of.get(trial.trial_id)
        if row is not None:
            self._archive.replace(row, *result)
        elif self._key(trial.config) is not None:
            self._add(trial, result, self._filled(trial.config))

    def _add(self, trial: Trial, result: tuple[tuple[float, ...], float], point: _Array) -> None:
        """A candidate for survival: ``trial``, its result and its whole cube point."""
        self._row_of[trial.trial_id] = self._archive.add(*result)
        self._points.append(point)
        self._trial_ids.append(trial.trial_id)

    def _result(self, trial: Trial) -> tuple[tuple[float, ...], float] | None:
        """A DONE trial's losses and violation; None for any other, or unusable metrics."""
        if trial.status is not Status.DONE:
            return None
        goals = self._objectives
        if goals is None or goals.plain:
            # The value is the loss already (negated by the tuner for mode="max").
            value = trial.value
            if value is None or not math.isfinite(value):
                return None
            return (float(value),), 0.0
        metrics = goals.metrics_of(trial)
        losses, violation = goals.losses(metrics), goals.violation(metrics)
        return None if losses is None or violation is None else (losses, violation)

    def _key(self, config: Config) -> _Key | None:
        """``config``'s key, or None for a config outside the space."""
        assert self._space is not None
        try:
            return _key(self._space.encode(config))
        except SpaceError:
            return None

    def _filled(self, config: Config) -> _Array:
        """The cube point of a config this searcher did not suggest: its encoding, with a
        random coordinate for each inactive parameter."""
        assert self._space is not None
        point = self._space.encode(config)
        missing = np.isnan(point)
        point[missing] = self._rng.random(int(missing.sum()))
        return point


class _SobolDesign:
    """The points of a scrambled Sobol' sequence, one at a time, drawn in blocks of 64,
    64, 128, ... (up to 4096) as `Sobol` draws them, so the points are `Sobol`'s."""

    def __init__(self, dimension: int, seed: int) -> None:
        self._dimension, self._seed = dimension, seed
        self._engine: Any = None  # made on first use: importing scipy.stats is slow
        self._block: _Array = np.empty((0, dimension))
        self._next = 0

    def next(self) -> _Array:
        """The next point of the sequence."""
        if self._next == len(self._block):
            self._block, self._next = self._draw(), 0
        point: _Array = self._block[self._next].copy()
        self._next += 1
        return point

    def _draw(self) -> _Array:
        if self._engine is None:
            self._engine = _qmc().Sobol(self._dimension, scramble=True, **_rng(self._seed))
        # 64, then as many again as drawn so far: the total stays a power of two, as the
        # balance of Sobol' points needs (2**30 points, the most, are never reached here).
        drawn = int(self._engine.num_generated)
        size = min(max(drawn, _SOBOL_FIRST), _SOBOL_LARGEST)
        block: _Array = self._engine.random(size)
        return block


def _default_population(workers: int) -> int:
    """``max(24, 2 * workers)``, rounded up to an even number."""
    size = max(_SMALLEST, 2 * max(int(workers), 1))
    return size + size % 2


def _key(point: _Array) -> _Key:
    """A hashable form of a config's `Space.encode` point: equal configs, equal keys (an
    inactive parameter's NaN becomes None, which equals itself)."""
    return tuple(None if math.isnan(value) else value for value in point.tolist())
