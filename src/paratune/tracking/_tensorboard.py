"""`TensorBoardCallback`: a run written for TensorBoard's HPARAMS and SCALARS tabs, with the
``tensorboard`` package alone."""

from __future__ import annotations

import importlib
import math
import numbers
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..callbacks import Callback
from ..trial import Report, Status, Trial
from ._common import final_metrics, imported, numbers_of, unlogged

if TYPE_CHECKING:
    from ..store import Experiment

TENSORBOARD_STATUS = {
    Status.DONE: "STATUS_SUCCESS",
    Status.PRUNED: "STATUS_SUCCESS",
    Status.FAILED: "STATUS_FAILURE",
}
"""The hparams plugin's session status for each trial status that ends a trial for good. It
has none for a trial stopped before its end: a pruned one has a value at the budget it
reached (a success); for one cancelled or interrupted no end is written (TensorBoard shows
it as unknown), so that the end of its run on resume is the one TensorBoard reads."""

EVENT_FILE = "events.out.tfevents.paratune"
"""The one event file of each folder: written by appending, a trial's jobs and the
sessions of a resumed experiment in order (several files in one folder are read in the
order of their names, which is not always the order they were written in)."""


class TensorBoardCallback(Callback):
    """Writes a run for TensorBoard: its HPARAMS tab lists every trial with its config,
    status and tuned metric, and its SCALARS tab charts each trial's reports by step.

    ``logdir`` gets the experiment's hparams summary (each parameter with its domain, and
    the tuned metric), and a folder per trial, ``trial-00007``, that holds its config
    (the hparams plugin's session start), each report's numbers as scalars at its step,
    its final metrics (at its last step, where a report did not already give them) and its
    end with its status (`TENSORBOARD_STATUS`). A trial continued at a higher budget, or
    run again on resume, writes on in its folder; TensorBoard keeps the first end it reads
    for a trial, so a promoted trial shows its first end's status and time, and its latest
    metrics. Keep one ``logdir`` per experiment; view it with
    ``tensorboard --logdir LOGDIR``.

    Written with the ``tensorboard`` package alone (no TensorFlow, no PyTorch), to one
    event file per folder (`EVENT_FILE`), flushed at each call.

    Args:
        logdir: the folder to write to (made if missing).

    Raises:
        ImportError: TensorBoard is not installed (``pip install 'paratune[tensorboard]'``).
    """

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self._tb = _TensorBoard()
        self.logdir = Path(logdir)
        self._for: str | None = None  # the experiment whose parameters are in _kinds
        self._kinds: dict[str, Callable[[Any], Any]] = {}  # parameter -> its values' form
        self._last: dict[int, dict[str, tuple[int, float]]] = {}  # per tag: (step, value)

    @staticmethod
    def folder_name(trial_id: int) -> str:
        """The run folder of trial ``trial_id`` in the logdir."""
        return f"trial-{trial_id:05d}"

    def on_trial_start(self, experiment: Experiment, trial: Trial) -> None:
        """Write the trial's config, the first time it starts."""
        self._folder(experiment, trial)

    def on_report(self, experiment: Experiment, report: Report) -> None:
        """Write the report's numbers as scalars at its step."""
        folder = self.logdir / self.folder_name(report.trial_id)
        self._scalars(folder, report.trial_id, numbers_of(report.metrics), report.step)

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        """Write the final metrics and the trial's status."""
        folder = self._folder(experiment, trial)
        last = self._last.pop(trial.trial_id, {})
        step, final = unlogged(final_metrics(experiment, trial), last, trial.budget)
        self._scalars(folder, trial.trial_id, final, step)
        status = TENSORBOARD_STATUS.get(trial.status)
        if status is not None:
            self._tb.write(folder, step, self._tb.session_end(status))
        self._last.pop(trial.trial_id, None)

    def _folder(self, experiment: Experiment, trial: Trial) -> Path:
        """The trial's folder, its config written there if it has none yet (and the
        experiment's summary in the logdir, if it has none yet)."""
        if self._for != experiment.name:
            self._for, self._kinds = experiment.name, _hparam_kinds(experiment.space)
            self._last.clear()
            if not (self.logdir / EVENT_FILE).exists():
                self._tb.write(self.logdir, 0, self._tb.experiment(experiment, self._kinds))
        name = self.folder_name(trial.trial_id)
        folder = self.logdir / name
        if not (folder / EVENT_FILE).exists():
            config = {key: self._kinds.get(key, _plain)(v) for key, v in trial.config.items()}
            self._tb.write(folder, 0, self._tb.session_start(config, name))
        return folder

    def _scalars(
        self, folder: Path, trial_id: int, values: Mapping[str, float], step: int
    ) -> None:
        if values:
            self._tb.write(folder, step, self._tb.scalars(values))
            last = self._last.setdefault(trial_id, {})
            for name, value in values.items():
                last[name] = (step, value)


