"""`paratune.tracking.MLflowCallback`: real runs mirrored to an MLflow file store, read back
with MLflow's own client: the experiment a parent run, each trial one nested run (also when
promoted, and across a resumed experiment's sessions), statuses as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.trial import Status

pytest.importorskip("mlflow")

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from paratune.tracking import MLFLOW_STATUS, MLflowCallback

SPACE = {"x": pt.Float(0.0, 1.0), "opt": ["adam", "sgd"]}
ASHA = {"type": "asha", "min_budget": 1, "max_budget": 4, "eta": 2}


@pytest.fixture
def uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A local MLflow file store, which MLflow opens only when told to."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return (tmp_path / "mlruns").as_uri()


def curve(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Reports each step up to the budget; fails for large x."""
    assert ctx.budget is not None
    if config["x"] > 0.8:
        raise ValueError("diverged")
    for step in range(ctx.start_step + 1, int(ctx.budget) + 1):
        ctx.report(step, loss=config["x"] + 1 / step)
    return {"loss": config["x"] + 1 / ctx.budget, "note": "not a number"}


def runs(uri: str, experiment: str) -> tuple[Run, dict[int, Run]]:
    """The parent run and the trials' runs by trial id, as MLflow keeps them."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    every = client.search_runs([found.experiment_id])
    parents = [run for run in every if "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 1
    children = {
        int(run.data.tags["paratune.trial_id"]): run for run in every if run not in parents
    }
    assert len(children) == len(every) - 1  # one run per trial, never two
    assert {run.data.tags["mlflow.parentRunId"] for run in children.values()} == {
        parents[0].info.run_id
    }
    return parents[0], children


def test_each_trial_is_one_nested_run_with_its_params_metrics_tags_and_status(uri: str) -> None:
    callback = MLflowCallback(uri, experiment_name="hpo")
    result = pt.tune(
        curve, SPACE, metric="loss", scheduler=ASHA, executor="serial", max_trials=8,
        seed=3, store=None, name="asha", callbacks=[callback],
    )  # fmt: skip
    parent, children = runs(uri, "hpo")
    assert sorted(children) == [t.trial_id for t in result.trial_list]
    assert parent.info.run_id == callback.parent_run_id and parent.info.run_name == "asha"
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["paratune.stop_reason"] == "max_trials"
    assert parent.data.metrics["best_loss"] == pytest.approx(result.best_value)
    assert result.best_trial is not None
    assert parent.data.tags["paratune.best_trial_id"] == str(result.best_trial.trial_id)
    assert parent.data.params["scheduler"] == repr(ASHA) and parent.data.params["seed"] == "3"
    client = MlflowClient(uri)
    for trial in result.trial_list:
        run = children[trial.trial_id]
        assert run.info.status == MLFLOW_STATUS[trial.status]
        assert run.data.params == {"x": repr(trial.config["x"]), "opt": trial.config["opt"]}
        tags = run.data.tags
        assert tags["paratune.status"] == trial.status.value
        assert tags["paratune.seed"] == str(trial.seed)
        assert tags["paratune.attempts"] == "1" and tags["paratune.experiment"] == "asha"
        if trial.status is Status.FAILED:
            assert "diverged" in tags["paratune.error"] and run.data.metrics == {}
            continue
        assert tags["paratune.budget"] == repr(trial.budget)
        assert run.data.metrics == {"loss": pytest.approx(trial.value)}  # "note" is no number
        history = client.get_metric_history(run.info.run_id, "loss")
        steps = [metric.step for metric in history]
        assert steps[-1] == trial.budget and set(steps) == set(range(1, int(trial.budget) + 1))
    promoted = [t for t in result.trial_list if t.budget == 4]
    assert promoted and any(t.status is Status.FAILED for t in result.trial_list)


def test_a_pruned_trial_is_killed_and_says_it_was_pruned(uri: str) -> None:
    stopping = {**ASHA, "stopping": True}
    result = pt.tune(
        curve, SPACE, metric="loss", scheduler=stopping, executor="serial", max_trials=8,
        store=None, name="stopping", callbacks=[MLflowCallback(uri)],
    )  # fmt: skip
    _, children = runs(uri, "stopping")
    pruned = [t for t in result.trial_list if t.status is Status.PRUNED]
    assert pruned
    for trial in pruned:
        run = children[trial.trial_id]
        assert run.info.status == "KILLED" and run.data.tags["paratune.status"] == "pruned"
        assert run.data.metrics["loss"] == pytest.approx(trial.value)


def stops_at_trial_two(config: dict[str, Any], ctx: pt.Context) -> float:
    """The user's Ctrl-C while trial 2 runs, the first time."""
    if ctx.trial_id == 2 and not STOPPED:
        STOPPED.append(True)
        raise KeyboardInterrupt
    ctx.report(1, value=config["x"])
    return float(config["x"])


STOPPED: list[bool] = []


def test_a_resumed_experiment_goes_on_with_its_parent_run_and_its_trials_runs(
    uri: str, tmp_path: Path
) -> None:
    STOPPED.clear()
    store = tmp_path / "runs.db"
    options: dict[str, Any] = {"executor": "serial", "store": store, "name": "resumed"}
    first = pt.tune(
        stops_at_trial_two, SPACE, max_trials=4, callbacks=[MLflowCallback(uri)], **options
    )
    assert first.stop_reason is pt.StopReason.INTERRUPTED
    parent, children = runs(uri, "resumed")
    assert parent.info.status == "KILLED" and sorted(children) == [0, 1, 2]
    assert children[2].info.status == "KILLED"
    assert children[2].data.tags["paratune.status"] == "interrupted"

    again = pt.tune(
        stops_at_trial_two, SPACE, max_trials=4, resume=True, callbacks=[MLflowCallback(uri)],
        **options,
    )  # fmt: skip
    assert [t.status for t in again.trial_list] == [Status.DONE] * 4
    resumed_parent, resumed = runs(uri, "resumed")
    assert resumed_parent.info.run_id == parent.info.run_id
    assert resumed_parent.info.status == "FINISHED"
    assert {i: r.info.run_id for i, r in resumed.items() if i < 3} == {
        i: r.info.run_id for i, r in children.items()
    }
    assert (
        resumed[2].info.status == "FINISHED" and resumed[2].data.tags["paratune.status"] == "done"
    )
    assert resumed[2].data.metrics["value"] == pytest.approx(again.trial_list[2].value)


def test_without_mlflow_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'paratune\[mlflow\]'"):
        MLflowCallback()


def test_paratune_imports_no_tracking_library() -> None:
    code = (
        "import sys, paratune, paratune.tracking, paratune.callbacks\n"
        "print(sorted(m for m in ('mlflow', 'tensorboard') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
