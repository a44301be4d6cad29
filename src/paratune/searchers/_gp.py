"""Bayesian optimisation with a Gaussian-process (Kriging) surrogate.

`GP` starts with a space-filling design, then fits a Gaussian process (`_gpmodel`: NumPy and
SciPy, hyperparameters by maximum a posteriori) to the results and suggests the point that
maximises an acquisition function (log expected improvement by default). Trials still running
are in the model at believed values (Kriging believer), so idle workers get distinct points at
once instead of waiting for results.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numpy.typing import NDArray

from .._checks import is_whole
from ..errors import SpecError
from ..objectives import Objectives
from ..space import Float, Space
from ..trial import Config, Status, Trial
from ._gpdata import Observations, kept_rows, refit_every
from ._gpmodel import Posterior, default_theta, fit_theta, warp_outputs
from ._gpobjectives import Goals
from ._gpscore import INACTIVE, Acquisition, Layout, one_blas_thread, polish
from ._qmc import _qmc, _rng

_Array = NDArray[np.float64]
_Key = tuple[float, ...]

_DESIGNS = ("lhs", "sobol")
_ACQUISITIONS = ("ei", "lcb")
_FIDELITIES = ("latest", "highest")
_LOCAL_SHARE = 4  # one candidate in 4 is drawn near a good point, the rest uniformly
_LOCAL_CENTRES = 5  # the best observations that local candidates surround
_LOCAL_SCALES = np.array([0.01, 0.05, 0.2])  # standard deviations, in unit-cube widths
_POLISHED = 10  # candidates that start a local search (L-BFGS-B); the best observation too
_HYPER_SAMPLE = 200  # hyperparameters are fitted on at most this many observations


class GP:
    """Bayesian optimisation with a Gaussian-process surrogate (Kriging).

    1. **Design.** The first ``init_size`` suggestions are a Latin hypercube or a scrambled
       Sobol' design, handed out at once so that every worker starts straight away.
       Duplicates, possible when the space has few distinct configs, are dropped.
    2. **Model.** Then a Gaussian process with kernel ``scale * Matern 5/2 (one length scale
       per column) + noise`` is fitted to the finished trials, their values standardised and
       then warped towards a normal distribution by a Yeo-Johnson power transform, which
       keeps their order (`_gpmodel.warp_outputs`): a few very bad results no longer flatten
       the differences among the good ones (values whose tail is of good results stay as
       they are). On B8's seeds it took the median best of Rosenbrock-10 after 200 trials
       from 12.7 to 8.8 (1 worker) and from 15.5 to 10.6 (8 workers). Its hyperparameters
       are the maximum a posteriori under weak priors (on each inverse squared length scale,
       the signal variance and the noise), length scales at most 2 unit-cube widths: plain
       maximum likelihood, with few points in 6 or 10 dimensions, drifts to degenerate
       length scales, and a very long one drops a dimension that may matter elsewhere. A
       Float or Int parameter is its unit-cube coordinate (`Space.encode`: log ranges are in
       log space; integers are treated as continuous and rounded when decoded); a Choice of
       k values is k 0/1 columns (one-hot).
    3. **Acquisition.** The logarithm of expected improvement, which keeps ranks and
       gradients where expected improvement itself underflows. ``candidates`` points (three
       quarters uniform in the unit cube, one quarter Gaussian perturbations of the five
       best observations) are scored at once; eleven local searches (L-BFGS-B with the exact
       gradient, in coordinates scaled by the length scales) start from the best candidate,
       from nine others drawn with probability proportional to their expected improvement,
       and from the best observation. Each search is its own L-BFGS-B, so each climbs its own
       hill to its top, and the model scores the points they all ask for in one call per
       step (`_lbfgsb.minimize_each`). They move the Float and Int coordinates and hold the
       Choice values fixed, so a Choice is decided by which candidates carry it. The best
       point is decoded (`Space.decode`; a one-hot block by its argmax) and suggested. A
       discrete space whose whole grid fits in ``candidates`` points is searched
       exhaustively instead, and once every config was suggested `suggest` returns None.
    4. **Pending trials.** A config suggested but not yet observed (matched by its
       `Space.encode` vector) is in the model at the value the model predicts there, but no
       better than the best value observed so far (a Kriging believer floored at the best).
       Its uncertainty vanishes, so the next suggestions of a batch go elsewhere, and the
       floor stops a believed value from pulling the model towards it. On Hartmann-6 with 8
       workers (B8's seeds) it did better than the optimistic constant liar (every pending
       config at the best value: more runs stuck in a local optimum after 100 trials) and
       far better than the plain believer; averaging the acquisition over joint draws of
       the pending results did no better there and worse on Rosenbrock-10. Suggestions that
       never became trials must not linger: a trial that matches no suggestion, observed
       for the first time right after the latest one, takes that one's place (so a resumed
       run, which asks for a suggestion before replaying each stored trial, leaves none
       behind), and only the ``workers`` latest pending suggestions count, since the tuner
       never runs more. A trial observed again (ASHA or Hyperband promoted it: the same
       trial at a higher budget) adds its result at that budget (item 8) and leaves every
       pending suggestion where it is: they are other trials, still running.
    5. **Failures.** A FAILED trial is in the model two standard deviations above the worst
       (warped) value observed so far, to steer away from configs that crash. No config
       suggested or observed, failed and cancelled ones included, is suggested again.
    6. **Speed.** The hyperparameters are refitted (L-BFGS-B with the exact gradient, from
       the previous ones and from the default) after every new observation up to 100, then
       every 5 up to 200, then every 20, on at most 200 observations (the 100 best and 100
       of the others drawn at random); in between they are reused as they are. Past
       ``max_observations`` results (300), the model fits the best half of that many and a
       seeded draw of the others, and at most a quarter as many failed and below-fidelity
       configs, the latest: a suggestion's cost grows faster than the square of the results
       fitted. The model's linear algebra runs on one BLAS thread (the workers own the cores).

    7. **Conditional spaces.** `Space.encode` gives NaN for a parameter inactive in a
       config; the GP puts it at `_gpscore.INACTIVE`, half a range below the unit cube (an
       inactive Choice: a one-hot block of zeros), so configs without the parameter are
       alike there and apart from those with it, and nothing is fitted to its value.
       Every point the acquisition scores is canonical: random and local candidates, and
       the ends of the local searches, are decoded to a config (only its active
       parameters), encoded again and imputed, so the acquisition is evaluated where the
       trial will run. A local search holds the coordinates inactive at its start where
       they are; its end is made canonical and scored again.
    8. **Budgets.** Under a multi-fidelity scheduler (`ASHA`, `Hyperband`,
       `SuccessiveHalving`) a config has a result at each rung it completed (a result at a
       budget already observed replaces the earlier one). By default
       (``fidelity="latest"``) the model fits every config at the highest budget it
       reached, a mix of fidelities in which promoted configs count with their longer
       training. With ``fidelity="highest"`` it fits only the highest budget that at least
       ``init_size`` configs have reached (else the lowest budget), as BOHB does; a config
       seen only above it (a stopped trial's last report, a resumed run) counts with its
       result at the lowest budget above, and one seen only below it is in the model as
       a pending one is (item 4), or the model would keep proposing the same spot. On
       B10's multi-fidelity Hartmann-6 (8 workers, the quick horizon, 6 seeds) the median
       regret was 0.77 against 0.58 for ``"latest"`` under ASHA and 1.17 against 0.53
       under Hyperband; on a Branin whose early loss favours another corner, 0.032
       against 0.035 (ASHA, 15 seeds) and 0.010 against 0.019 (Hyperband, 10 seeds).
       Without budgets (`FIFO`) both are the same.
    9. **Several metrics, constraints** (`aim`, ParEGO). The model fits one value per
       result, made again for each suggestion: each metric, as a loss, is scaled to [0, 1]
       by its smallest and largest value among the feasible results; a weight vector is
       drawn uniformly on the simplex (from the searcher's seeded generator), and a
       result's value is the augmented Chebyshev function
       ``max_j(w_j f_j) + 0.05 * sum_j(w_j f_j)``. Each suggestion has its own weights, so
       the suggestions for several idle workers aim at different parts of the Pareto
       front; pending trials are in the model as in item 4, at this scalarisation. An
       infeasible result (one that breaks a constraint) is worth the worst feasible value
       plus its violation divided by the largest one: behind every feasible result and
       ordered by violation, whatever the constraints' units. Before any result is
       feasible the model fits the violation itself, and leads towards feasibility
       (`_gpobjectives.scalarise`). One metric with constraints is the same with weight 1.
       Up to 100 results the hyperparameters are refitted at every suggestion, as the
       values change with the weights.

    Before two trials have finished there is no model: suggestions past the design are the
    candidates farthest from every config suggested so far (maximin).

    GP minimises `Trial.value`, as every searcher does: under ``tune(mode="max")`` the tuner
    hands searchers the metric negated.

    The same seed and the same sequence of `suggest` and `observe` calls give the same
    suggestions.

    Args:
        init_design: ``"lhs"`` (Latin hypercube) or ``"sobol"`` (scrambled Sobol').
        init_size: the size of the initial design; by default
            ``max(10, space.dimension + 1, workers)``: every worker starts at once, and the
            model soon takes over. A design of twice the dimension did worse on
            Hartmann-6 (fewer runs reached the global minimum at 1 and at 8 workers).
        acquisition: ``"ei"`` (expected improvement, maximised as its logarithm) or
            ``"lcb"`` (lower confidence bound, mean minus twice the standard deviation).
        candidates: how many random points each suggestion scores (at least 10).
        fidelity: under a multi-fidelity scheduler, what the model fits (item 8):
            ``"latest"``, every config at the highest budget it reached, or ``"highest"``,
            the results at the highest budget that ``init_size`` configs reached.
        max_observations: the most results the model fits (item 6); None: all of them.

    Attributes:
        suggest_times: the seconds (`time.perf_counter`) each `suggest` call since the
            latest `setup` took, in order, design suggestions included.

    Raises:
        SpecError: an argument is out of range; the message names it.
    """

    def __init__(
        self,
        init_design: str = "lhs",
        init_size: int | None = None,
        acquisition: str = "ei",
        candidates: int = 2000,
        fidelity: str = "latest",
        max_observations: int | None = 300,
    ) -> None:
        if init_design not in _DESIGNS:
            raise SpecError(f"init_design must be 'lhs' or 'sobol', got {init_design!r}")
        if init_size is not None and not is_whole(init_size, 1):
            raise SpecError(f"init_size must be a positive integer or None, got {init_size!r}")
        if acquisition not in _ACQUISITIONS:
            raise SpecError(f"acquisition must be 'ei' or 'lcb', got {acquisition!r}")
        if not is_whole(candidates, 10):
            raise SpecError(f"candidates must be an integer of at least 10, got {candidates!r}")
        self.init_design = init_design
        self.init_size = init_size
        self.acquisition = acquisition
        if fidelity not in _FIDELITIES:
            raise SpecError(f"fidelity must be 'latest' or 'highest', got {fidelity!r}")
        if max_observations is not None and not is_whole(max_observations, 10):
            raise SpecError(
                f"max_observations must be an integer of at least 10 or None, "
                f"got {max_observations!r}"
            )
        self.candidates = candidates
        self.fidelity = fidelity
        self.max_observations = max_observations
        self.suggest_times: list[float] = []
        self._space: Space | None = None
        self._goals = Goals()  # what the model fits: `aim` may change it

    def aim(self, objectives: Objectives) -> None:
        """Fit what the run tunes (the class docstring, item 9): with one metric and no
        constraint, each trial's value, as without `aim`; else a random scalarisation of
        every result's metrics for each suggestion, infeasible results behind the
        feasible ones. Kept across `setup`."""
        self._goals = Goals(objectives)

    # ---- the searcher protocol ----------------------------------------------------------

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over on ``space``, forgetting every earlier suggestion and observation."""
        self._space = space
        self._workers = max(int(workers), 1)
        self._rng = np.random.default_rng([seed, 1])  # a stream apart from the design's
        self._gp_seed = seed % 2**32  # seeds the subsample of the hyperparameter fit
        self._layout = Layout(space)
        self.suggest_times = []
        self._known: set[_Key] = set()  # every config suggested or observed
        self._suggested: list[_Array] = []  # their unit-cube points, for maximin
        self._pending: dict[_Key, _Array] = {}  # suggested, not observed; in order
        self._latest: _Key | None = None  # the latest suggestion, until the next observation
        self._observed: set[int] = set()  # the ids of the trials observed
        self._observations = Observations(self._goals.outcome)
        self._stale = False  # observed since the training set was built
        self._fidelity: float | None = None  # the budget of the results fitted
        self._done_u: list[_Array] = []  # the results fitted: points and values
        self._done_y: list[float] = []
        self._outcomes: list[tuple[float, ...]] = []  # their results (`Goals.outcome`)
        self._below: list[_Array] = []  # configs with results only below the fidelity
        self._failed_u = self._observations.failed
        self._theta: _Array | None = None  # the latest fitted hyperparameters
        self._fitted_at = 0  # observations at the latest hyperparameter fit
        self._fitted_on: float | None = None  # ... and their fidelity
        self._exhausted = False
        self._design: list[Config] = []
        self._pool: _Array | None = None
        self._pool_keys: list[_Key] = []
        size = self.init_size or max(10, space.dimension + 1, self._workers)
        # Results at a budget for the model to fit that budget (None: the latest of each).
        self._enough = size if self.fidelity == "highest" else None
        if space.dimension == 0:
            return
        self._design = self._draw_design(space, seed, size)
        self._pool, self._pool_keys = self._grid_pool(space)

    def suggest(self) -> Config | None:
        """Return the next design point, then the acquisition's best point.

        None when every config of a discrete space was suggested, or, for a space with only
        constants, after its one config.
        """
        if self._space is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        start = time.perf_counter()
        try:
            self._refresh()
            return self._suggest(self._space)
        finally:
            self.suggest_times.append(time.perf_counter() - start)

    def observe(self, trial: Trial) -> None:
        """Learn from a trial that ended: DONE (and PRUNED) trials are fitted, FAILED ones
        avoided. A trial seen again (promoted to a higher budget) adds its result there
        (what the model fits: the class docstring, item 8)."""
        space = self._space
        if space is None:
            raise RuntimeError(f"{self!r}: call setup() before observe()")
        if space.dimension == 0 or trial.status is Status.RUNNING:
            return
        u = self._layout.encode(trial.config)
        key = _key(u)
        if trial.trial_id in self._observed:
            pass  # a later result of a promoted trial: no suggestion of ours is involved
        elif self._pending.pop(key, None) is None and self._latest in self._pending:
            # Not one of ours, observed right after our latest suggestion: the tuner ran a
            # stored trial in its place (a resumed run replays each trial after a suggest).
            del self._pending[self._latest]
        self._observed.add(trial.trial_id)
        self._latest = None
        self._known.add(key)
        self._observations.add(key, u, trial)
        self._stale = True  # the training set is rebuilt once, at the next suggestion

    def _refresh(self) -> None:
        """Build the training set again if a trial was observed since it was built."""
        if self._stale:
            self._stale = False
            found = self._observations.training_results(self._enough)
            self._fidelity, self._done_u, self._outcomes, self._below = found
            # The values; with several metrics, scalarised anew at each suggestion instead.
            self._done_y = [outcome[0] for outcome in self._outcomes]

    def __repr__(self) -> str:
        return (
            f"GP(init_design={self.init_design!r}, init_size={self.init_size!r}, "
            f"acquisition={self.acquisition!r}, candidates={self.candidates!r}, "
            f"fidelity={self.fidelity!r}, max_observations={self.max_observations!r})"
        )

    # ---- suggesting ---------------------------------------------------------------------

    def _suggest(self, space: Space) -> Config | None:
        if self._exhausted:
            return None
        if space.dimension == 0:
            self._exhausted = True  # every suggestion would be the same config
            return space.decode_many(np.zeros((1, 0)))[0]
        while self._design:
            config = self._design.pop(0)
            u = self._layout.encode(config)
            if _key(u) not in self._known:  # an observation from elsewhere may have taken it
                self._remember(u)
                return config
        if not self._goals.plain:  # a new scalarisation for each suggestion (item 9)
            self._done_y = self._goals.scalars(self._outcomes, self._rng)
        candidates = self._candidates()
        if len(candidates) == 0:
            self._exhausted = True
            return None
        if len(self._done_y) < 2:
            order = self._maximin_order(candidates)
            ranked = candidates[order]
        else:
            with one_blas_thread():
                ranked = self._acquisition_order(candidates)
        for u in ranked:
            config = self._layout.decode(u)
            canonical = self._layout.encode(config)
            if _key(canonical) not in self._known:
                self._remember(canonical)
                return config
        # Every candidate was a known config: only possible in a small discrete space that
        # the grid pool did not enumerate; random draws will find new configs next time.
        return None

    def _remember(self, u: _Array) -> None:
        key = _key(u)
        self._known.add(key)
        self._suggested.append(u)
        self._pending[key] = u
        self._latest = key

    def _draw_design(self, space: Space, seed: int, size: int) -> list[Config]:
        qmc = _qmc()
        if self.init_design == "sobol":
            engine = qmc.Sobol(space.dimension, scramble=True, **_rng(seed))
            # Draw a power of two (Sobol' balance; scipy warns otherwise), keep the first.
            points = engine.random_base2(math.ceil(math.log2(size)))[:size]
        else:
            points = qmc.LatinHypercube(space.dimension, **_rng(seed)).random(size)
        design: list[Config] = []
        seen: set[_Key] = set()
        for config in space.decode_many(points):
            key = _key(self._layout.encode(config))
            if key not in seen:
                seen.add(key)
                design.append(config)
        return design

    def _grid_pool(self, space: Space) -> tuple[_Array | None, list[_Key]]:
        """Every config of a discrete space small enough to score whole, and their keys."""
        if any(isinstance(domain, Float) for domain in space.domains.values()):
            return None, []
        grid = space.grid()
        if grid.size > self.candidates:
            return None, []
        points = np.array([self._layout.encode(config) for config in grid], dtype=np.float64)
        return points, [_key(u) for u in points]

    def _candidates(self) -> _Array:
        """Unit-cube points to score: the unsuggested grid, or random and local draws."""
        if self._pool is not None:
            fresh = [key not in self._known for key in self._pool_keys]
            return np.asarray(self._pool[np.array(fresh, dtype=bool)], dtype=np.float64)
        rng, n, layout = self._rng, self.candidates, self._layout
        local = n // _LOCAL_SHARE if self._done_y else 0
        points = rng.random((n, layout.dimension))
        if local:
            best = np.argsort(self._done_y, kind="stable")[:_LOCAL_CENTRES]
            centres = np.array([self._done_u[i] for i in best])
            around = centres[rng.integers(len(centres), size=local)]
            if layout.conditional:  # a parameter inactive at the centre: anywhere, if active
                around = np.where(around == INACTIVE, points[:local], around)
            scales = _LOCAL_SCALES[rng.integers(len(_LOCAL_SCALES), size=local)]
            noise = rng.normal(size=(local, layout.dimension)) * scales[:, np.newaxis]
            points[:local] = np.clip(around + noise, 0.0, 1.0)
        return layout.canonical(points)

    def _maximin_order(self, candidates: _Array) -> NDArray[np.intp]:
        """Candidates from farthest to nearest to every config suggested or observed."""
        known = self._suggested + self._done_u + self._failed_u
        if not known:
            return np.arange(len(candidates))
        features = self._layout.features(candidates)
        taken = self._layout.features(np.array(known))
        squared = (
            (features**2).sum(axis=1)[:, np.newaxis]
            - 2.0 * features @ taken.T
            + (taken**2).sum(axis=1)[np.newaxis, :]
        )
        return np.argsort(-squared.min(axis=1), kind="stable")

    def _acquisition_order(self, candidates: _Array) -> _Array:
        """Candidates, polished ones first, from best to worst acquisition value."""
        model = self._model()
        layout = self._layout
        scores = model.score(layout.features(candidates))
        order = np.argsort(-scores, kind="stable")
        ranked = candidates[order]
        if self._pool is not None or len(layout.continuous) == 0:
            return ranked  # nothing to polish: every coordinate is a grid cell or a Choice
        starts = self._starts(ranked, scores[order])
        points, values = self._polish(model, starts)
        return np.concatenate([points[np.argsort(-values, kind="stable")], ranked])

    def _starts(self, ranked: _Array, scores: _Array) -> _Array:
        """Where local searches begin: the best candidate, others drawn with probability
        growing with their acquisition value (so that not all climb the same hill), and the
        best observation (the acquisition's peak is often right next to it)."""
        count = min(_POLISHED - 1, len(ranked) - 1)
        weights = np.exp(np.clip(scores[1:] - scores[0], -700.0, 0.0))
        picked: list[int] = [0]
        if count > 0 and weights.sum() > 0:
            nonzero = int(np.count_nonzero(weights))
            size = min(count, nonzero)
            drawn = self._rng.choice(
                len(weights), size=size, replace=False, p=weights / weights.sum()
            )
            picked.extend(int(i) + 1 for i in drawn)
        starts = [ranked[i] for i in picked]
        starts.append(self._done_u[int(np.argmin(self._done_y))])
        return np.array(starts)

    def _polish(self, model: Acquisition, starts: _Array) -> tuple[_Array, _Array]:
        """`_gpscore.polish` on this space's layout."""
        return polish(model, self._layout, starts)

    # ---- the model ----------------------------------------------------------------------

    def _model(self) -> Acquisition:
        """Fit the surrogate: hyperparameters when due, then every row with them fixed."""
        layout = self._layout
        done_y = np.array(self._done_y)
        count = len(done_y)
        limit = count if self.max_observations is None else self.max_observations
        kept = kept_rows(done_y, limit, self._gp_seed)
        done_x, done_y = layout.features(np.array([self._done_u[i] for i in kept])), done_y[kept]
        # Warped by the real values alone: failures and believed values must not move the
        # scale.
        y = warp_outputs(done_y)
        moved = self._fitted_on != self._fidelity  # the model fits another budget now
        due = count - self._fitted_at >= refit_every(count)
        # Several metrics: the values are new at each suggestion (item 9), so they are
        # refitted as often as new results are, while that is at each one.
        due = due or (not self._goals.plain and refit_every(count) == 1)
        if self._theta is None or moved or due:
            self._theta = self._fit_hyperparameters(done_x, y)
            self._fitted_at, self._fitted_on = count, self._fidelity
        theta = self._theta
        rows, values = [done_x], [y]
        failed = self._failed_u[-max(limit // 4, 1) :]
        if failed:
            # Two standard deviations above the worst result: the model expects nothing good
            # near a config that crashed. (At the worst result itself, which the warp pulls in
            # towards the others, Branin runs that fail for x1 > 7.5 kept going back there.)
            rows.append(layout.features(np.array(failed)))
            values.append(np.full(len(failed), y.max() + 2.0))
        below = self._below[-max(limit // 4, 1) :]
        pending = below + list(self._pending.values())[-self._workers :]
        if pending:
            # Kriging believer: each pending config is in the model at what the model
            # predicts there, floored at the best result, so a batch spreads out; so is
            # each config seen only below the budget fitted, so none is proposed again.
            known = Posterior(theta, np.concatenate(rows), np.concatenate(values))
            pending_x = layout.features(np.array(pending))
            believed = np.maximum(known.predict(pending_x)[0], y.min())
            rows.append(pending_x)
            values.append(believed)
        posterior = Posterior(theta, np.concatenate(rows), np.concatenate(values))
        return Acquisition(posterior, float(y.min()), self.acquisition)

    def _fit_hyperparameters(self, x: _Array, y: _Array) -> _Array:
        start = self._theta if self._theta is not None else default_theta(x.shape[1])
        keep = kept_rows(y, _HYPER_SAMPLE, self._gp_seed)  # a flat refit cost
        return fit_theta(x[keep], y[keep], start)


def _key(u: _Array) -> _Key:
    """A hashable form of a config's `Space.encode` vector: equal configs, equal keys."""
    return tuple(u.tolist())
