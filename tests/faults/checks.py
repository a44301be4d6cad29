"""Judging a killed-and-resumed run: what the store holds at the end against what it held
after each kill, and against what the objective says it evaluated."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .scenarios import Scenario, fails_on_purpose
from .store_view import ENDED, Evaluation, Snapshot

COMPLETE = ("max_trials", "exhausted")
"""Stop reasons of a run that ended by itself."""

Pair = tuple[int, int | None]
"""(trial id, budget): one evaluation of one trial at one budget."""


@dataclass
class Verdict:
    """What the checks found.

    Attributes:
        lost: trials missing at the end, not ended properly, or whose committed result
            changed.
        twice: (trial, budget) pairs evaluated again after their result was committed, or
            twice in one session.
        problems: one line per thing found, for a person to read.
    """

    lost: set[int] = field(default_factory=set)
    twice: set[Pair] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _budget(value: float | None) -> int | None:
    return None if value is None else int(value)


def committed_pairs(snap: Snapshot, rungs: Sequence[int]) -> set[Pair]:
    """The evaluations whose results ``snap`` holds: each ended trial at its budget, and
    every rung below a trial's budget (a trial is promoted only after its result at the
    rung below was committed)."""
    pairs: set[Pair] = set()
    for trial_id, row in snap.trials.items():
        budget = _budget(row.budget)
        if row.status in ENDED:
            pairs.add((trial_id, budget))
        if budget is not None:
            pairs.update((trial_id, rung) for rung in rungs if rung < budget)
    return pairs


def verify(
    scenario: Scenario,
    snapshots: Sequence[Snapshot],
    final: Snapshot,
    evaluations: Sequence[Evaluation],
    boundaries: Sequence[int],
) -> Verdict:
    """Check the final store against the snapshots taken after each kill and against the
    evaluations log. ``boundaries`` are the log's line counts where each session ended."""
    verdict = Verdict()
    _check_final(scenario, final, verdict)
    for index, snap in enumerate(snapshots):
        _check_kept(index, snap, final, verdict)
        after = evaluations[snap.evaluations :]
        for pair in committed_pairs(snap, scenario.rungs):
            again = sum(1 for e in after if (e.trial_id, e.budget) == pair)
            if again:
                verdict.twice.add(pair)
                verdict.problems.append(
                    f"(trial, budget) {pair} was committed before kill {index + 1} and "
                    f"evaluated {again} more time(s) afterwards"
                )
    for start, end in itertools.pairwise(boundaries):
        counts = Counter((e.trial_id, e.budget) for e in evaluations[start:end])
        for pair, times in sorted(counts.items(), key=str):
            if times > 1:
                verdict.twice.add(pair)
                verdict.problems.append(
                    f"(trial, budget) {pair} evaluated {times} times in one session"
                )
    _check_traceable(final, evaluations, verdict)
    if scenario.rungs:
        _check_curves(final, verdict)
    return verdict


def _check_final(scenario: Scenario, final: Snapshot, verdict: Verdict) -> None:
    """The run ended by itself, with exactly the trials asked for, each ended as expected."""
    if not final.finished or final.stop_reason not in COMPLETE:
        verdict.problems.append(
            f"the last session did not end the run (finished={final.finished}, "
            f"stop_reason={final.stop_reason!r})"
        )
    if final.integrity != "ok":
        verdict.problems.append(f"integrity_check at the end: {final.integrity}")
    expected = set(range(scenario.max_trials))
    missing = sorted(expected - set(final.trials))
    extra = sorted(set(final.trials) - expected)
    if missing:
        verdict.lost.update(missing)
        verdict.problems.append(f"trials missing at the end: {missing}")
    if extra:
        verdict.problems.append(
            f"{len(final.trials)} trials, {scenario.max_trials} asked for: extra ids {extra}"
        )
    allowed = {"done", "pruned"} if scenario.rungs else {"done"}
    for trial_id, row in final.trials.items():
        on_purpose = fails_on_purpose(row.config)
        if row.status == "failed" and on_purpose:
            continue
        if row.status not in allowed or on_purpose:
            verdict.lost.add(trial_id)
            verdict.problems.append(
                f"trial {trial_id} ended {row.status!r}"
                + (" but fails on purpose" if on_purpose else "")
            )


