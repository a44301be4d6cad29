"""A scikit-learn search estimator: `TuneSearchCV` tunes an estimator's parameters by
cross-validation with paratune's searchers, executors and store, and has the shape of
scikit-learn's own searches (``GridSearchCV``, ``RandomizedSearchCV``).

Each paratune trial is one candidate: its configuration set on a clone of the estimator,
cross-validated on the same splits as every other candidate (``cross_validate``). So the
candidates run in parallel on paratune's workers (processes for more than one worker),
the searcher learns from each candidate's mean test score, and the folds of one candidate
run one after another in its worker.

>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> import paratune as pt
>>> from paratune.sklearn import TuneSearchCV
>>> X, y = load_iris(return_X_y=True)
>>> search = TuneSearchCV(LogisticRegression(max_iter=500), {"C": pt.Float(0.01, 100, log=True)},
...                       max_trials=6, cv=3, seed=1)
>>> search = search.fit(X, y)
>>> sorted(search.best_params_), search.best_score_ > 0.9, len(search.cv_results_["params"])
(['C'], True, 6)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, cross_validate
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import indexable

from ._api import tune
from .context import Context
from .result import TuneResult
from .schedulers import ASHA
from .space import Space
from .store import Store
from .trial import Status

__all__ = ["TuneSearchCV"]

_METRIC = "mean_test_score"  # what the trials are tuned on (mode "max", as scorers are)


@dataclass
class _CrossValidation:
    """The objective: one candidate's cross-validation on the search's splits. A plain
    class, so the process executor ships it (data included) to each worker once."""

    estimator: Any
    X: Any
    y: Any
    splits: list[tuple[NDArray[np.intp], NDArray[np.intp]]]
    scoring: Any
    refit_metric: str
    return_train_score: bool
    error_score: Any
    fit_params: dict[str, Any]
    resource: str | None = None  # "n_samples" or an estimator parameter the budget sets

    def __call__(self, config: dict[str, Any], ctx: Context | None = None) -> dict[str, float]:
        estimator, splits = clone(self.estimator).set_params(**config), self.splits
        if self.resource is not None and ctx is not None and ctx.budget is not None:
            resources = max(1, int(ctx.budget))
            if self.resource == "n_samples":  # the first of each (seeded) training part
                splits = [(train[:resources], test) for train, test in splits]
            else:
                estimator.set_params(**{self.resource: resources})
        found = cross_validate(
            estimator,
            self.X,
            self.y,
            cv=splits,
            scoring=self.scoring,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            params=self.fit_params or None,
        )
        metrics: dict[str, float] = {}
        for key, values in found.items():  # test_<name>, train_<name>, fit_time, score_time
            for split, value in enumerate(np.asarray(values, dtype=float).tolist()):
                metrics[f"split{split}_{key}"] = value
        tuned = np.asarray(found[f"test_{self.refit_metric}"], dtype=float)
        metrics[_METRIC] = float(np.mean(tuned))  # NaN where a fold failed, as sklearn's
        if self.resource is not None and ctx is not None and ctx.budget is not None:
            metrics["n_resources"] = max(1, int(ctx.budget))
        return metrics


class TuneSearchCV(BaseSearchCV):  # type: ignore[misc]  # scikit-learn has no type hints
    """Search an estimator's parameters by cross-validation with paratune.

    After `fit`, the attributes are those of scikit-learn's searches: ``cv_results_``
    (one row per candidate in the order paratune created them), ``best_index_``,
    ``best_score_``, ``best_params_``, ``best_estimator_`` (refitted on all the data when
    ``refit``), ``refit_time_``, ``scorer_``, ``n_splits_``, ``multimetric_``; and
    ``result_``, the run's `TuneResult`. ``predict``, ``predict_proba``, ``score`` and the
    other methods use ``best_estimator_``.

    Args:
        estimator: the scikit-learn estimator to tune (cloned, never changed).
        space: its parameters to search: a `Space` or a dict of parameter name to
            `Float`, `Int`, `Choice`, a list (a choice) or a constant, as `tune` takes.
        scoring: as in ``GridSearchCV``: None (the estimator's ``score``), a scorer name,
            a callable, or a list or dict of them (then ``refit`` names the one tuned).
        cv: as in ``GridSearchCV``: None (5 folds, stratified for a classifier), a number
            of folds, a splitter or an iterable of splits.
        refit: refit the best candidate on all the data (True); with several scorers, the
            name of the one that chooses the best; False to keep no estimator.
        max_trials: how many candidates to try (default 10, as ``n_iter``).
        searcher: paratune's searcher: ``"random"``, ``"sobol"``, ``"lhs"``, ``"grid"``,
            ``"gp"``, ``"tpe"``, ``"cmaes"`` or a searcher object.
        executor: where candidates run (see `tune`); None: ``"processes"`` for more than one
            worker, else ``"serial"``.
        workers: how many candidates run at once (``n_jobs`` in scikit-learn); default 1.
        store: where trials are kept (see `tune`); None (the default) keeps them in memory.
        name: the experiment's name in the store.
        seed: paratune's experiment seed: the same seed tries the same candidates.
        resume: continue the experiment ``name`` stored in ``store``: its ended candidates
            are kept and count toward ``max_trials`` (without it, a stored experiment of
            that name is refused: give each search its own name).
        error_score: the score of a fold whose fit fails (``"raise"`` to raise instead).
        return_train_score: also score each fold's training part.
        verbose: unused; kept for scikit-learn's conventions.
        resource: successive halving (ASHA) on this resource, as ``HalvingRandomSearchCV``:
            ``"n_samples"`` (each fold trains on a seeded sample of its training part) or
            the name of an estimator parameter (``"max_iter"``, ``"n_estimators"``). The
            rungs are ``max_resources / factor**k`` down to ``min_resources``; each
            candidate starts on the lowest and the best ``1/factor`` of each rung go on.
            None (the default): every candidate in full.
        min_resources: the first rung's resource (default: ``max_resources // factor**3``,
            at least 1).
        max_resources: the last rung's (default for ``"n_samples"``: the smallest training
            part; needed for a parameter).
        factor: the halving factor (ASHA's eta).
    """

    def __init__(
        self,
        estimator: Any,
        space: Space | Mapping[str, Any],
        *,
        scoring: Any = None,
        cv: Any = None,
        refit: bool | str | Callable[[dict[str, Any]], int] = True,
        max_trials: int = 10,
        searcher: Any = "random",
        executor: Any = None,
        workers: int = 1,
        store: str | os.PathLike[str] | Store | None = None,
        name: str | None = None,
        seed: int = 0,
        resume: bool = False,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        verbose: int = 0,
        resource: str | None = None,
        min_resources: int | None = None,
        max_resources: int | None = None,
        factor: float = 3,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=None,
            refit=refit,
            cv=cv,
            verbose=verbose,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.space = space
        self.max_trials = max_trials
        self.searcher = searcher
        self.executor = executor
        self.workers = workers
        self.store = store
        self.name = name
        self.seed = seed
        self.resume = resume
        self.resource = resource
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.factor = factor

    def fit(self, X: Any, y: Any = None, **params: Any) -> TuneSearchCV:
        """Run the search on ``X`` and ``y``, then refit the best candidate.

        Args:
            X: the training data.
            y: the targets (None for unsupervised estimators).
            **params: ``groups`` for the splitter; anything else goes to the estimator's
                ``fit`` (a sample-sized array split with the folds).

        Returns:
            This search, fitted.
        """
        X, y = indexable(X, y)
        groups = params.pop("groups", None)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        self.multimetric_ = not (self.scoring is None or callable(self.scoring)
                                 or isinstance(self.scoring, str))  # fmt: skip
        scorers = self._scorers()
        refit_metric = self._refit_metric(scorers)
        scheduler, cut = self._halving(splits)
        objective = _CrossValidation(
            self.estimator, X, y, cut, scorers, refit_metric, self.return_train_score,
            self.error_score, params, self.resource,
        )  # fmt: skip
        self.result_ = tune(
            objective, self.space, metric=_METRIC, mode="max", searcher=self.searcher,
            scheduler=scheduler, executor=self.executor, workers=self.workers,
            max_trials=self.max_trials, seed=self.seed, store=self.store,
            name=self.name or _default_name(self.estimator), resume=self.resume,
        )  # fmt: skip
        failed = [t for t in self.result_.trial_list if t.status is not Status.DONE]
        if failed and isinstance(self.error_score, str) and self.error_score == "raise":
            objective(dict(failed[0].config))  # here, so its error is raised as it is
        if len(failed) == len(self.result_.trial_list):
            raise ValueError(
                f"every candidate failed; the first: {failed[0].error if failed else ''}"
            )
        self.n_splits_ = len(splits)
        self.cv_results_ = _cv_results(self.result_, self.n_splits_, list(scorers), self.resource)
        self.scorer_ = scorers if self.multimetric_ else scorers["score"]
        self._choose_best(refit_metric)
        if self.refit:
            start = time.perf_counter()
            best = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_ = best.fit(X, y, **params)
            self.refit_time_ = time.perf_counter() - start
        return self

    def _halving(self, splits: list[Any]) -> tuple[Any, list[Any]]:
        """The scheduler (FIFO, or ASHA on the resource) and the splits the candidates use:
        for ``"n_samples"``, each training part in a seeded order, so that a larger sample
        holds a smaller one."""
        if self.resource is None:
            return "fifo", splits
        if self.resource == "n_samples":
            rng = np.random.default_rng(self.seed)
            splits = [(rng.permutation(train), test) for train, test in splits]
        most = self.max_resources
        if most is None and self.resource == "n_samples":
            most = min(len(train) for train, _ in splits)
        if most is None:
            raise ValueError(f"resource={self.resource!r} needs max_resources")
        least = self.min_resources or max(1, int(most // self.factor**3))
        if not 1 <= least < most:
            raise ValueError(f"min_resources must be in [1, {most}), got {least}")
        return ASHA(min_budget=least, max_budget=most, eta=self.factor), splits

    def _refit_metric(self, scorers: dict[str, Any]) -> str:
        """The name of the scorer that chooses the best candidate (``"score"`` with one)."""
        if not self.multimetric_:
            return "score"
        if isinstance(self.refit, str):
            if self.refit not in scorers:
                raise ValueError(f"refit={self.refit!r} is none of the scorers {list(scorers)}")
            return self.refit
        if self.refit is True:
            raise ValueError("with several scorers, refit must name the one to choose by")
        return next(iter(scorers))

    def _scorers(self) -> dict[str, Any]:
        """Each scorer by its name (``"score"`` for a single one)."""
        if not self.multimetric_:
            return {"score": check_scoring(self.estimator, self.scoring)}
        named = self.scoring if isinstance(self.scoring, Mapping) else {s: s for s in self.scoring}
        return {str(name): check_scoring(self.estimator, how) for name, how in named.items()}

    def _choose_best(self, refit_metric: str) -> None:
        """best_index_, and with a scorer to choose by, best_score_ and best_params_."""
        results = self.cv_results_
        if callable(self.refit):
            self.best_index_ = int(self.refit(results))
        else:
            mean = "mean_test_score" if not self.multimetric_ else f"mean_test_{refit_metric}"
            scores = np.asarray(results[mean], dtype=float)
            if "n_resources" in results:  # the best of those that reached the last rung
                reached = results["n_resources"]
                scores = np.where(reached == reached.max(), scores, np.nan)
            scores = np.where(np.isnan(scores), -np.inf, scores)
            self.best_index_ = int(np.argmax(scores))  # the first of equals, as the rank
            self.best_score_ = float(results[mean][self.best_index_])
        self.best_params_ = results["params"][self.best_index_]


def _default_name(estimator: Any) -> str:
    return f"search-{type(estimator).__name__}"


def _cv_results(
    result: TuneResult, n_splits: int, scorers: Sequence[str], resource: str | None = None
) -> dict[str, Any]:
    """``cv_results_`` as scikit-learn's searches give it, from the run's trials: one row
    per trial, in id order; a trial that failed scores NaN in every fold. Under successive
    halving, a trial's row is its last rung's, ``n_resources`` says which, and a resource
    that is an estimator parameter is in ``params`` (as the refit uses it)."""
    trials = result.trial_list
    params = [dict(trial.config) for trial in trials]
    found: dict[str, Any] = {}
    if resource is not None:
        reached = [int(t.metrics.get("n_resources", 0)) for t in trials]
        found["n_resources"] = np.array(reached, dtype=np.int64)
        if resource != "n_samples":
            params = [{**p, resource: n} if n else p for p, n in zip(params, reached, strict=True)]
    single = list(scorers) == ["score"]

    def column(key: str) -> NDArray[np.float64]:
        return np.array(
            [[_metric(t.metrics, f"split{s}_{key}", t.status) for s in range(n_splits)]
             for t in trials], dtype=float,
        ).reshape(len(trials), n_splits)  # fmt: skip

    for timing in ("fit_time", "score_time"):
        table = column(timing)
        found[f"mean_{timing}"], found[f"std_{timing}"] = _mean_std(table)
    for name in sorted({key for p in params for key in p}):
        values = [p.get(name) for p in params]
        found[f"param_{name}"] = np.ma.MaskedArray(
            np.array([*values, None], dtype=object)[:-1], mask=[v is None for v in values]
        )
    found["params"] = params
    for name in scorers:
        for part in ("test", "train"):
            table = column(f"{part}_{name}")
            if part == "train" and not any(f"split0_train_{name}" in t.metrics for t in trials):
                continue
            suffix = "score" if single else name
            for split in range(n_splits):
                found[f"split{split}_{part}_{suffix}"] = table[:, split]
            found[f"mean_{part}_{suffix}"], found[f"std_{part}_{suffix}"] = _mean_std(table)
            if part == "test":
                found[f"rank_test_{suffix}"] = _rank(found[f"mean_test_{suffix}"])
    return found


def _metric(metrics: Mapping[str, Any], key: str, status: Status) -> float:
    value = metrics.get(key) if status is Status.DONE else None
    return np.nan if value is None else float(value)


def _mean_std(table: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if table.size == 0:
        return np.zeros(len(table)), np.zeros(len(table))
    return table.mean(axis=1), table.std(axis=1)


def _rank(means: NDArray[np.float64]) -> NDArray[np.int32]:
    """1 for the best mean; NaN ranks last, as in scikit-learn."""
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return np.asarray(rankdata(-filled, method="min"), dtype=np.int32)
