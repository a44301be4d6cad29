"""An experiment's summary as the page receives it (E): its setup, whether a driver runs it,
its counts, best result and how busy its workers were, as `paratune status` tells them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..store._lease import Owner
from ._front import goals_json, goals_of
from ._queries import STATUSES, ExperimentRow, Stats, finite


def run_state(owner: Owner | None, path: Path, name: str, now: float) -> str:
    """``"running"`` while a live driver holds the experiment, ``"ended"`` once its last
    session finished, ``"unfinished"`` when its driver is gone without finishing it (a
    resume takes it over)."""
    if owner is None:
        return "ended"
    return "running" if owner.gone(now, path, name) is None else "unfinished"


def summary(
    row: ExperimentRow, stats: Stats, state: str, now: float | None = None
) -> dict[str, Any]:
    """The page's E of the experiment ``row`` whose trials add up to ``stats``.

    While it runs, its wall time is its sessions' so far plus the running one's age, and
    its busy time its trials' worker time; once ended, what its sessions recorded. A run
    whose driver is gone ran until its last trial was submitted or ended.
    """
    now = time.time() if now is None else now
    wall, busy = row.wall_time, row.busy_time
    if state == "running":
        wall += max(0.0, now - row.session_started)
    elif state == "unfinished":
        wall = max(wall, stats.last or 0.0)
    if state != "ended":
        busy = stats.busy
    workers = _workers(row, state)
    counts = {status: stats.counts.get(status, 0) for status in STATUSES}
    goals = goals_of(row.settings)
    return {
        "name": row.name,
        "metric": row.metric,
        "mode": row.mode,
        **goals_json(goals, row.metric, row.mode),
        "front_size": stats.front_size if goals is not None and goals.several else None,
        "infeasible": stats.infeasible if goals is not None and goals.constraints else None,
        "state": state,
        "stop_reason": row.stop_reason or None,
        "created": row.created,
        "trials": sum(stats.counts.values()),
        **counts,
        "max_trials": row.settings.get("max_trials"),
        "max_time": row.settings.get("max_time"),
        "best_value": finite(stats.best_value),
        "best_trial_id": stats.best_trial_id,
        "workers": workers,
        "wall_time": wall,
        "busy_time": busy,
        "efficiency": busy / (wall * workers) if wall > 0 and workers > 0 else None,
        "elapsed": wall if state == "running" else None,
    }


def _workers(row: ExperimentRow, state: str) -> int:
    """The worker count: the running session's, as set up; else the latest session's."""
    setting = row.settings.get("workers")
    setting = setting if isinstance(setting, int) and not isinstance(setting, bool) else 0
    if state == "ended":
        return int(row.workers) or setting
    return setting or int(row.workers)
