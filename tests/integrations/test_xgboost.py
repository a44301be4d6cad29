"""paratune.xgboost: each boosting round is a report at the booster's round count, a stopped
trial stops boosting, and a promoted trial boosts on from its checkpoint to exactly its
budget, as if it had been trained straight through."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer

xgb = pytest.importorskip("xgboost")

import paratune as pt  # noqa: E402
from paratune.xgboost import ReportCallback, load_booster  # noqa: E402

FEATURES, LABELS = load_breast_cancer(return_X_y=True)
TRAIN = xgb.DMatrix(FEATURES[:400], LABELS[:400])
VALID = xgb.DMatrix(FEATURES[400:], LABELS[400:])
METRIC = "valid-logloss"
SPACE = {"eta": pt.Float(0.05, 0.5, log=True), "max_depth": 2}


def params(config: dict[str, Any]) -> dict[str, Any]:
    return {"objective": "binary:logistic", "nthread": 1, **config}


def straight(config: dict[str, Any], rounds: int) -> list[float]:
    """The validation loss after each round of one uninterrupted training."""
    history: dict[str, Any] = {}
    xgb.train(
        params(config),
        TRAIN,
        rounds,
        evals=[(VALID, "valid")],
        evals_result=history,
        verbose_eval=False,
    )
    return [float(value) for value in history["valid"]["logloss"]]


def make_objective(jobs: list[dict[str, Any]], metrics: Any = METRIC) -> Any:
    """An objective that records, for each job, where it started and what it trained."""

    def objective(config: dict[str, Any], ctx: pt.Context) -> Any:
        assert ctx.budget is not None
        booster = load_booster(ctx)
        history: dict[str, Any] = {}
        trained = xgb.train(
            params(config),
            TRAIN,
            num_boost_round=ctx.budget - ctx.start_step,
            evals=[(VALID, "valid")],
            evals_result=history,
            xgb_model=booster,
            callbacks=[ReportCallback(ctx, metrics)],
            verbose_eval=False,
        )
        jobs.append(
            {
                "trial": ctx.trial_id,
                "start": ctx.start_step,
                "budget": ctx.budget,
                "rounds": trained.num_boosted_rounds(),
                "pruned": ctx.pruned,
                "saved": ctx.checkpoint_step,
            }
        )
        return ctx.last_report[1] if ctx.last_report else None

    return objective


def curves(result: pt.TuneResult) -> dict[int, dict[int, float]]:
    """Each trial's reported validation loss, by step."""
    found: dict[int, dict[int, float]] = {}
    for report in result.report_list:
        found.setdefault(report.trial_id, {})[report.step] = report.metrics[METRIC]
    return found


def test_each_round_is_a_report_of_what_xgboost_evaluates() -> None:
    jobs: list[dict[str, Any]] = []
    result = pt.tune(
        make_objective(jobs, None),
        SPACE,
        metric=METRIC,
        max_trials=2,
        scheduler=pt.schedulers.FIFO("rounds", max_budget=4),
        store=None,
    )
    assert [trial.status for trial in result.trial_list] == [pt.Status.DONE] * 2
    for trial in result.trial_list:
        expected = straight(trial.config, 4)
        assert curves(result)[trial.trial_id] == dict(enumerate(expected, 1))
        assert trial.value == expected[-1]
    assert [(job["rounds"], job["saved"]) for job in jobs] == [(4, 4), (4, 4)]


def test_a_promoted_trial_boosts_on_from_its_checkpoint_to_its_budget() -> None:
    jobs: list[dict[str, Any]] = []
    result = pt.tune(
        make_objective(jobs),
        SPACE,
        metric=METRIC,
        max_trials=4,
        seed=1,
        scheduler=pt.schedulers.ASHA("rounds", min_budget=2, max_budget=8, eta=2),
        executor="serial",
        store=None,
    )
    promoted = [job for job in jobs if job["start"] > 0]
    assert {job["budget"] for job in promoted} == {4, 8}
    for job in jobs:  # each job trains only what its budget lacks, never from round 0 again
        assert job["rounds"] == job["budget"], job
        assert job["start"] in (0, job["budget"] // 2), job
    top = next(job["trial"] for job in promoted if job["budget"] == 8)
    config = next(trial.config for trial in result.trial_list if trial.trial_id == top)
    # Reports at rounds 1 to 8, each what one uninterrupted training of 8 rounds gives.
    assert curves(result)[top] == pytest.approx(dict(enumerate(straight(config, 8), 1)))


def test_a_stopped_trial_stops_boosting_at_the_report_it_was_stopped_at() -> None:
    jobs: list[dict[str, Any]] = []
    space = {"eta": pt.Choice([0.5, 0.001]), "max_depth": 2}  # the second learns nothing
    result = pt.tune(
        make_objective(jobs),
        space,
        metric=METRIC,
        store=None,
        searcher=pt.searchers.Grid(order="given"),
        scheduler=pt.schedulers.ASHA("rounds", 2, 8, 2, stopping=True),
    )
    good, bad = result.trial_list
    assert (good.status, bad.status) == (pt.Status.DONE, pt.Status.PRUNED)
    assert max(curves(result)[bad.trial_id]) == 2 and bad.value == curves(result)[bad.trial_id][2]
    assert jobs[1] == {
        "trial": bad.trial_id,
        "start": 0,
        "budget": 8,
        "rounds": 2,
        "pruned": True,
        "saved": None,
    }


def test_a_metric_the_rounds_lack_fails_the_trial_naming_those_they_have() -> None:
    result = pt.tune(
        make_objective([], "valid-auc"),
        SPACE,
        metric=METRIC,
        max_trials=1,
        scheduler=pt.schedulers.FIFO("rounds", max_budget=2),
        store=None,
    )
    (trial,) = result.trial_list
    assert trial.status == pt.Status.FAILED
    assert "no metric 'valid-auc'" in (trial.error or "") and METRIC in (trial.error or "")
