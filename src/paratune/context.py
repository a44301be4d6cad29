"""What the objective sees: `Context`, and the clocks that give it its sense of time."""

from __future__ import annotations

import operator
import os
import pickle
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, SupportsIndex

from ._checks import is_whole
from ._storable import MAX_STEP
from .errors import ParatuneError

Reporter = Callable[[int, Mapping[str, Any]], bool]
"""How a context hands a report to its executor: ``reporter(step, metrics)`` returns False
when the trial must stop."""


class Clock(Protocol):
    """Time as an executor keeps it: real for real executors, virtual when simulated."""

    @property
    def virtual(self) -> bool:
        """True when the clock does not follow real time."""
        ...

    def now(self) -> float:
        """Seconds on this clock (only differences are meaningful)."""
        ...


class RealClock:
    """The machine's monotonic clock, comparable across processes of one machine."""

    virtual = False

    def now(self) -> float:
        """Seconds from `time.monotonic`."""
        return time.monotonic()


class TrialCancelled(Exception):
    """Raised inside an objective by `Context.elapse` once its trial has been cancelled.

    Objectives need not catch it: the executor records the trial as cancelled.
    """


class TrialPruned(Exception):
    """Raised by `Context.report` when the scheduler stops the trial there (the stopping
    variant of ASHA, say).

    Objectives need not catch it: the trial is recorded as pruned, with the metrics of its
    last report as its result. An objective may catch it to save a checkpoint or clean up,
    and should then re-raise it (or return; the trial is pruned either way).
    """


