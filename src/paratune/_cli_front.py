"""What the command line says of a run with several metrics or constraints: the Pareto
front, its hypervolume and reference point, and the trials that broke a constraint, in
place of a best value where there is none (``paratune run``, ``resume`` and ``status``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._hypervolume import FrontSummary, front_summary

if TYPE_CHECKING:
    import pandas as pd

    from .objectives import Objectives
    from .result import TuneResult

LISTED = 10
"""How many trials of the front the run's summary lists as text (``--json`` gives all)."""


def goals_fields(goals: Objectives) -> dict[str, Any]:
    """The metrics, their modes and the constraints, for a JSON summary."""
    return {
        "metrics": list(goals.metrics),
        "modes": list(goals.modes),
        "constraints": [str(constraint) for constraint in goals.constraints],
    }


def front_fields(summary: FrontSummary, goals: Objectives) -> dict[str, Any]:
    """The front's size, hypervolume and reference point (and the count of trials that
    broke a constraint), for a JSON summary."""
    fields: dict[str, Any] = {
        "front_size": len(summary.front),
        "hypervolume": summary.hypervolume,
        "reference": summary.reference,
    }
    if goals.constraints:
        fields["infeasible"] = summary.infeasible
    return fields


def run_fields(result: TuneResult) -> dict[str, Any]:
    """What ``paratune run --json`` gives of a run with several metrics in place of its
    best value: the objectives, the front's size, hypervolume and reference, and the
    front's trials (``trial_id``, ``config``, ``metrics``)."""
    goals = result.goals
    summary = front_summary(result.trials, goals)
    front = [
        {"trial_id": trial.trial_id, "config": trial.config, "metrics": dict(trial.metrics)}
        for trial in result.best_trials
    ]
    return {**goals_fields(goals), **front_fields(summary, goals), "front": front}


def run_lines(fields: dict[str, Any]) -> list[str]:
    """`run_fields` as the lines ``paratune run`` prints: the front, its hypervolume, and
    its first trials by the first metric."""
    lines = [
        f"metrics: {_described(fields)}",
        f"front: {front_text(fields)}",
    ]
    if fields["constraints"]:
        lines.append(f"infeasible: {_infeasible_text(fields)}")
    first = fields["metrics"][0]
    best_first = -1.0 if fields["modes"][0] == "max" else 1.0
    trials = sorted(
        fields["front"], key=lambda t: (best_first * t["metrics"][first], t["trial_id"])
    )
    for trial in trials[:LISTED]:
        metrics = ", ".join(f"{name} {trial['metrics'][name]:.6g}" for name in fields["metrics"])
        config = json.dumps(trial["config"], default=str)
        lines.append(f"  trial {trial['trial_id']}: {metrics}  {config}")
    if len(trials) > LISTED:
        lines.append(f"  ... and {len(trials) - LISTED} more (--json lists them all)")
    return lines


def front_text(fields: dict[str, Any]) -> str:
    """The front's size and hypervolume, with its reference point: one line's worth."""
    size = fields["front_size"]
    text = f"{size} trial{'' if size == 1 else 's'}"
    if fields["hypervolume"] is not None:
        reference = ", ".join(f"{n} {v:.6g}" for n, v in fields["reference"].items())
        text += f", hypervolume {fields['hypervolume']:.6g} (reference point: {reference})"
    return text


def _described(fields: dict[str, Any]) -> str:
    return ", ".join(
        f"{m} ({mode})" for m, mode in zip(fields["metrics"], fields["modes"], strict=True)
    )


def _infeasible_text(fields: dict[str, Any]) -> str:
    return infeasible_text(fields["infeasible"], fields["constraints"])


def infeasible_text(count: int, constraints: list[str]) -> str:
    """How many trials broke a constraint, and the constraints: ``3 finished trials broke
    a constraint (memory <= 7)``."""
    rules = ", ".join(constraints)
    return f"{count} finished trial{'' if count == 1 else 's'} broke a constraint ({rules})"


def stored_fields(trials: pd.DataFrame, goals: Objectives) -> dict[str, Any]:
    """What ``paratune status NAME`` adds for a stored run with several metrics or
    constraints: the objectives, the trials that broke a constraint and, with several
    metrics, the front's size, hypervolume and reference point."""
    summary = front_summary(trials, goals)
    fields = {**goals_fields(goals), "infeasible": summary.infeasible}
    if goals.several:
        fields |= front_fields(summary, goals)
    return fields


def stored_lines(fields: dict[str, Any]) -> list[str]:
    """`stored_fields` as the lines ``paratune status NAME`` prints."""
    lines = []
    if fields["constraints"]:
        lines.append(f"  infeasible {_infeasible_text(fields)}")
    if "front_size" in fields:
        lines.append(f"  front      {front_text(fields)}")
    return lines
