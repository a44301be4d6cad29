"""`paratune.tracking.TensorBoardCallback`: real runs written for TensorBoard, read back with
TensorBoard's own loaders: the hparams plugin's experiment and sessions (what its HPARAMS
tab shows) and each trial's scalars."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.trial import Status

pytest.importorskip("tensorboard")

from paratune.tracking import TensorBoardCallback
from paratune.tracking._tensorboard import EVENT_FILE

ASHA = {"type": "asha", "min_budget": 1, "max_budget": 4, "eta": 2}
SPACE = {
    "x": pt.Float(0.0, 1.0),
    "depth": pt.Int(1, 4),
    "opt": ["adam", "sgd"],
    "mixed": [1, "a", None],
    "flag": [True, False],
    "const": 3,
}


def _tb(module: str) -> Any:
    return importlib.import_module(f"tensorboard.{module}")


def hparams_tab(logdir: Path) -> tuple[Any, dict[str, Any]]:
    """What the HPARAMS tab gets from the hparams plugin: the experiment, and each
    session group (one per trial) by name."""
    api = _tb("plugins.hparams.api_pb2")
    multiplexer = _tb("backend.event_processing.plugin_event_multiplexer").EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = _tb("backend.event_processing.data_provider").MultiplexerDataProvider(
        multiplexer, str(logdir)
    )
    context = _tb("plugins.base_plugin").TBContext(
        data_provider=provider, multiplexer=multiplexer, logdir=str(logdir)
    )
    backend = _tb("plugins.hparams.backend_context").Context(context)
    request = _tb("context").RequestContext()
    experiment = (
        _tb("plugins.hparams.get_experiment")
        .Handler(request, backend, "", api.GetExperimentRequest())
        .run()
    )
    every = [api.STATUS_UNKNOWN, api.STATUS_SUCCESS, api.STATUS_FAILURE, api.STATUS_RUNNING]
    listed = api.ListSessionGroupsRequest(start_index=0, slice_size=1000, allowed_statuses=every)
    groups = _tb("plugins.hparams.list_session_groups").Handler(request, backend, "", listed).run()
    return experiment, {group.name: group for group in groups.session_groups}


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    """A run folder's scalars of ``tag``, as (step, value)."""
    accumulator = _tb("backend.event_processing.event_accumulator").EventAccumulator(str(folder))
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


def curve(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Reports each step up to the budget, going on from a checkpoint; fails for large x."""
    assert ctx.budget is not None
    if config["x"] > 0.8:
        raise ValueError("diverged")
    for step in range(ctx.start_step + 1, int(ctx.budget) + 1):
        ctx.report(step, loss=config["x"] + 1 / step, lr=0.1)
        ctx.save_checkpoint(step)
    return {"loss": config["x"] + 1 / ctx.budget, "note": "not a number"}


def value(hparam: Any) -> Any:
    return getattr(hparam, hparam.WhichOneof("kind"))


def test_the_hparams_tab_shows_every_trial_and_the_scalars_each_report(tmp_path: Path) -> None:
    logdir = tmp_path / "tb"
    result = pt.tune(
        curve, SPACE, metric="loss", scheduler=ASHA, executor="serial", max_trials=8,
        seed=3, store=None, callbacks=[TensorBoardCallback(logdir)],
    )  # fmt: skip
    experiment, groups = hparams_tab(logdir)
    infos = {info.name: info for info in experiment.hparam_infos}
    assert set(infos) == set(SPACE)
    assert (infos["x"].domain_interval.min_value, infos["x"].domain_interval.max_value) == (0, 1)
    assert [value(v) for v in infos["opt"].domain_discrete.values] == ["adam", "sgd"]
    assert [value(v) for v in infos["mixed"].domain_discrete.values] == ["1", "None", "a"]
    assert [m.name.tag for m in experiment.metric_infos] == ["loss"]
    assert sorted(groups) == [f"trial-{t.trial_id:05d}" for t in result.trial_list]
    api = _tb("plugins.hparams.api_pb2")
    for trial in result.trial_list:
        group = groups[TensorBoardCallback.folder_name(trial.trial_id)]
        shown = {name: value(v) for name, v in group.hparams.items()}
        assert shown == {
            "x": pytest.approx(trial.config["x"]),
            "depth": trial.config["depth"],
            "opt": trial.config["opt"],
            "mixed": str(trial.config["mixed"]),  # strings, as all must be of one type
            "flag": trial.config["flag"],
            "const": 3,
        }
        (session,) = group.sessions
        if trial.status is Status.FAILED:
            assert session.status == api.STATUS_FAILURE and not group.metric_values
            continue
        assert session.status == api.STATUS_SUCCESS and trial.budget is not None
        (metric,) = group.metric_values
        assert metric.value == pytest.approx(trial.value, rel=1e-6)  # kept as float32
        assert metric.training_step == trial.budget
        folder = logdir / group.name
        steps = [step for step, _ in scalars(folder, "loss")]
        assert steps == list(range(1, int(trial.budget) + 1))  # no step twice: the result is
        assert [step for step, _ in scalars(folder, "lr")] == steps  # the last report
        assert [path.name for path in folder.iterdir()] == [EVENT_FILE]
    assert any(t.budget == 4 for t in result.trial_list)  # promoted, in the same folder
    assert any(t.status is Status.FAILED for t in result.trial_list)


def stops_at_trial_two(config: dict[str, Any], ctx: pt.Context) -> float:
    """The user's Ctrl-C while trial 2 runs, the first time."""
    if ctx.trial_id == 2 and not STOPPED:
        STOPPED.append(True)
        raise KeyboardInterrupt
    ctx.report(1, value=config["x"])
    return float(config["x"])


STOPPED: list[bool] = []


def test_a_resumed_experiment_writes_on_in_the_same_folders(tmp_path: Path) -> None:
    STOPPED.clear()
    logdir, store = tmp_path / "tb", tmp_path / "runs.db"
    options: dict[str, Any] = {"executor": "serial", "store": store, "name": "resumed"}
    space = {"x": pt.Float(0.0, 1.0)}
    pt.tune(
        stops_at_trial_two, space, max_trials=4, callbacks=[TensorBoardCallback(logdir)], **options
    )
    _, groups = hparams_tab(logdir)
    api = _tb("plugins.hparams.api_pb2")
    assert groups["trial-00002"].sessions[0].status == api.STATUS_UNKNOWN  # no end written

    again = pt.tune(
        stops_at_trial_two, space, max_trials=4, resume=True,
        callbacks=[TensorBoardCallback(logdir)], **options,
    )  # fmt: skip
    _, groups = hparams_tab(logdir)
    assert sorted(groups) == [f"trial-0000{i}" for i in range(4)]
    resumed = groups["trial-00002"]
    assert resumed.sessions[0].status == api.STATUS_SUCCESS
    assert resumed.metric_values[0].value == pytest.approx(again.trial_list[2].value, rel=1e-6)
    assert sorted(path.name for path in logdir.iterdir()) == [EVENT_FILE, *sorted(groups)]


def test_without_tensorboard_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard.plugins.hparams.summary_v2", None)
    with pytest.raises(ImportError, match=r"pip install 'paratune\[tensorboard\]'"):
        TensorBoardCallback("tb")