def _check_kept(index: int, snap: Snapshot, final: Snapshot, verdict: Verdict) -> None:
    """Every trial a snapshot holds is still there with the same config and seed; every
    committed result and report is unchanged (a promotion may only raise the budget)."""
    when = f"after kill {index + 1}"
    if snap.integrity != "ok":
        verdict.problems.append(f"integrity_check {when}: {snap.integrity}")
    for trial_id, row in snap.trials.items():
        now = final.trials.get(trial_id)
        if now is None:
            verdict.lost.add(trial_id)
            verdict.problems.append(f"trial {trial_id}, stored {when}, is gone at the end")
            continue
        if (now.config, now.seed) != (row.config, row.seed):
            verdict.lost.add(trial_id)
            verdict.problems.append(
                f"trial {trial_id} changed config or seed: {row.config} seed {row.seed} "
                f"{when}, {now.config} seed {now.seed} at the end"
            )
        if row.status not in ENDED:
            continue
        before, after = _budget(row.budget) or 0, _budget(now.budget) or 0
        same_budget_changed = after == before and (now.status, now.value) != (
            row.status,
            row.value,
        )
        if after < before or same_budget_changed:
            verdict.lost.add(trial_id)
            verdict.problems.append(
                f"trial {trial_id}'s committed result changed: {row.status} {row.value} at "
                f"budget {row.budget} {when}, {now.status} {now.value} at budget "
                f"{now.budget} at the end"
            )
    for key, metrics in snap.reports.items():
        if final.reports.get(key) != metrics:
            verdict.problems.append(
                f"report (trial, step) {key} changed: {metrics} {when}, "
                f"{final.reports.get(key)} at the end"
            )


def _check_traceable(final: Snapshot, evaluations: Sequence[Evaluation], verdict: Verdict) -> None:
    """Each committed result is one the objective really returned at that budget."""
    returned: dict[Pair, list[float | None]] = {}
    for e in evaluations:
        returned.setdefault((e.trial_id, e.budget), []).append(e.value)
    for trial_id, row in final.trials.items():
        if row.status not in ("done", "failed"):
            continue  # a pruned trial's value is its last report's
        values = returned.get((trial_id, _budget(row.budget)), [])
        wanted = None if row.status == "failed" else row.value
        if wanted not in values:
            verdict.problems.append(
                f"trial {trial_id} is stored {row.status} with value {row.value} at budget "
                f"{row.budget}, but the objective returned {values or 'nothing'} there"
            )


def _check_curves(final: Snapshot, verdict: Verdict) -> None:
    """Each ended trial's learning curve has every step from 1 to its budget."""
    steps: dict[int, set[int]] = {}
    for trial_id, step in final.reports:
        steps.setdefault(trial_id, set()).add(step)
    for trial_id, row in final.trials.items():
        if row.status not in ("done", "pruned") or row.budget is None:
            continue
        gaps = sorted(set(range(1, int(row.budget) + 1)) - steps.get(trial_id, set()))
        if gaps:
            verdict.problems.append(
                f"trial {trial_id} (budget {row.budget}) has no report at steps {gaps}"
            )


def compare_with_reference(final: Snapshot, reference: Snapshot) -> list[str]:
    """Differences, trial by trial, between a killed-and-resumed run and one never
    interrupted (for runs whose trials do not depend on the order of results)."""

    def key(snap: Snapshot) -> dict[int, tuple[object, ...]]:
        return {t: (r.config, r.seed, r.status, r.value) for t, r in snap.trials.items()}

    ours, theirs = key(final), key(reference)
    return [
        f"trial {t}: {ours.get(t)} after the kills, {theirs.get(t)} in an uninterrupted run"
        for t in sorted(set(ours) | set(theirs))
        if ours.get(t) != theirs.get(t)
    ]
