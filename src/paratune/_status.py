"""What ``paratune status NAME`` shows of one experiment: its setup, counts, best result
and whether its run ended, still runs, or lost its driver."""

from __future__ import annotations

import json
import time
from typing import Any

from .store._lease import Owner


def status_detail(db: Any, row: dict[str, Any]) -> dict[str, Any]:
    """What `paratune status NAME` shows of the selected experiment of ``db`` (a read-only
    store), given its ``row`` of the store's counts: a JSON-ready dict."""
    experiment = db.experiment()
    totals = db.totals()
    driver = db.running_driver()
    best = db.best_valued()  # one query: a million trials are not read one by one
    return {
        "name": experiment.name,
        "state": _state(driver, totals.stop_reason),
        "objective": experiment.objective,
        "metric": experiment.metric,
        "mode": experiment.mode,
        "seed": experiment.seed,
        "counts": row["counts"],
        "best_value": None if best is None else best.value,
        "best_config": None if best is None else best.config,
        "wall_time": totals.wall_time,
        "busy_time": totals.busy_time,
        "settings": experiment.settings,
    }


def _state(driver: Owner | None, stop_reason: str) -> str:
    """Whether the run ended, lost its driver (a resume takes over) or runs, and where."""
    if driver is None:
        return f"ended ({stop_reason})"
    why_gone = driver.gone(time.time())
    if why_gone is not None:
        return f"stopped without ending ({why_gone}): resume it"
    return f"running (driver {driver.describe()})"


def format_detail(detail: dict[str, Any]) -> str:
    """`status_detail` as the lines `paratune status NAME` prints."""
    c = detail["counts"]
    lines = [
        f"experiment {detail['name']}: {detail['state']}",
        f"  objective  {detail['objective']}  ({detail['mode']} {detail['metric']})",
        f"  trials     {c['done']} done, {c['failed']} failed, {c['running']} running, "
        f"{c['cancelled']} cancelled, {c['interrupted']} interrupted",
        f"  time       {detail['wall_time']:.2f} s wall, {detail['busy_time']:.2f} s busy",
    ]
    if detail["best_value"] is not None:
        lines.append(
            f"  best       {detail['best_value']:.6g}  "
            f"{json.dumps(detail['best_config'], default=str)}"
        )
    return "\n".join(lines)
