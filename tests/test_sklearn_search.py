"""TuneSearchCV: the same cross-validation results as scikit-learn's own search on the same
candidates, scikit-learn's estimator checks, several scorers, processes and a store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

import paratune as pt
from paratune.sklearn import TuneSearchCV

X, Y = load_iris(return_X_y=True)
SVM_SPACE = {"C": pt.Float(0.01, 100.0, log=True), "kernel": ["rbf", "linear"]}


def test_cv_results_are_those_of_grid_search_on_the_same_candidates() -> None:
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = TuneSearchCV(SVC(), SVM_SPACE, max_trials=6, cv=cv, seed=3, return_train_score=True)
    ours.fit(X, Y)
    grid = [{name: [value] for name, value in p.items()} for p in ours.cv_results_["params"]]
    theirs = GridSearchCV(SVC(), grid, cv=cv, return_train_score=True).fit(X, Y)
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if key.endswith("_time"):
            assert np.all(np.asarray(ours.cv_results_[key]) >= 0), key
        elif key.startswith("param_") or key == "params":
            assert list(ours.cv_results_[key]) == list(value), key
        else:
            assert np.allclose(ours.cv_results_[key], value), key
    assert ours.best_index_ == theirs.best_index_ and ours.best_score_ == theirs.best_score_
    assert ours.best_params_ == theirs.best_params_ and ours.n_splits_ == 3
    assert ours.score(X, Y) == theirs.score(X, Y)
    assert np.array_equal(ours.predict(X), theirs.predict(X))
    assert len(ours.result_.trial_list) == 6 and ours.refit_time_ >= 0


def test_several_scorers_choose_by_the_one_refit_names() -> None:
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    search = TuneSearchCV(SVC(), SVM_SPACE, scoring=scoring, refit="f1", max_trials=4, cv=3)
    search.fit(X, Y)
    results = search.cv_results_
    assert {"mean_test_acc", "mean_test_f1", "rank_test_acc", "split2_test_f1"} <= set(results)
    assert search.best_index_ == int(np.argmax(results["mean_test_f1"]))
    assert search.best_score_ == results["mean_test_f1"][search.best_index_]
    assert search.score(X, Y) == f1_score(Y, search.predict(X), average="macro")
    with pytest.raises(ValueError, match="refit must name"):
        TuneSearchCV(SVC(), SVM_SPACE, scoring=scoring, max_trials=2, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match="none of the scorers"):
        TuneSearchCV(SVC(), SVM_SPACE, scoring=scoring, refit="auc", max_trials=2).fit(X, Y)


def test_without_refit_no_estimator_is_kept() -> None:
    search = TuneSearchCV(SVC(), SVM_SPACE, refit=False, max_trials=3, cv=2).fit(X, Y)
    assert not hasattr(search, "best_estimator_") and search.best_params_
    with pytest.raises(AttributeError):
        search.predict(X)


def test_processes_run_the_same_candidates_with_the_same_scores(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"max_trials": 6, "cv": 3, "seed": 5, "searcher": "sobol"}
    serial = TuneSearchCV(SVC(), SVM_SPACE, **kwargs).fit(X, Y)
    store = tmp_path / "searches.db"
    parallel = TuneSearchCV(SVC(), SVM_SPACE, workers=2, store=store, name="svm", **kwargs)
    parallel.fit(X, Y)
    assert parallel.result_.workers == 2
    assert serial.cv_results_["params"] == parallel.cv_results_["params"]
    assert np.array_equal(serial.cv_results_["mean_test_score"],
                          parallel.cv_results_["mean_test_score"])  # fmt: skip
    stored = pt.load(store, "svm")
    assert len(stored.trial_list) == 6 and stored.best_value == parallel.best_score_
    more = TuneSearchCV(SVC(), SVM_SPACE, store=store, name="svm", resume=True,
                        **{**kwargs, "max_trials": 8})  # fmt: skip
    more.fit(X, Y)  # the six stored candidates are kept, two more run
    assert more.cv_results_["params"][:6] == serial.cv_results_["params"]
    assert len(more.cv_results_["params"]) == 8
    with pytest.raises(pt.StoreError, match="svm"):
        TuneSearchCV(SVC(), SVM_SPACE, store=store, name="svm", **kwargs).fit(X, Y)


def test_a_candidate_whose_fit_fails_scores_nan_and_ranks_last() -> None:
    space = {"C": pt.Choice([1.0, -1.0])}  # a negative C makes SVC refuse to fit
    search = TuneSearchCV(SVC(), space, searcher="grid", cv=2, max_trials=2).fit(X, Y)
    scores, ranks = search.cv_results_["mean_test_score"], search.cv_results_["rank_test_score"]
    bad = [p["C"] for p in search.cv_results_["params"]].index(-1.0)
    assert np.isnan(scores[bad]) and ranks[bad] == 2 and search.best_params_ == {"C": 1.0}
    failed = search.result_.trial_list[bad]  # its trial failed, saying why
    assert failed.status is pt.Status.FAILED and "fits failed" in (failed.error or "")
    with pytest.raises(ValueError, match=r"(?s)every candidate failed.*fits failed"):
        TuneSearchCV(SVC(), {"C": -1.0}, cv=2, max_trials=2).fit(X, Y)


def sklearns_own_searches() -> list[TuneSearchCV]:
    """The configurations scikit-learn checks its own searches with."""
    ridge, logistic = {"alpha": pt.Float(0.1, 1.0)}, {"C": pt.Float(0.1, 1.0)}
    options: dict[str, Any] = {"cv": 2, "error_score": "raise", "max_trials": 2}
    return [
        TuneSearchCV(Ridge(), ridge, **options),
        TuneSearchCV(LogisticRegression(), logistic, **options),
        TuneSearchCV(
            Pipeline([("pca", PCA()), ("ridge", Ridge())]),
            {"ridge__alpha": pt.Float(0.1, 1.0)},
            **options,
        ),
    ]


def expected_to_fail(search: TuneSearchCV) -> dict[str, str]:
    """What scikit-learn expects its own GridSearchCV and RandomizedSearchCV to fail, where
    it fails here too: a search of a regressor given a 2-D y gives no DataConversionWarning
    (GridSearchCV(Ridge()) gives none either)."""
    if isinstance(search.estimator, LogisticRegression):
        return {}
    return {"check_supervised_y_2d": "DataConversionWarning not caught"}


@pytest.mark.filterwarnings("ignore")  # the checks' own warnings are what they check
@parametrize_with_checks(  # type: ignore[untyped-decorator]  # scikit-learn has no hints
    sklearns_own_searches(), expected_failed_checks=expected_to_fail
)
def test_scikit_learns_estimator_checks(estimator: TuneSearchCV, check: Any) -> None:
    check(estimator)


def test_successive_halving_on_samples_keeps_the_best_for_the_larger_samples() -> None:
    digits, labels = load_digits(return_X_y=True)
    search = TuneSearchCV(
        SVC(), SVM_SPACE, resource="n_samples", min_resources=40, factor=3, max_trials=18,
        cv=3, seed=2,
    )  # fmt: skip
    search.fit(digits / 16.0, labels)
    reached = search.cv_results_["n_resources"]
    largest = min(len(train) for train, _ in StratifiedKFold(3).split(digits, labels))
    rungs = {int(largest / 3**k) for k in range(4)}  # anchored at the largest: 44 ... 1198
    assert set(reached.tolist()) <= rungs and min(rungs) >= 40 and reached.max() > min(rungs)
    assert (reached == min(rungs)).sum() > (reached == reached.max()).sum() > 0  # fewer on
    best = search.best_index_
    at_most = search.cv_results_["mean_test_score"][reached == reached.max()]
    assert reached[best] == reached.max() and search.best_score_ == at_most.max()
    assert search.best_params_ == search.cv_results_["params"][best]
    assert search.best_estimator_.score(digits / 16.0, labels) > 0.9


def test_successive_halving_on_a_parameter_sets_it_and_refits_with_it() -> None:
    space = {"max_depth": pt.Int(1, 8)}
    search = TuneSearchCV(
        RandomForestClassifier(random_state=0), space, resource="n_estimators",
        min_resources=2, max_resources=18, max_trials=9, cv=2, seed=0,
    )  # fmt: skip
    search.fit(X, Y)
    results = search.cv_results_
    assert [p["n_estimators"] for p in results["params"]] == results["n_resources"].tolist()
    assert search.best_estimator_.n_estimators == 18 == search.best_params_["n_estimators"]
    with pytest.raises(ValueError, match="needs max_resources"):
        TuneSearchCV(SVC(), SVM_SPACE, resource="max_iter", max_trials=2, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match="min_resources must be in"):
        TuneSearchCV(SVC(), SVM_SPACE, resource="n_samples", min_resources=500, cv=2).fit(X, Y)
