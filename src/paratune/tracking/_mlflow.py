"""`MLflowCallback`: a run mirrored to MLflow, the experiment a parent run and each trial a
run nested under it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._outcome import StopReason
from ..callbacks import Callback
from ..store._best import best_listed
from ..trial import Report, Status, Trial
from ._common import final_metrics, imported, numbers_of, unlogged

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

    from .._outcome import RunOutcome
    from ..store import Experiment

MLFLOW_STATUS = {
    Status.DONE: "FINISHED",
    Status.FAILED: "FAILED",
    Status.PRUNED: "KILLED",
    Status.CANCELLED: "KILLED",
    Status.INTERRUPTED: "KILLED",
}
"""The MLflow run status of a trial's run for each trial status: a trial stopped before its
end (pruned by the scheduler, cancelled by a stopping rule, interrupted by the user) is
KILLED, and its ``paratune.status`` tag says which."""
_TEXT = 500  # the most characters of a param or tag value sent (what every server takes)
_TAG = "paratune."  # the prefix of paratune's tags


def _text(value: Any) -> str:
    shown = value if isinstance(value, str) else repr(value)
    return shown[:_TEXT]


class MLflowCallback(Callback):
    """Mirrors a run to MLflow: the paratune experiment is a parent run, and each trial a
    run nested under it.

    A trial's run has the config as params; each report's numbers as metrics at its step;
    its final metrics at its last reported step (those no report gave there already); tags
    ``paratune.trial_id``, ``paratune.status``, ``paratune.seed``, ``paratune.budget``,
    ``paratune.attempts``, ``paratune.experiment`` (and ``paratune.error`` for a
    failure); and a status (`MLFLOW_STATUS`): FINISHED for a trial DONE, FAILED for a
    failure, KILLED for one stopped before its end (pruned, cancelled or interrupted:
    ``paratune.status`` says which). A trial continued at a higher budget (a promotion),
    or run again on resume, goes back to RUNNING and updates the same run.

    The parent run, named after the experiment and tagged ``paratune.experiment``, has
    the experiment's settings as params and, at the end, the metric ``best_<metric>`` and
    the tags ``paratune.best_trial_id`` and ``paratune.stop_reason``; it ends FINISHED,
    or KILLED after the user's stop. A resumed experiment finds its parent run by that
    tag, and its trials' runs under it, and goes on with them.

    Calls go through an `mlflow.tracking.MlflowClient` with explicit run ids: the fluent
    API's active run (``mlflow.start_run``) is the user's own, and is neither used nor
    changed.

    Args:
        tracking_uri: where MLflow keeps runs (a server ``http://host:5000``, a database
            ``sqlite:///mlflow.db``, a folder); None: MLflow's default
            (``MLFLOW_TRACKING_URI``, else ``./mlruns``). MLflow refuses a folder unless
            the environment has ``MLFLOW_ALLOW_FILE_STORE=true``.
        experiment_name: the MLflow experiment (made if missing); None: the paratune
            experiment's name.
        tags: more tags for the parent run.

    Raises:
        ImportError: MLflow is not installed (``pip install 'paratune[mlflow]'``).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        tracking = imported("mlflow.tracking", "mlflow")
        self.client: MlflowClient = tracking.MlflowClient(tracking_uri=tracking_uri)
        self.experiment_name = experiment_name
        self.tags = dict(tags or {})
        self._for: str | None = None  # the paratune experiment the runs below belong to
        self._experiment_id = ""
        self.parent_run_id: str | None = None
        """The parent run's id, once the run has told this callback anything."""
        self._runs: dict[int, str] = {}  # trial id -> its run's id
        self._last: dict[int, dict[str, tuple[int, float]]] = {}  # per metric: (step, value)

    # ---- the callback ---------------------------------------------------------------

    def on_trial_start(self, experiment: Experiment, trial: Trial) -> None:
        """Make the trial's run, or set it RUNNING again, with the trial's tags."""
        run_id, made = self._trial_run(experiment, trial)
        if not made:
            self.client.update_run(run_id, status="RUNNING")
        self._log(run_id, tags=self._trial_tags(experiment, trial))

    def on_report(self, experiment: Experiment, report: Report) -> None:
        """Log the report's numbers as metrics at its step."""
        run_id = self._runs.get(report.trial_id)
        if run_id is None:  # its start was never heard (this callback was added later)
            return
        metrics = numbers_of(report.metrics)
        last = self._last.setdefault(report.trial_id, {})
        last |= {name: (report.step, value) for name, value in metrics.items()}
        self._log(run_id, metrics=metrics, step=report.step)

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        """Log the final metrics and tags, and end the trial's run with its status."""
        run_id, _ = self._trial_run(experiment, trial)
        last = self._last.pop(trial.trial_id, {})
        step, final = unlogged(final_metrics(experiment, trial), last, trial.budget)
        tags = self._trial_tags(experiment, trial)
        if trial.error:
            tags[_TAG + "error"] = _text(trial.error)
        self._log(run_id, metrics=final, step=step, tags=tags)
        self.client.set_terminated(run_id, MLFLOW_STATUS[trial.status])

    def on_run_end(self, experiment: Experiment, outcome: RunOutcome) -> None:
        """Log the best value and why the run stopped, and end the parent run."""
        parent = self._parent(experiment)
        tags = {_TAG + "stop_reason": str(outcome.stop_reason)}
        metrics = {}
        best = best_listed(outcome.trials, experiment.mode)
        if best is not None and best.value is not None:
            metrics[f"best_{experiment.metric}"] = float(best.value)
            tags[_TAG + "best_trial_id"] = str(best.trial_id)
        self._log(parent, metrics=metrics, tags=tags)
        interrupted = outcome.stop_reason is StopReason.INTERRUPTED
        self.client.set_terminated(parent, "KILLED" if interrupted else "FINISHED")

    # ---- runs -----------------------------------------------------------------------

    def _parent(self, experiment: Experiment) -> str:
        """The experiment's parent run: this callback's, the one a resumed experiment
        made before (found by its tag, and set RUNNING again), or a new one."""
        if self._for == experiment.name and self.parent_run_id is not None:
            return self.parent_run_id
        self._for, self._runs, self._last = experiment.name, {}, {}
        self._experiment_id = self._mlflow_experiment(experiment)
        found = self._find_parent(experiment.name)
        if found is None:
            run = self.client.create_run(
                self._experiment_id,
                run_name=experiment.name,
                tags={
                    **self.tags,
                    _TAG + "kind": "experiment",
                    _TAG + "experiment": experiment.name,
                },
            )
            parent: str = run.info.run_id
            settings: dict[str, Any] = {"metric": experiment.metric, "mode": experiment.mode}
            settings |= {"seed": experiment.seed, **experiment.settings}
            self._log(parent, params=settings)
        else:
            parent = str(found.info.run_id)
            if found.info.status != "RUNNING":
                self.client.update_run(parent, status="RUNNING")
            for child in self._search(f"tags.mlflow.parentRunId = '{parent}'"):
                trial_id = child.data.tags.get(_TAG + "trial_id", "")
                if trial_id.isdigit():
                    self._runs[int(trial_id)] = child.info.run_id
        self.parent_run_id = parent
        return parent

    def _mlflow_experiment(self, experiment: Experiment) -> str:
        """The id of the MLflow experiment the runs go to, made if missing."""
        name = self.experiment_name or experiment.name
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        return self.client.create_experiment(name)

    def _find_parent(self, name: str) -> Run | None:
        """The parent run of the paratune experiment ``name``, if one exists. Its name is
        matched here, not in the filter, which has no way to quote every name."""
        for run in self._search(f"tags.`{_TAG}kind` = 'experiment'"):
            if run.data.tags.get(_TAG + "experiment") == name:
                return run
        return None

    def _search(self, where: str) -> Iterator[Run]:
        """Every run of the MLflow experiment that matches the filter ``where``."""
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [self._experiment_id], where, max_results=1000, page_token=token
            )
            yield from page
            token = page.token
            if not token:
                return

    def _trial_run(self, experiment: Experiment, trial: Trial) -> tuple[str, bool]:
        """The trial's run, made (with the config as params) if it has none; and whether
        it was made now."""
        parent = self._parent(experiment)
        run_id = self._runs.get(trial.trial_id)
        if run_id is not None:
            return run_id, False
        tags = {"mlflow.parentRunId": parent, _TAG + "kind": "trial"}
        tags |= {_TAG + "experiment": experiment.name, _TAG + "trial_id": str(trial.trial_id)}
        run = self.client.create_run(
            self._experiment_id, run_name=f"trial {trial.trial_id}", tags=tags
        )
        run_id = self._runs[trial.trial_id] = run.info.run_id
        self._log(run_id, params=trial.config)
        return run_id, True

    def _trial_tags(self, experiment: Experiment, trial: Trial) -> dict[str, str]:
        return {
            _TAG + "experiment": experiment.name,
            _TAG + "trial_id": str(trial.trial_id),
            _TAG + "status": str(trial.status),
            _TAG + "seed": str(trial.seed),
            _TAG + "attempts": str(trial.attempts),
        } | ({} if trial.budget is None else {_TAG + "budget": _text(trial.budget)})

    def _log(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        step: int = 0,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Log metrics (at ``step``), params and tags in one request."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, step) for k, v in (metrics or {}).items()],
            params=[Param(k, _text(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, v) for k, v in (tags or {}).items()],
        )
