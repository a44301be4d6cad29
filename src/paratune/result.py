"""What a run gives back: `TuneResult`."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._front import front_rows, stored_objectives
from ._trial_list import TrialList, kept_trials
from .objectives import Objectives
from .store._best import best_listed, best_position
from .store._columns import TrialColumns
from .store._compact import CompactTrials
from .trial import Config, Report, Status, Trial
from .tuner import RunOutcome, StopReason

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from .store import SQLiteStore


@dataclass(frozen=True)
class TuneResult:
    """The outcome of `paratune.tune`.

    Attributes:
        trial_list: every trial, in id order.
        metric: the tuned metric.
        mode: ``"min"`` or ``"max"``.
        workers: how many workers the run had.
        wall_time: seconds from the start of the run (pool start-up included) to its end, on
            the executor's clock (virtual seconds under the simulated executor).
        busy_time: worker-seconds spent running objectives (failed and cancelled ones too).
        cancelled_time: worker-seconds spent on trials cancelled when the run stopped.
        stop_reason: why the run ended.
        name: the experiment's name.
        report_list: every intermediate result (``ctx.report`` and, under a multi-fidelity
            scheduler, each job's result at its budget), by trial and step.
        searcher_time: real seconds the driver spent in the searcher (its ``suggest`` and
            ``observe``) during this call, a resumed run's replay of stored trials included;
            None for a result read from a store (`paratune.load`), which does not keep it.
        suggestions: how many times the searcher was asked for a configuration during this
            call (0 for a stored result).
        lost_time: worker-seconds during which workers the executor lost were absent (a
            Dask worker gone until another joins); 0 on executors that replace them at once.
    """

    if TYPE_CHECKING:
        trial_list: list[Trial]  # read as a list; set also from columns (see TrialList)
    else:
        trial_list: TrialList = TrialList()
    metric: str
    mode: str
    workers: int
    wall_time: float
    busy_time: float
    cancelled_time: float
    stop_reason: StopReason
    name: str = ""
    report_list: list[Report] = field(default_factory=list)
    searcher_time: float | None = None
    suggestions: int = 0
    lost_time: float = 0.0
    objectives: Objectives | None = None

    @property
    def goals(self) -> Objectives:
        """What the run tuned: `objectives` where there are several metrics or
        constraints, else `metric` and `mode`."""
        return self.objectives or Objectives.of(self.metric, self.mode)

    @property
    def pareto_front(self) -> pd.DataFrame:
        """The rows of `trials` on the Pareto front: the feasible trials that ended DONE and
        that no other such trial beats in every tuned metric (for one metric: the best,
        and any trial equal to it). See ``docs/multiobjective.md``."""
        return front_rows(self.trials, self.goals)

    @property
    def best_trials(self) -> list[Trial]:
        """The trials of `pareto_front`, in id order."""
        wanted = set(self.pareto_front["trial_id"].tolist())
        return [trial for trial in self.trial_list if trial.trial_id in wanted]

    @classmethod
    def from_outcome(
        cls,
        outcome: RunOutcome,
        *,
        metric: str = "value",
        mode: str = "min",
        name: str,
        reports: list[Report],
        objectives: Objectives | None = None,
    ) -> TuneResult:
        """The result of a run (`tune`, `AskTell`): of ``metric`` and ``mode``, or of
        ``objectives`` where given."""
        kept = kept_trials(outcome, "trials")  # columns, until something reads a list
        goals = objectives or Objectives.of(metric, mode)
        return cls(
            trial_list=outcome.trials if kept is None else kept,
            metric=goals.metrics[0],
            mode=goals.modes[0],
            objectives=None if goals.plain else goals,
            workers=outcome.workers,
            wall_time=outcome.wall_time,
            busy_time=outcome.busy_time,
            cancelled_time=outcome.cancelled_time,
            stop_reason=outcome.stop_reason,
            name=name,
            report_list=reports,
            searcher_time=outcome.searcher_time,
            suggestions=outcome.suggestions,
            lost_time=outcome.lost_time,
        )

    @classmethod
    def from_store(cls, db: SQLiteStore) -> TuneResult:
        """The run of the experiment selected (or open) in ``db``, as `paratune.load` gives
        it: its trials are read as columns (`SQLiteStore.trial_columns`), so its tables
        (`trials`, `best_trial`) need no `Trial` per row, and `trial_list` is built from
        them on its first reading."""
        experiment, totals = db.experiment(), db.totals()
        return cls(
            trial_list=db.trial_columns(),  # type: ignore[arg-type]  # see TrialList
            metric=experiment.metric,
            mode=experiment.mode,
            objectives=stored_objectives(experiment.settings),
            workers=totals.workers or int(experiment.settings.get("workers") or 1),
            wall_time=totals.wall_time,
            busy_time=totals.busy_time,
            cancelled_time=totals.cancelled_time,
            stop_reason=StopReason(totals.stop_reason or StopReason.UNFINISHED),
            name=experiment.name,
            report_list=db.reports(),
            lost_time=totals.lost_time,
        )

    @cached_property
    def _columns(self) -> TrialColumns | None:
        """The trials as columns, where they were given so (None for a list of trials)."""
        kept = kept_trials(self, "trial_list")
        if isinstance(kept, CompactTrials):
            return kept.columns()
        columns: TrialColumns | None = kept
        return columns

    @cached_property
    def reports(self) -> pd.DataFrame:
        """The intermediate results as a DataFrame: ``trial_id``, ``step``, ``time``
        (seconds since the experiment started) and a ``metric.<name>`` column per metric;
        learning curves, one trial at a time."""
        import pandas as pd

        reports = self.report_list
        columns: dict[str, Any] = {
            "trial_id": [r.trial_id for r in reports],
            "step": [r.step for r in reports],
            "time": [r.time for r in reports],
        }
        for key in dict.fromkeys(itertools.chain.from_iterable(r.metrics for r in reports)):
            columns["metric." + key] = [r.metrics.get(key) for r in reports]
        return pd.DataFrame(columns)

    @cached_property
    def best_trial(self) -> Trial | None:
        """The finished trial with the best value (the earliest among equals; with
        constraints, among the feasible trials), or None.

        Raises:
            ValueError: the run tuned several metrics, so no one trial is best: see
                `pareto_front` and `best_trials`.
        """
        if self.objectives is not None and self.objectives.several:
            raise ValueError(
                f"the run tuned {len(self.objectives.metrics)} metrics "
                f"({', '.join(self.objectives.metrics)}): no one trial is best; "
                "result.pareto_front (a DataFrame) and result.best_trials hold the trials "
                "that no other beats in every metric"
            )
        kept = kept_trials(self, "trial_list")
        if isinstance(kept, CompactTrials):
            return kept.best(self.mode)
        if (columns := self._columns) is not None:  # only the best trial is built
            at = best_position(columns.status, columns.value, self.mode)
            return None if at is None else columns.trial(at)
        return best_listed(self.trial_list, self.mode)

    @property
    def best_config(self) -> Config | None:
        """The configuration of `best_trial`."""
        return None if self.best_trial is None else self.best_trial.config

    @property
    def best_params(self) -> Config | None:
        """`best_config` under the name Optuna and scikit-learn users type."""
        return self.best_config

    @property
    def best_value(self) -> float | None:
        """The metric of `best_trial`."""
        return None if self.best_trial is None else self.best_trial.value

    @property
    def concurrency(self) -> float:
        """Busy worker-seconds over wall time: how many workers were busy on average
        (``busy_time / wall_time``). Not a speedup: a speedup compares with a sequential
        run, which one run does not measure (see `paratune.analysis.what_if` and
        ``paratune scaling``)."""
        return 0.0 if self.wall_time <= 0 else self.busy_time / self.wall_time

    @property
    def utilisation(self) -> float:
        """The share of the worker-time the run held that was spent in objectives:
        ``busy_time / (workers x wall_time)``, which is `concurrency` / workers; 1.0 means
        no worker ever waited."""
        if self.wall_time <= 0:
            return 0.0
        return self.busy_time / (self.workers * self.wall_time)

    @property
    def speedup(self) -> float:
        """Deprecated: `concurrency` (busy worker-time over wall time), which is not a
        speedup against a sequential run."""
        _deprecated("speedup", "concurrency")
        return self.concurrency

    @property
    def efficiency(self) -> float:
        """Deprecated: `utilisation` (busy worker-time over the worker-time held), which is
        not an efficiency against a sequential run."""
        _deprecated("efficiency", "utilisation")
        return self.utilisation

    @property
    def time_per_suggestion(self) -> float | None:
        """Mean real seconds in the searcher per suggestion (``searcher_time /
        suggestions``): what the searcher costs the driver for each trial it proposes, as a
        model-based searcher grows slower with every result. None when not measured."""
        if self.searcher_time is None or self.suggestions == 0:
            return None
        return self.searcher_time / self.suggestions

    @cached_property
    def trials(self) -> pd.DataFrame:
        """Every trial as a row: ``trial_id``, ``status``, ``value``, one ``config.<name>``
        column per parameter, one ``metric.<name>`` column per metric an objective returned
        in a dict (none for an objective that returns a number: it is ``value``), then
        ``attempts``, ``seed``, ``budget``, ``submitted``, ``started``, ``finished``, ``duration``,
        ``worker_time``, ``worker`` and ``error``. Times are seconds since the run started."""
        if (columns := self._columns) is not None:
            return columns_frame(columns)
        return trials_frame(self.trial_list)

    def __repr__(self) -> str:
        kept = kept_trials(self, "trial_list")
        count = len(kept if kept is not None else self.trial_list)
        if self.objectives is not None and self.objectives.several:
            return (
                f"TuneResult(trials={count}, metrics={list(self.objectives.metrics)!r}, "
                f"pareto_front={len(self.pareto_front)}, wall_time={self.wall_time:.3f}, "
                f"stop_reason={self.stop_reason.value!r})"
            )
        return (
            f"TuneResult(trials={count}, best_value={self.best_value!r}, "
            f"best_config={self.best_config!r}, wall_time={self.wall_time:.3f}, "
            f"utilisation={self.utilisation:.3f}, stop_reason={self.stop_reason.value!r})"
        )


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"TuneResult.{old} is deprecated: it is TuneResult.{new} (busy worker-time, not a "
        "comparison with a sequential run); the speedup and efficiency against a sequential "
        "run come from paratune.analysis.what_if (predicted) or paratune scaling (measured)",
        DeprecationWarning,
        stacklevel=3,
    )


def trials_frame(trials: list[Trial]) -> pd.DataFrame:
    """Build the trials table column by column, each as a typed NumPy array (100,000 trials
    in about a tenth of a second)."""
    import numpy as np
    import pandas as pd  # here, not at the top: pandas costs every worker a tenth of a second

    def floats(values: Iterable[float | None]) -> NDArray[np.float64]:
        return np.array(list(values), dtype=np.float64)  # None becomes NaN

    codes = {status: code for code, status in enumerate(Status)}
    configs = [t.config for t in trials]
    metrics = [t.metrics for t in trials]
    columns: dict[str, Any] = {
        "trial_id": np.array([t.trial_id for t in trials], dtype=np.int64),
        "status": pd.Categorical.from_codes(
            np.array([codes[t.status] for t in trials], dtype=np.int8),
            categories=pd.Index([status.value for status in Status]),
        ),
        "value": floats(t.value for t in trials),
    }
    for prefix, dicts in (("config.", configs), ("metric.", metrics)):
        for key in dict.fromkeys(itertools.chain.from_iterable(dicts)):
            columns[prefix + key] = _column([d.get(key) for d in dicts])
    columns["attempts"] = np.array([t.attempts for t in trials], dtype=np.int64)
    columns["seed"] = [t.seed for t in trials]  # up to 2**63: Python ints, not int64
    columns["budget"] = floats(t.budget for t in trials)
    started = floats(t.started for t in trials)
    finished = floats(t.finished for t in trials)
    columns["submitted"] = floats(t.submitted for t in trials)
    columns["started"] = started
    columns["finished"] = finished
    columns["duration"] = finished - started
    columns["worker_time"] = floats(t.worker_time for t in trials)
    columns["cpu_time"] = floats(t.cpu_time for t in trials)
    columns["peak_memory"] = floats(t.peak_memory for t in trials)
    workers = [t.worker for t in trials]
    columns["worker"] = pd.arrays.IntegerArray(
        np.array([-1 if w is None else w for w in workers], dtype=np.int64),
        np.array([w is None for w in workers], dtype=bool),
    )
    columns["error"] = [t.error for t in trials]
    return pd.DataFrame(columns, copy=False)


def _column(values: list[Any]) -> Any:
    """A config or metric column: a parameter inactive in some trials is None there, and
    integers stay integers (pandas would make ``[3, None]`` the floats 3.0 and NaN)."""
    import pandas as pd

    given = [v for v in values if v is not None]
    if 0 < len(given) < len(values) and all(type(v) is int and abs(v) < 2**63 for v in given):
        return pd.array(values, dtype="Int64")
    return values


def columns_frame(columns: TrialColumns) -> pd.DataFrame:
    """`trials_frame` of trials read as columns: the same table, from the columns' arrays,
    with no `Trial` per row."""
    import numpy as np
    import pandas as pd

    columns = _writable(columns)
    table: dict[str, Any] = {
        "trial_id": columns.trial_id,
        "status": pd.Categorical.from_codes(
            columns.status, categories=pd.Index([status.value for status in Status])
        ),
        "value": columns.value,
    }
    for prefix, split in (("config.", columns.config), ("metric.", columns.metrics)):
        for key, values in split.values.items():
            table[prefix + key] = _column(values)
    table["attempts"] = columns.attempts
    table["seed"] = columns.seed if len(columns) else []  # as trials_frame's list of ints
    table["budget"] = columns.budget
    table["submitted"] = columns.submitted
    table["started"] = columns.started
    table["finished"] = columns.finished
    table["duration"] = columns.finished - columns.started
    table["worker_time"] = columns.worker_time
    table["cpu_time"] = columns.cpu_time
    memory = columns.peak_memory
    table["peak_memory"] = np.where(memory.missing, np.nan, memory.values.astype(np.float64))
    worker = columns.worker
    table["worker"] = pd.arrays.IntegerArray(
        np.where(worker.missing, -1, worker.values), worker.missing.copy()
    )
    table["error"] = columns.error
    return pd.DataFrame(table, copy=False)


def _writable(columns: TrialColumns) -> TrialColumns:
    """``columns`` with a copy of each array (a view of the columns a store keeps, one
    value broadcast, or the arrays the result itself reads its best trial and its trials
    from), so that the table they make can be changed like any other, and changing it
    changes nothing else."""
    import dataclasses

    import numpy as np

    copies: dict[str, Any] = {
        name: value.copy()
        for name, value in vars(columns).items()
        if isinstance(value, np.ndarray)
    }
    return dataclasses.replace(columns, **copies)


def config_values(result: TuneResult, name: str) -> list[Any]:
    """The value of parameter ``name`` in each trial's config (None where it has none),
    from the columns of a stored run without building its trials."""
    if (columns := result._columns) is not None:
        return columns.config.values.get(name, [None] * len(columns))
    return [trial.config.get(name) for trial in result.trial_list]