class _TensorBoard:
    """The parts of the ``tensorboard`` package used, imported once: summaries as
    protocol buffers, and its record writer."""

    def __init__(self) -> None:
        load = importlib.import_module
        self.hparams = imported("tensorboard.plugins.hparams.summary_v2", "tensorboard")
        self.api = load("tensorboard.plugins.hparams.api_pb2")
        self.plugin_data = load("tensorboard.plugins.hparams.plugin_data_pb2")
        self.metadata = load("tensorboard.plugins.hparams.metadata")
        self.summary = load("tensorboard.compat.proto.summary_pb2")
        self.event = load("tensorboard.compat.proto.event_pb2")
        self.records = load("tensorboard.summary.writer.record_writer")

    def write(self, folder: Path, step: int, summary: Any) -> None:
        """Append ``summary`` at ``step`` to the folder's event file (made, and started
        as event files start, if missing)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / EVENT_FILE
        new = not path.exists()
        with path.open("ab") as file:
            records = self.records.RecordWriter(file)
            now = time.time()
            if new:
                start = self.event.Event(wall_time=now, file_version="brain.Event:2")
                records.write(start.SerializeToString())
            event = self.event.Event(wall_time=now, step=step, summary=summary)
            records.write(event.SerializeToString())

    def scalars(self, values: Mapping[str, float]) -> Any:
        value = self.summary.Summary.Value
        return self.summary.Summary(
            value=[value(tag=k, simple_value=v) for k, v in values.items()]
        )

    def experiment(self, experiment: Experiment, kinds: Mapping[str, Any]) -> Any:
        """The hparams plugin's experiment: every parameter (with its domain, where
        TensorBoard has one for it) and the tuned metric."""
        hp = self.hparams
        params = [
            hp.HParam(name, _domain(hp, spec, kinds[name]))
            for name, spec in experiment.space.items()
        ]
        metric = hp.Metric(
            experiment.metric, display_name=f"{experiment.metric} ({experiment.mode})"
        )
        return hp.hparams_config_pb(params, [metric], time_created_secs=time.time())

    def session_start(self, config: Mapping[str, Any], name: str) -> Any:
        return self.hparams.hparams_pb(dict(config), trial_id=name, start_time_secs=time.time())

    def session_end(self, status: str) -> Any:
        end = self.plugin_data.SessionEndInfo(
            status=self.api.Status.Value(status), end_time_secs=time.time()
        )
        data = self.plugin_data.HParamsPluginData(session_end_info=end)
        summary = self.summary.Summary()
        summary.value.add(
            tag=self.metadata.SESSION_END_INFO_TAG,
            metadata=self.metadata.create_summary_metadata(data),
            tensor=self.metadata.NULL_TENSOR,
        )
        return summary


def _plain(value: Any) -> Any:
    """A value as TensorBoard takes it: a bool, a number or a string (others shown)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Real):
        return float(value) if not isinstance(value, int) else int(value)
    return repr(value)


def _hparam_kinds(space: Mapping[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """For each parameter, the one form all its values take in TensorBoard (a domain's
    values must share a type): bool, float or str."""
    kinds: dict[str, Callable[[Any], Any]] = {}
    for name, spec in space.items():
        if isinstance(spec, Mapping) and spec.get("type") in ("float", "int"):
            kinds[name] = float
            continue
        values = spec.get("values", []) if isinstance(spec, Mapping) else [spec]
        forms = {type(_plain(value)) for value in values}
        if forms <= {bool}:
            kinds[name] = bool
        elif forms <= {int, float}:
            kinds[name] = float
        else:
            kinds[name] = lambda value: value if isinstance(value, str) else repr(value)
    return kinds


def _domain(hp: ModuleType, spec: Any, kind: Callable[[Any], Any]) -> Any:
    """A parameter's TensorBoard domain: an interval, or the choice's values."""
    if isinstance(spec, Mapping) and spec.get("type") in ("float", "int"):
        low, high = float(spec["low"]), float(spec["high"])
        return hp.RealInterval(low, high) if math.isfinite(low + high) else None
    values = spec.get("values", []) if isinstance(spec, Mapping) else [spec]
    shown = sorted({kind(value) for value in values})
    return hp.Discrete(shown) if shown else None
