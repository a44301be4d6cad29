"""What ``paratune status NAME`` shows of one experiment: its setup, counts, best result
and whether its run ended, still runs, or lost its driver."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ._cli_front import stored_fields, stored_lines
from ._front import front_rows, stored_objectives
from .store._lease import Owner

if TYPE_CHECKING:
    import pandas as pd


def status_detail(db: Any, row: dict[str, Any]) -> dict[str, Any]:
    """What `paratune status NAME` shows of the selected experiment of ``db`` (a read-only
    store), given its ``row`` of the store's counts: a JSON-ready dict."""
    experiment = db.experiment()
    totals = db.totals()
    driver = db.running_driver()
    goals = stored_objectives(experiment.settings)
    # With several metrics no one trial is best: the front stands in for it.
    best = None if goals is not None and goals.several else db.best_valued()
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
        **({} if goals is None else stored_fields(_trials(db), goals)),
        "wall_time": totals.wall_time,
        "busy_time": totals.busy_time,
        "settings": experiment.settings,
    }


def _trials(db: Any) -> pd.DataFrame:
    """The selected experiment's trials table, read as columns (no `Trial` per row)."""
    from .result import columns_frame

    return columns_frame(db.trial_columns())


def listed_fronts(db: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """For each experiment of ``names`` with several metrics: its metrics, their modes and
    the size of its Pareto front, which `paratune status` lists in place of a best value
    (that of the first metric alone would say one trial is best). Selects each in turn."""
    fronts = {}
    for name in names:
        db.select(name)
        goals = stored_objectives(db.experiment().settings)
        if goals is not None and goals.several:
            size = len(front_rows(_trials(db), goals))
            fronts[name] = {"metrics": list(goals.metrics), "modes": list(goals.modes),
                            "front_size": size}  # fmt: skip
    return fronts


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
    modes = detail.get("modes", [detail["mode"]])
    aims = ", ".join(
        f"{m} {n}" for m, n in zip(modes, detail.get("metrics", [detail["metric"]]), strict=True)
    )
    lines = [
        f"experiment {detail['name']}: {detail['state']}",
        f"  objective  {detail['objective']}  ({aims})",
        f"  trials     {c['done']} done, {c['failed']} failed, {c['running']} running, "
        f"{c['cancelled']} cancelled, {c['interrupted']} interrupted",
        f"  time       {detail['wall_time']:.2f} s wall, {detail['busy_time']:.2f} s busy",
    ]
    if "metrics" in detail:
        lines += stored_lines(detail)
    if detail["best_value"] is not None:
        lines.append(
            f"  best       {detail['best_value']:.6g}  "
            f"{json.dumps(detail['best_config'], default=str)}"
        )
    return "\n".join(lines)
