"""B14 holds what it claims: its problems have the fronts their formulas give, and both of
its scripts, at their smallest, print tables whose hypervolumes are positive numbers."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest

from ._benchmarks import benchmark_module

SPREAD = re.compile(r"^(\d+(?:\.\d+)?) \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]$")


@pytest.fixture(scope="module")
def problems() -> Iterator[ModuleType]:
    yield from benchmark_module("_mo_problems")


@pytest.fixture(scope="module")
def b14() -> Iterator[ModuleType]:
    yield from benchmark_module("b14_multiobjective")


@pytest.fixture(scope="module")
def real() -> Iterator[ModuleType]:
    yield from benchmark_module("b14_real")


def positive_spread(cell: str) -> float:
    """The median of a ``median [q1, q3]`` cell, checked positive and between its quartiles."""
    found = SPREAD.match(cell)
    assert found is not None, cell
    mid, low, high = (float(part) for part in found.groups())
    assert 0 < low <= mid <= high
    return mid


def test_the_problems_fronts_have_their_known_volumes(problems: ModuleType) -> None:
    # ZDT1's front 1 - sqrt(f1) and ZDT2's 1 - f1^2 under (11, 11); DTLZ2's octant.
    volume = {p.key: p.best_volume() for p in problems.PROBLEMS}
    assert volume["zdt1"] == pytest.approx(121 - 1 / 3, abs=1e-4)
    assert volume["zdt2"] == pytest.approx(121 - 2 / 3, abs=1e-4)
    assert volume["dtlz2"] == pytest.approx(2.5**3 - math.pi / 6)
    on_front = problems.zdt1([0.25] + [0.0] * 29)
    assert on_front == pytest.approx((0.25, 0.5))
    assert problems.dtlz2([0.3, 0.7] + [0.5] * 10) == pytest.approx(
        (math.cos(0.15 * math.pi) * math.cos(0.35 * math.pi),
         math.cos(0.15 * math.pi) * math.sin(0.35 * math.pi), math.sin(0.15 * math.pi))
    )  # fmt: skip
    # Every point of the box lies inside the reference, so random points score from the start.
    rng = np.random.default_rng(0)
    for problem in problems.PROBLEMS:
        points = np.array([problem.fn(list(x)) for x in rng.random((200, problem.variables))])
        assert np.all(points < np.array(problem.reference))
        assert (
            0
            < problems.volume_after(points.tolist(), 200, problem.reference)
            < volume[problem.key]
        )


def test_the_quality_tables_at_their_smallest(b14: ModuleType) -> None:
    settings = b14.Settings(
        problems=(b14.problem_named("zdt1"),),
        budgets=(6, 12),
        seeds=1,
        workers=(1, 8),
        contenders=tuple(
            b14.contender_named(key) for key in ("nsga2", "random", "optuna-nsga2", "optuna-tpe")
        ),
    )
    quality, goals, times = b14.run_settings(settings)
    assert len(quality.rows) == 4 * 2
    for row in quality.rows:
        assert row.cells[0] == "1"
        assert all(positive_spread(cell) < 121 for cell in row.cells[1:3])
        assert row.ratio is not None and row.ratio > 0
    labels = [row.contender for row in goals.rows]
    assert labels == ["ZDT1 @6, 1 worker", "ZDT1 @6, 8 workers", "ZDT1 @12, 1 worker",
                      "ZDT1 @12, 8 workers"]  # fmt: skip
    for row in goals.rows:
        assert row.passed is not None and row.goal == ">= Optuna best"
        assert row.ratio is not None and row.ratio > 0
        assert row.cells[0].endswith(("(nsga2)", "(random)"))
    assert len(times.rows) == 8
    assert "PASS" in goals.render() or "FAIL" in goals.render()


def test_the_command_line_picks_what_runs(b14: ModuleType) -> None:
    settings = b14.settings_from(
        ["--seeds", "2", "--budgets", "50,20", "--problems", "dtlz2", "--workers", "8",
         "--methods", "gp,optuna-random", "--gp-budget", "30"]
    )  # fmt: skip
    assert settings.budgets == (20, 50) and settings.seeds == 2 and settings.workers == (8,)
    assert [c.key for c in settings.contenders] == ["gp", "optuna-random"]
    assert settings.length(settings.contenders[0]) == 30
    assert settings.length(settings.contenders[1]) == 50
    default = b14.settings_from([])
    assert default.budgets == (200, 500) and default.seeds == 10
    assert [p.key for p in default.problems] == ["zdt1", "zdt2", "zdt3", "dtlz2"]
    with pytest.raises(SystemExit):
        b14.settings_from(["--methods", "nope"])


def test_the_real_workload_at_its_smallest(
    real: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rungs of 1 and 3 epochs: FIFO's trials end well inside 2 s even on a busy machine.
    monkeypatch.setattr(real, "MAX_EPOCHS", 3)
    (found,) = real.run_with(seeds=1, seconds=2.0, workers=2)
    assert [row.contender for row in found.rows] == [c.label for c in real.CONTENDERS]
    for row in found.rows:
        assert int(row.cells[1]) > 0  # configurations tried
        assert 0 <= float(row.cells[3]) < 1  # the least validation error
        assert positive_spread(row.cells[4]) < real.IDEAL
        gap = real.IDEAL - positive_spread(row.cells[4])
        assert float(row.cells[6]) == pytest.approx(gap, abs=2e-4)
    # The FIFO trials all train to the end, so both of its hypervolumes are the same.
    assert found.rows[-1].cells[4] == found.rows[-1].cells[5]
    assert real.parameters(1, 8) == 65 * 8 + 9 * 10