class Context:
    """Handed to an objective that takes a second argument: ``objective(config, ctx)``.

    Attributes:
        trial_id: the trial's id in the experiment.
        seed: the trial's seed (derived from the experiment seed and the trial id); pass it to
            your own generators or to `paratune.seed_everything`.
        budget: the budget this job must reach (None unless a scheduler sets one).
        start_step: where a resumed job starts (0 on a fresh start); `load_checkpoint` sets
            it to the step of the checkpoint it loads.
        attempt: 1 for the first run, 2 for the first retry, ...
        prepared: what the run's ``setup`` returned in the worker running this job (called
            once per worker, before its first job: data loaded, libraries imported, a model
            built once, not once per trial); None when the run has no setup. Every job of
            that worker gets the same object: treat it as read-only, or copy what you change.
    """

    __slots__ = (
        "_cancelled",
        "_checkpoint",
        "_checkpoint_step",
        "_last_report",
        "_pruned",
        "_reporter",
        "_virtual",
        "attempt",
        "budget",
        "prepared",
        "seed",
        "start_step",
        "trial_id",
    )

    def __init__(
        self,
        *,
        trial_id: int,
        seed: int,
        budget: float | None = None,
        start_step: int = 0,
        attempt: int = 1,
        virtual: bool = False,
        checkpoint: str | None = None,
        reporter: Reporter | None = None,
        prepared: Any = None,
    ) -> None:
        self.trial_id = trial_id
        self.seed = seed
        self.budget = budget
        self.start_step = start_step
        self.attempt = attempt
        self.prepared = prepared
        self._virtual: float | None = 0.0 if virtual else None
        self._cancelled = False
        self._pruned = False
        self._checkpoint = checkpoint
        self._checkpoint_step: int | None = None
        self._reporter = reporter
        self._last_report: tuple[int, dict[str, Any]] | None = None

    def report(self, step: int, **metrics: Any) -> None:
        """Record an intermediate result: ``metrics`` (numbers, by name) after ``step`` steps
        of the trial's budget (epochs, say).

        Reports are stored with the trial (``result.reports``) and shown as learning curves.
        A scheduler that stops trials early (`paratune.schedulers.ASHA` with
        ``stopping=True``) decides here: when the trial should stop, this raises
        `TrialPruned`, and the trial's result is these metrics.
        """
        if not is_whole(step) or step > MAX_STEP:
            raise ValueError(
                f"report(step, ...) needs a whole number step in [0, 2**63), got {step!r}"
            )
        if not metrics:
            raise ValueError("report(step, **metrics) needs at least one metric, e.g. loss=0.3")
        if self._cancelled:
            raise TrialCancelled(f"trial {self.trial_id} was cancelled")
        self._last_report = (step, metrics)
        if self._reporter is not None and not self._reporter(step, metrics):
            self._pruned = True
            raise TrialPruned(f"trial {self.trial_id} was stopped at step {step}")

    @property
    def pruned(self) -> bool:
        """True once a report has been told to stop the trial."""
        return self._pruned

    @property
    def last_report(self) -> tuple[int, dict[str, Any]] | None:
        """The latest ``(step, metrics)`` reported, or None."""
        return self._last_report

    def save_checkpoint(self, obj: Any, step: SupportsIndex | None = None) -> None:
        """Keep ``obj`` (anything picklable: a model, its optimizer state, ...) as this
        trial's checkpoint, reached at ``step`` (default: the latest reported step, else the
        budget). A promotion to a higher budget then resumes from it instead of retraining.
        ``step`` is a whole number in [0, 2**63) (a NumPy integer too); anything else is a
        ValueError, and nothing is written.

        The checkpoint is one file per trial, under a folder beside the store (see
        `paratune.tune`'s ``checkpoint_dir``); written whole and then renamed, so a crash
        never leaves half a checkpoint. On several machines, that folder must be on a
        filesystem they share.
        """
        if self._checkpoint is None:
            raise ParatuneError("this run keeps no checkpoints (no checkpoint_dir)")
        if step is not None:
            reached = _whole_step(step)
        elif self._last_report is not None:
            reached = self._last_report[0]
        elif self.budget is not None:
            reached = int(self.budget)
        else:
            reached = 0
        path = Path(self._checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        # Private (0600) like the store: a checkpoint may hold data and model weights.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as file:
            pickle.dump((reached, obj), file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
        self._checkpoint_step = reached

    def load_checkpoint(self) -> Any:
        """The trial's latest checkpoint, or None on a fresh start (or when it saved none).

        Sets `start_step` to the step the checkpoint reached (0 when there is none), so a
        loop ``for epoch in range(ctx.start_step, ctx.budget)`` written after it trains
        exactly what is missing.
        """
        if self._checkpoint is None or not os.path.exists(self._checkpoint):
            self.start_step = 0
            return None
        with open(self._checkpoint, "rb") as file:
            step, obj = pickle.load(file)
        self.start_step = step
        self._checkpoint_step = step
        return obj

    @property
    def checkpoint_step(self) -> int | None:
        """The step of the checkpoint this trial holds, as far as this job knows."""
        return self._checkpoint_step

    def elapse(self, seconds: float) -> None:
        """Spend ``seconds`` of the trial's time.

        In a real run this sleeps; under the simulated executor it advances the trial's virtual
        duration instead and returns at once. Raises `TrialCancelled` if the trial was cancelled
        (a thread cannot be killed, so this is where a running thread learns to stop).
        """
        if self._cancelled:
            raise TrialCancelled(f"trial {self.trial_id} was cancelled")
        if seconds < 0:
            raise ValueError(f"elapse(seconds) needs seconds >= 0, got {seconds}")
        if self._virtual is not None:
            self._virtual += seconds
        else:
            time.sleep(seconds)
        if self._cancelled:
            raise TrialCancelled(f"trial {self.trial_id} was cancelled")

    @property
    def cancelled(self) -> bool:
        """True once paratune has cancelled this trial; a long objective may poll it."""
        return self._cancelled

    def cancel(self) -> None:
        """Mark the trial cancelled (called by executors, not by objectives)."""
        self._cancelled = True

    @property
    def virtual_time(self) -> float:
        """Virtual seconds elapsed so far (0.0 in a real run)."""
        return self._virtual or 0.0


def _whole_step(step: Any) -> int:
    """``step`` as a plain int (a NumPy integer is one too: an epoch counter from
    ``np.arange``), or a ValueError: the store keeps the step as a whole number."""
    try:
        whole = operator.index(step)
    except TypeError:
        whole = -1
    if isinstance(step, bool) or not 0 <= whole <= MAX_STEP:
        raise ValueError(
            f"save_checkpoint(obj, step) needs a whole number step in [0, 2**63), got {step!r}"
        )
    return whole
