"""What the objective sees: `Context`, and the clocks that give it its sense of time."""

from __future__ import annotations

import time
from typing import Protocol


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


class Context:
    """Handed to an objective that takes a second argument: ``objective(config, ctx)``.

    Attributes:
        trial_id: the trial's id in the experiment.
        seed: the trial's seed (derived from the experiment seed and the trial id); pass it to
            your own generators or to `paratune.seed_everything`.
        budget: the budget this job must reach (None unless a scheduler sets one).
        start_step: where a resumed job starts (0 on a fresh start).
        attempt: 1 for the first run, 2 for the first retry, ...
    """

    __slots__ = ("_cancelled", "_virtual", "attempt", "budget", "seed", "start_step", "trial_id")

    def __init__(
        self,
        *,
        trial_id: int,
        seed: int,
        budget: float | None = None,
        start_step: int = 0,
        attempt: int = 1,
        virtual: bool = False,
    ) -> None:
        self.trial_id = trial_id
        self.seed = seed
        self.budget = budget
        self.start_step = start_step
        self.attempt = attempt
        self._virtual: float | None = 0.0 if virtual else None
        self._cancelled = False

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
