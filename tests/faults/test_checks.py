"""The harness's judge on made-up stores: each kind of damage it must see, it sees; an
undamaged run passes. (The kill-and-resume tests only ever show it undamaged runs.)"""

from __future__ import annotations

from dataclasses import replace

from .checks import committed_pairs, verify
from .scenarios import ASHA, RANDOM, Scenario
from .store_view import Evaluation, Snapshot, TrialRow

SMALL = replace(RANDOM, max_trials=3)
LADDER = replace(ASHA, max_trials=2)


def row(x: float, status: str = "done", value: float | None = 1.0, budget: float | None = None):
    return TrialRow(status, {"x": x, "k": 0, "fail_above": 0.85}, 7, value, budget)


def flat_run() -> tuple[Snapshot, Snapshot, list[Evaluation], list[int]]:
    """Kill after trial 0 ended (trial 1 in flight, evaluated again on resume); then done."""
    evaluations = [
        Evaluation(0, 1, None, 1.0),
        Evaluation(1, 1, None, 1.0),  # in flight when killed: not committed
        Evaluation(1, 1, None, 1.0),
        Evaluation(2, 1, None, None),  # fails on purpose (x > 0.85)
    ]
    killed = Snapshot({0: row(0.1), 1: row(0.2, "running", None)}, integrity="ok", evaluations=2)
    final = Snapshot(
        {0: row(0.1), 1: row(0.2), 2: row(0.9, "failed", None)},
        finished=True, stop_reason="max_trials", integrity="ok", evaluations=4,
    )  # fmt: skip
    return killed, final, evaluations, [0, 2, 4]


def problems(scenario: Scenario, killed: Snapshot, final: Snapshot, evaluations, bounds):
    verdict = verify(scenario, [killed], final, evaluations, bounds)
    return verdict.lost, verdict.twice, verdict.problems


def test_an_undamaged_run_passes() -> None:
    assert problems(SMALL, *flat_run()) == (set(), set(), [])


def test_a_committed_result_that_changed_is_lost() -> None:
    killed, final, evaluations, bounds = flat_run()
    final.trials[0] = row(0.1, value=2.0)
    evaluations.append(Evaluation(0, 1, None, 2.0))
    lost, twice, found = problems(SMALL, killed, final, evaluations, [*bounds, 5])
    assert lost == {0} and twice == {(0, None)}
    assert any("committed result changed" in p for p in found)


def test_a_trial_missing_or_left_interrupted_is_lost() -> None:
    killed, final, evaluations, bounds = flat_run()
    del final.trials[2]
    final.trials[1] = row(0.2, "interrupted", None)
    lost, _, found = problems(SMALL, killed, final, evaluations, bounds)
    assert lost == {1, 2}
    assert "trials missing at the end: [2]" in found


def test_a_value_the_objective_never_returned_is_seen() -> None:
    killed, final, evaluations, bounds = flat_run()
    final.trials[1] = row(0.2, value=5.0)
    _, _, found = problems(SMALL, killed, final, evaluations, bounds)
    assert any("the objective returned [1.0, 1.0]" in p for p in found)


def test_two_evaluations_in_one_session_are_seen() -> None:
    killed, final, evaluations, _ = flat_run()
    _, twice, _ = problems(SMALL, killed, final, evaluations, [0, 4])
    assert twice == {(1, None)}


def test_a_committed_rung_evaluated_again_and_a_gap_in_a_curve_are_seen() -> None:
    # Trial 0 was committed at rung 1 and is being promoted to 3 when the driver is killed.
    killed = Snapshot(
        {0: row(0.1, "running", 1.0, 3.0), 1: row(0.2, "done", 2.0, 1.0)},
        {(0, 1): {"loss": 1.0}, (1, 1): {"loss": 2.0}}, integrity="ok", evaluations=2,
    )  # fmt: skip
    assert committed_pairs(killed, LADDER.rungs) == {(0, 1), (1, 1)}
    final = Snapshot(
        {0: row(0.1, "done", 0.5, 3.0), 1: row(0.2, "done", 2.0, 1.0)},
        {(0, 1): {"loss": 1.0}, (0, 3): {"loss": 0.5}, (1, 1): {"loss": 2.0}},
        finished=True, stop_reason="max_trials", integrity="ok", evaluations=4,
    )  # fmt: skip
    evaluations = [
        Evaluation(0, 1, 1, 1.0),
        Evaluation(1, 1, 1, 2.0),
        Evaluation(0, 1, 1, 1.0),  # rung 1 again, after its commit
        Evaluation(0, 1, 3, 0.5),
    ]
    lost, twice, found = problems(LADDER, killed, final, evaluations, [0, 2, 4])
    assert lost == set() and twice == {(0, 1)}
    assert "trial 0 (budget 3.0) has no report at steps [2]" in found


def test_a_damaged_file_or_an_unended_run_is_seen() -> None:
    killed, final, evaluations, bounds = flat_run()
    final = replace(final, integrity="row 3 missing from index", finished=False, stop_reason="")
    _, _, found = problems(SMALL, killed, final, evaluations, bounds)
    assert "integrity_check at the end: row 3 missing from index" in found
    assert any("did not end the run" in p for p in found)
