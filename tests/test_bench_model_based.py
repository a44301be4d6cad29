"""B10's model-based multi-fidelity part holds what it claims: the multi-fidelity Hartmann-6
has the stated optimum and a bias that shrinks with the budget, every contender's run reports
full-budget results inside its horizon, and the goal is judged as the notes say."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import ModuleType

import pytest

from ._benchmarks import benchmark_module

X_STAR = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)


@pytest.fixture(scope="module")
def part() -> Iterator[ModuleType]:
    """The part's module, imported as its folder's scripts import each other."""
    yield from benchmark_module("b10_model_based")


def test_full_budget_is_hartmann6_with_its_known_minimum(part: ModuleType) -> None:
    assert part.hartmann6(X_STAR, part.MF_TOP) == pytest.approx(part.OPTIMUM, abs=1e-5)
    assert part.hartmann6([0.5] * 6, part.MF_TOP) > part.OPTIMUM


def test_the_bias_is_positive_and_shrinks_as_the_budget_grows(part: ModuleType) -> None:
    for x in (X_STAR, (0.13, 0.17, 0.56, 0.01, 0.83, 0.59), (0.9,) * 6):
        values = [part.hartmann6(x, budget) for budget in part.MF_RUNGS]
        assert values == sorted(values, reverse=True)
    gap = part.hartmann6(X_STAR, 1) - part.hartmann6(X_STAR, part.MF_TOP)
    assert 0 < gap < 0.1


def check_run(part: ModuleType, run: object, horizon: float) -> None:
    """Full-budget results in time order, within the horizon, none before a full budget's
    time, none below the minimum."""
    assert isinstance(run, part.Run)
    assert run.finished, "no config reached the full budget"
    times = [t for t, _ in run.finished]
    assert times == sorted(times)
    assert part.MF_TOP <= times[0] and times[-1] <= horizon
    assert all(value >= part.OPTIMUM - 1e-9 for _, value in run.finished)
    assert run.trials > len(run.finished)  # early stopping left some below the top


@pytest.mark.parametrize("name", ["asha random", "hyperband tpe"])
def test_paratune_runs_resume_and_report_full_budget_results(part: ModuleType, name: str) -> None:
    horizon = 3 * part.MF_TOP
    run = part.run_task((name, 4, horizon, 0))
    check_run(part, run, horizon)
    assert run.per_suggestion >= 0


@pytest.mark.parametrize("peer", ["optuna", "dehb"])
def test_peers_run_on_virtual_workers(part: ModuleType, peer: str) -> None:
    pytest.importorskip(peer)
    horizon = 3 * part.MF_TOP
    run = part.run_task((peer, 4, horizon, 0))
    check_run(part, run, horizon)
    # Four workers resuming promotions fit at most 4 x 3 full budgets' work in the horizon.
    assert len(run.finished) <= 12


def fake(part: ModuleType, finals: dict[str, list[tuple[float, float]]]) -> object:
    """A ModelData of one seed whose contenders reached the given (time, value) results."""
    data = part.ModelData(8, 10, 100.0, 1, list(finals))
    data.runs = {name: [part.Run(done, 5, 0.001)] for name, done in finals.items()}
    return data


def test_goal_passes_when_a_model_based_row_reaches_the_median_first(part: ModuleType) -> None:
    data = fake(
        part,
        {
            "asha random": [(90.0, -2.0)],
            "asha tpe": [(40.0, -3.0)],
            "hyperband gp": [(60.0, -2.5)],
            "dehb": [(70.0, -2.5)],
            "optuna": [(95.0, -1.0)],
        },
    )
    times, wins = part.times_to_median(data)
    assert times["asha tpe"] == [40.0] and times["hyperband gp"] == [60.0]
    assert times["asha random"] == [math.inf] and wins["asha tpe"] == 1
    table = part.model_table(data)
    judged = {row.contender: row.passed for row in table.rows if row.passed is not None}
    assert judged == {part.label("asha tpe"): True, part.label("hyperband gp"): True}


def test_goal_fails_when_a_peer_gets_there_sooner(part: ModuleType) -> None:
    data = fake(
        part,
        {
            "asha tpe": [(80.0, -3.0)],
            "asha gp": [(90.0, -2.0)],
            "dehb": [(30.0, -2.9)],
        },
    )
    table = part.model_table(data)
    judged = {row.contender: row.passed for row in table.rows if row.passed is not None}
    assert judged == {part.label("asha tpe"): False, part.label("asha gp"): False}
    assert any(part.label("dehb") in note for note in table.notes)


def test_labels_and_gaps(part: ModuleType) -> None:
    assert part.label("hyperband gp") == "paratune Hyperband, searcher='gp'"
    assert part.fmt_regret(part.OPTIMUM + 0.5) == "0.5000"
    assert part.fmt_regret(math.inf) == "-"
    names, missing = part.contenders()
    assert set(part.PARATUNE) <= set(names) and not set(names) & set(missing)
