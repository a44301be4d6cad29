"""The tree-structured Parzen estimator (TPE): model the good and the bad configs apart and
suggest where the good ones are dense and the bad ones are not.

`TPE` keeps every observation as a row of numbers (`_tpelayout`), splits the rows into the
best few and the rest at each suggestion (`_tpesplit`; under ASHA and Hyperband, the rows
that reached one budget: `_tpebudgets`), fits a Parzen estimator to each part (`_parzen`), draws
candidates from the good one and suggests the candidate with the highest ratio of good to
bad density.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from .._checks import is_whole
from ..errors import SpecError
from ..objectives import Objectives
from ..space import Float, Space
from ..trial import Config, Status, Trial
from ._parzen import Mixture, draw, fit, log_pdf, sample
from ._tpebudgets import ResultsByBudget
from ._tpelayout import Key, Layout, active
from ._tpesplit import good_positions, good_weights, score, scores

_Array = NDArray[np.float64]
_Indices = NDArray[np.intp]

_FLAT_WEIGHTS = 25  # Optuna's default_weights: the latest 25 count fully, older ones less
# The bad model's observation kernels at most: a larger pool is subsampled by weight, which
# keeps its density in expectation and the cost of a suggestion flat as observations grow.
_MAX_BAD_KERNELS = 1000
_RANDOM_TRIES = 64  # random draws tried for a config not suggested before
_MAX_GRID = 100_000  # a discrete space of at most this many configs is enumerated at the end
# Draws tried, once _RANDOM_TRIES found nothing new, before a space too large to list is
# taken as seen whole: a rare branch may hold most of its configs.
_MANY_TRIES = 100_000


class TPE:
    """The tree-structured Parzen estimator of Bergstra et al. (2011), as Optuna's
    `TPESampler` runs it, in NumPy.

    1. **Start-up.** Until ``startup`` trials have finished with a value, suggestions are
       drawn uniformly at random (in log space for log ranges), as Optuna's
       ``n_startup_trials=10``. They count finished trials, so with ``w`` workers up to
       ``startup + w - 1`` random configs are handed out.
    2. **Split.** The ``min(ceil(gamma * n), 25)`` best of the ``n`` trials with a value are
       the good ones (Optuna's ``default_gamma``); the others, the failed trials and the
       pending ones are the bad ones.
    3. **Model.** Each part is a Parzen estimator (`_parzen`): a kernel per trial plus a
       wide prior kernel of weight ``prior_weight``. A Float or Int parameter is its
       unit-cube coordinate (log ranges in log space; an Int is continuous and rounded, its
       candidates scored at the value they round to) under a truncated normal kernel; a
       Choice is a categorical kernel that puts weight 1 on the observed value and
       ``prior_weight / kernels`` on every value. The kernels are joint over the parameters
       (``multivariate=True``, Falkner et al. 2018, Optuna's ``multivariate=True``); with
       ``multivariate=False`` each parameter has its own model. A kernel's bandwidth on a
       coordinate is the larger of its distances to its two neighbours there (Optuna 5's
       rule, joint kernels or not: it did better on B8's Branin and Hartmann-6 than the
       ``0.2 * n ** (-1 / (d + 4))`` of the range that Optuna 4 gave joint kernels),
       clipped to at least the range over ``min(100, kernels + 1)`` and at most the range
       (hyperopt's "magic clip"). Old trials weigh less: past the latest 25, weights ramp
       up linearly with age (Optuna's ``default_weights``). With the same trials, the
       models' densities are Optuna's.
    4. **Suggestion.** ``candidates`` points (24, Optuna's ``n_ei_candidates``) are drawn
       from the good model; the one with the highest log ratio of the good density to the
       bad density is suggested (it maximises expected improvement under TPE's model).
    5. **Conditional parameters.** A config holds only its active parameters; each
       parameter is modelled on the trials where it is active. The parameters split into
       groups that are active together in every trial seen (Optuna's ``group=True``); each
       group has its own joint model and its own candidates, and the suggestion, drawn for
       every parameter, is then cut down to its active ones (`Space.active`).
    6. **Pending trials.** A config suggested but not yet observed is a bad trial, newer
       than every observed one in the age weights (Optuna's ``constant_liar=True``), so idle
       workers asking at once get distinct, spread suggestions. Only the ``workers`` latest
       pending configs count, since the tuner never runs more; a first result that matches
       no suggestion, observed right after the latest one, takes that one's place (a
       resumed run replays each stored trial after a suggestion). A trial observed again (a
       promotion to a higher budget under ASHA or Hyperband) leaves every pending config
       alone.
    7. **Failures.** A FAILED trial is a bad trial, never a good one; a CANCELLED one, or
       one PRUNED without a value, is left out of both models. No config suggested or
       observed, failed and cancelled ones included, is suggested again; once a discrete
       space has no config left, `suggest` returns None.
    8. **Budgets.** With ``scheduler="asha"`` or ``"hyperband"``, TPE is BOHB (Falkner
       et al. 2018), asynchronous: the models fit the trials that reached the highest
       budget that at least ``max(2 * startup, d + 2)`` trials with a value reached (``d``
       tunable parameters; BOHB asks for ``d + 1`` and a margin; 20 by default, so the good
       model holds two trials or more), each trial once, at its latest value (the one at
       the highest budget it reached; a promotion's replaces the one below). Until a budget
       above the lowest has that many, they fit every trial with a value. Trials that
       stopped below the budget are left out; failed and pending ones are bad ones at every
       budget. Start-up counts trials with a value at any budget. Without budgets (`FIFO`),
       or with one for all, every trial is at one budget and nothing changes. Choosing the
       budget costs a step per budget, not per trial (`ResultsByBudget`).
    9. **Speed.** Observations are kept in NumPy arrays; a suggestion splits them with
       ``argpartition`` and, past 1,000 bad trials, fits the bad model to 1,000 of them
       drawn by weight (with replacement, the counts as weights, which keeps its density in
       expectation), so its cost stays flat as observations grow: a few milliseconds of CPU
       at 10,000 and at 50,000 observations in 10 dimensions (B13).
    10. **Several metrics, constraints** (`aim`): MOTPE (Ozaki et al. 2020), as Optuna's
       `TPESampler` with several objectives and ``constraints_func``. A trial counts as its
       losses (a "max" metric negated) and its violation; the good ones are the first
       ``min(ceil(gamma * n), 25)`` in Pareto order (`paratune.pareto.pareto_order`): feasible
       trials by front, the last front they reach by crowding distance in two metrics (hypervolume
       contribution did no better on ZDT1), by hypervolume contribution in three or more
       (as Optuna; crowding picked extremes far from the front: below random on DTLZ2),
       and infeasible ones only when too few are feasible, the least violating first
       (`_tpesplit`). Without constraints, a good trial's kernel weighs its hypervolume
       contribution among the good ones over the largest (Optuna's MOTPE weights; a
       dominated one next to nothing),
       not its age: equal weights put as much of the good model on the good trials off the
       front, and on DTLZ2 (three metrics) it did worse than random search. The rest is as
       above: pending and failed trials are bad, old trials weigh less, and under budgets
       the split is of the trials at the budget the models fit; start-up counts trials
       with a result, feasible or not. One metric with a constraint is split the same way;
       one without, as before `aim`.

    The same seed and the same sequence of `suggest` and `observe` calls give the same
    suggestions. TPE minimises `Trial.value`, as every searcher does.

    Args:
        startup: trials with a value before the model takes over (random search until
            then); 10, Optuna's default.
        gamma: the share of the trials with a value that are good (at most 25 are); 0.1,
            Optuna's default.
        candidates: points drawn from the good model per suggestion; 24, Optuna's default
            (and hyperopt's).
        prior_weight: the weight of the prior kernel in each model, next to a trial's 1;
            1.0, Optuna's default.
        multivariate: joint kernels over each group of parameters (True, as Optuna's
            ``multivariate=True``) or a model per parameter (False, Optuna's default).

    Raises:
        SpecError: an argument is out of range; the message names it.
    """

    def __init__(
        self,
        startup: int = 10,
        gamma: float = 0.1,
        candidates: int = 24,
        prior_weight: float = 1.0,
        multivariate: bool = True,
    ) -> None:
        if not is_whole(startup, 0):
            raise SpecError(f"startup must be a non-negative integer, got {startup!r}")
        if not _real_in(gamma, 0.0, 1.0) or gamma == 0.0:
            raise SpecError(f"gamma must be a number in (0, 1], got {gamma!r}")
        if not is_whole(candidates, 1):
            raise SpecError(f"candidates must be a positive integer, got {candidates!r}")
        if not _real_in(prior_weight, 0.0, math.inf) or not 0.0 < prior_weight < math.inf:
            raise SpecError(f"prior_weight must be a positive number, got {prior_weight!r}")
        if not isinstance(multivariate, bool):
            raise SpecError(f"multivariate must be True or False, got {multivariate!r}")
        self.startup = int(startup)
        self.gamma = float(gamma)
        self.candidates = int(candidates)
        self.prior_weight = float(prior_weight)
        self.multivariate = multivariate
        self._space: Space | None = None
        self._objectives: Objectives | None = None  # None: one metric, no constraint

    def aim(self, objectives: Objectives) -> None:
        """Tune ``objectives``: with several metrics or constraints, the good trials are
        the first in Pareto order (the class docstring, item 10); with one metric and no
        constraint, nothing changes. Kept across `setup`."""
        self._objectives = None if objectives.plain else objectives

    # ---- the searcher protocol ----------------------------------------------------------

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over on ``space``, forgetting every earlier suggestion and observation."""
        self._space = space
        self._layout = Layout(space)
        self._workers = max(int(workers), 1)
        self._rng = np.random.default_rng(seed)
        self._conditional = bool(getattr(space, "conditional", ()))
        width = self._layout.width
        self._x = np.empty((64, width))  # one row per observed trial, in order
        # Each row's highest budget and its result there: a value, or a violation and losses.
        goals = self._objectives
        self._results = ResultsByBudget(1 if goals is None else 1 + len(goals.metrics))
        self._n = 0
        # A budget's trials are fitted once this many reached it: BOHB's d + 1 and a margin,
        # and at least two good ones. With one, Hyperband (whose last bracket starts at the
        # top budget) fitted the top rung too soon and did worse than fitting every trial.
        self._enough = max(2 * self.startup, width + 2)
        self._row_of: dict[int, int] = {}  # trial id -> its row
        self._ended: set[int] = set()  # every trial id observed
        self._known: set[Key] = set()  # every config suggested or observed
        self._pending: dict[Key, _Array] = {}  # suggested, not observed; in order
        self._latest: Key | None = None  # the latest suggestion, until the next observation
        self._patterns: set[tuple[bool, ...]] = set()  # which parameters each row has
        self._groups: list[_Indices] | None = None
        self._exhausted = False

    def suggest(self) -> Config | None:
        """Return a random config during start-up, then the best of the candidates.

        None when every config of a discrete space was suggested, or, for a space with only
        constants, after its one config.
        """
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        if self._exhausted:
            return None
        if space.dimension == 0:
            self._exhausted = True  # every suggestion would be the same config
            return space.decode_many(np.zeros((1, 0)))[0]
        config = None
        if self._results.valued >= self.startup:
            config = self._first_new(self._ranked_candidates())
        if config is None:
            config = self._random_new()
        if config is None:
            config = self._grid_new()
        if config is None:
            self._exhausted = True
        return config

    def observe(self, trial: Trial) -> None:
        """Learn from a trial that ended: DONE and PRUNED trials with a value are modelled,
        FAILED ones are bad ones. A trial seen again (promoted to a higher budget) has its
        value replaced by the one at the higher budget (the class docstring, item 8)."""
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before observe()")
        if space.dimension == 0 or trial.status is Status.RUNNING:
            return
        result = score(trial) if self._objectives is None else scores(trial, self._objectives)
        if trial.trial_id in self._ended:
            self._observe_again(trial, result)
            return
        self._ended.add(trial.trial_id)
        key = self._layout.key(trial.config)
        if self._pending.pop(key, None) is None and self._latest in self._pending:
            # Not one of ours, observed right after our latest suggestion: the tuner ran a
            # stored trial in its place (a resumed run replays each trial after a suggest).
            del self._pending[self._latest]
        self._latest = None
        self._known.add(key)
        if not np.isnan(result).any():  # cancelled trials: stopped by the run, not the config
            self._row_of[trial.trial_id] = self._append(self._layout.row(trial.config))
            self._results.add(self._row_of[trial.trial_id], _budget(trial), result)

    def __repr__(self) -> str:
        return (
            f"TPE(startup={self.startup!r}, gamma={self.gamma!r}, "
            f"candidates={self.candidates!r}, prior_weight={self.prior_weight!r}, "
            f"multivariate={self.multivariate!r})"
        )

    # ---- observations -------------------------------------------------------------------

    def _append(self, row: _Array) -> int:
        if self._n == len(self._x):  # full: double, so appends cost O(1) on average
            self._x = np.vstack([self._x, np.empty_like(self._x)])
        index = self._n
        self._x[index] = row
        self._n += 1
        pattern = tuple((~np.isnan(row)).tolist())
        if pattern not in self._patterns:
            self._patterns.add(pattern)
            self._groups = None
        return index

    def _observe_again(self, trial: Trial, result: float | _Array) -> None:
        """A later result of a trial already observed: a promotion's value replaces the
        earlier one (`ResultsByBudget.add`); a promotion that failed or was cancelled leaves
        it as it was."""
        if not np.isfinite(result).all():
            return
        row = self._row_of.get(trial.trial_id)
        if row is None:
            row = self._row_of[trial.trial_id] = self._append(self._layout.row(trial.config))
        self._results.add(row, _budget(trial), result)

    # ---- suggesting ---------------------------------------------------------------------

    def _remember(self, config: Config, key: Key) -> Config:
        self._known.add(key)
        self._pending[key] = self._layout.row(config)
        self._latest = key
        return config

    def _first_new(self, points: _Array) -> Config | None:
        """The config of the first row of ``points`` that was never suggested nor observed."""
        assert self._space is not None
        for point in points:
            config = self._layout.config(self._space, point)
            key = self._layout.key(config)
            if key not in self._known:
                return self._remember(config, key)
        return None

    def _random_new(self) -> Config | None:
        """A uniformly random config never suggested nor observed, if a few draws find one."""
        assert self._space is not None
        space = self._space
        for _ in range(_RANDOM_TRIES):
            config = active(space, space.decode(self._rng.random(space.dimension)))
            key = self._layout.key(config)
            if key not in self._known:
                return self._remember(config, key)
        return None

    def _grid_new(self) -> Config | None:
        """A config never suggested nor observed, found harder than `_random_new` does (a
        uniform draw may rarely reach most configs, as in a rare branch): many more draws
        where the space has a Float, random indices into a discrete space's grid too large
        to list; a random one of those left in a small discrete space. None only when there
        is none left."""
        assert self._space is not None
        space = self._space
        if any(isinstance(domain, Float) for domain in space.domains.values()):
            return self._drawn_new(
                lambda: active(space, space.decode(self._rng.random(space.dimension)))
            )
        grid = space.grid()
        if grid.size > _MAX_GRID:
            return self._drawn_new(lambda: dict(grid[int(self._rng.integers(grid.size))]))
        fresh = [config for config in grid if self._layout.key(config) not in self._known]
        if not fresh:
            return None
        config = dict(fresh[int(self._rng.integers(len(fresh)))])
        return self._remember(config, self._layout.key(config))

    def _drawn_new(self, draw: Callable[[], Config]) -> Config | None:
        """The first of up to `_MANY_TRIES` configs from ``draw`` that is new; None if none
        is (every config of a space seen, as near as draws can tell)."""
        for _ in range(_MANY_TRIES):
            config = draw()
            key = self._layout.key(config)
            if key not in self._known:
                return self._remember(config, key)
        return None

    def _ranked_candidates(self) -> _Array:
        """``candidates`` rows, best first: each group's candidates in order of their log
        density ratio, the r-th row made of each group's r-th best."""
        below, above, below_weights = self._weighed_split()
        pending = list(self._pending.values())[-self._workers :]
        pending_rows = np.array(pending) if pending else np.empty((0, self._layout.width))
        points = np.empty((self.candidates, self._layout.width))
        for columns in self._group_columns():
            good = self._good_model(below, below_weights, columns)
            bad = self._bad_model(above, pending_rows, columns)
            drawn = self._layout.snap(sample(good, self._rng, self.candidates), columns)
            ratio = log_pdf(good, drawn) - log_pdf(bad, drawn)
            points[:, columns] = drawn[np.argsort(-ratio, kind="stable")]
        return points

    def _split(self) -> tuple[_Indices, _Indices]:
        """The rows of the good trials and of the bad ones (failed included), in order, at
        the budget the models fit (all rows, without budgets)."""
        below, above, _ = self._weighed_split()
        return below, above

    def _weighed_split(self) -> tuple[_Indices, _Indices, _Array | None]:
        """`_split`, and the good trials' weights under several metrics or constraints
        (`good_weights`; None: by age, as under one metric)."""
        rows, results = self._results.at(self._results.fidelity(self._enough))
        below = good_positions(results, self.gamma)
        is_bad = np.ones(len(rows), dtype=bool)
        is_bad[below] = False
        goals = self._objectives
        # Under constraints the good model collapsed onto the few feasible trials on the
        # front, and its prior, left a larger share, drew more infeasible candidates.
        weighed = goals is not None and goals.several and not goals.constraints
        weights = good_weights(results[below]) if weighed else None
        return rows[below], rows[is_bad], weights

    def _active_rows(self, rows: _Indices, columns: _Indices) -> _Indices:
        """Those of ``rows`` where the group's parameters are active."""
        if not self._conditional:
            return rows
        # The parameters of a group are active in the same observed rows: one tells.
        return np.asarray(rows[~np.isnan(self._x[rows, columns[0]])], dtype=np.intp)

    def _good_model(self, below: _Indices, weights: _Array | None, columns: _Indices) -> Mixture:
        rows = self._active_rows(below, columns)
        if weights is None:
            weights = _age_weights(len(rows))
        elif len(rows) < len(below):
            weights = weights[np.isin(below, rows)]
        points = self._gather(rows, columns)
        return self._fit(points, weights, columns, len(rows))

    def _gather(self, rows: _Indices, columns: _Indices) -> _Array:
        """The observations' coordinates at ``rows`` and ``columns``."""
        picked = self._x[rows]
        return picked if len(columns) == self._layout.width else picked[:, columns]

    def _bad_model(self, above: _Indices, pending: _Array, columns: _Indices) -> Mixture:
        rows = self._active_rows(above, columns)
        liars = pending[:, columns]
        liars = liars[~np.isnan(liars).any(axis=1)]
        # Ages run over the bad trials and then the pending ones, the newest of all (as in
        # Optuna's constant liar): the pending take their share of the latest 25's full
        # weight, and older bad trials weigh less while many are pending.
        ages = _age_weights(len(rows) + len(liars))
        weights, liar_weights = ages[: len(rows)], ages[len(rows) :]
        observed = len(rows)
        if len(rows) > _MAX_BAD_KERNELS:
            total = weights.sum()
            drawn = draw(self._rng, weights, _MAX_BAD_KERNELS)
            picked, counts = np.unique(drawn, return_counts=True)
            rows, weights = rows[picked], counts * (total / _MAX_BAD_KERNELS)
        points = self._gather(rows, columns)
        if len(liars):
            points = np.vstack([points, liars])
            weights = np.concatenate([weights, liar_weights])
        return self._fit(points, weights, columns, observed + len(liars))

    def _fit(self, points: _Array, weights: _Array, columns: _Indices, observed: int) -> Mixture:
        return fit(
            points,
            weights,
            self._layout.choices[columns],
            observed=observed,
            prior_weight=self.prior_weight,
        )

    def _group_columns(self) -> list[_Indices]:
        """The groups of coordinates modelled together: every coordinate alone when not
        multivariate; else those active in the same trials (one group without conditions)."""
        if self._groups is None:
            width = self._layout.width
            if not self.multivariate:
                self._groups = [np.array([j]) for j in range(width)]
            elif len(self._patterns) == 0:
                self._groups = [np.arange(width)]
            else:
                # A coordinate's signature: in which of the patterns seen it is active.
                signatures = np.array(sorted(self._patterns), dtype=bool).T
                _, first, labels = np.unique(
                    signatures, axis=0, return_index=True, return_inverse=True
                )
                labels = labels.reshape(-1)
                self._groups = [np.flatnonzero(labels == label) for label in np.argsort(first)]
        return self._groups


def _budget(trial: Trial) -> float:
    """The budget of a trial's result: the full budget, inf, for one without (`FIFO`)."""
    return math.inf if trial.budget is None else float(trial.budget)


def _age_weights(count: int) -> _Array:
    """Optuna's ``default_weights``: 1 for the latest 25 of ``count`` trials, a linear ramp
    from ``1 / count`` for the older ones (in the order they were observed)."""
    if count <= _FLAT_WEIGHTS:
        return np.ones(count)
    ramp = np.linspace(1.0 / count, 1.0, num=count - _FLAT_WEIGHTS)  # oldest first
    return np.concatenate([ramp, np.ones(_FLAT_WEIGHTS)])


def _real_in(value: object, low: float, high: float) -> bool:
    """Whether ``value`` is a real number (not a bool) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return low <= float(value) <= high
