"""Which reports keep a trial's rung results whole under several objectives or constraints.

A job's result at its budget is stored as a report at that step (a rung result), and a
resumed run hands it back to the scheduler, which ranks each rung by every metric. A
report the objective makes carries what it chose, often the primary metric alone, so:

- the rung result merges the objective's own report at that step with the job's result;
- a later job of the same trial that goes through steps the trial already reached (a
  promotion that retrains from the start, a trial run again after a resume) does not store
  its reports at those steps again: they would replace the rung results below.

With one metric and no constraint a report carries all a rung needs, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .objectives import Objectives


class RungReports:
    """The bookkeeping above, for the trials not ended (the ledger's).

    Args:
        objectives: what the run tunes; None or plain: every report is stored as it is.
    """

    def __init__(self, objectives: Objectives | None) -> None:
        self.active = objectives is not None and not objectives.plain
        self._reached: dict[int, float] = {}  # trial id -> the step its earlier jobs reached
        self._latest: dict[int, Mapping[str, Any]] = {}  # trial id -> its job's last report

    def resumes(self, trial_id: int, reached: float | None) -> None:
        """A job of ``trial_id`` starts where its earlier jobs reached step ``reached``
        (its budget before a promotion; its latest stored step when run again)."""
        if self.active and reached is not None:
            self._reached[trial_id] = reached

    def stores(self, trial_id: int, step: int, metrics: Mapping[str, Any]) -> bool:
        """Whether a running job's report at ``step`` is stored: not where the trial has a
        result already. Keeps its ``metrics`` for `ended`."""
        if not self.active:
            return True
        if step <= self._reached.get(trial_id, -1):
            return False
        self._latest[trial_id] = metrics
        return True

    def ended(self, trial_id: int, *, again: bool = False) -> Mapping[str, Any] | None:
        """The metrics of the last report stored by the job of ``trial_id`` that ended
        (None if none); ``again``: the trial runs again (a retry), so the steps it reached
        before still hold."""
        if not self.active:
            return None  # nothing was kept: a call as cheap as the check
        if not again:
            self._reached.pop(trial_id, None)
        return self._latest.pop(trial_id, None)
