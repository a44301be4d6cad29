"""B13's table of every searcher's time per suggestion, at small sizes: one row per searcher
and size, the goal judged at the largest size only, and positive figures. No timing is
asserted: the machine's load decides those."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest

from paratune.searchers import Grid

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def scale() -> Iterator[ModuleType]:
    """The table's module, imported as B13 imports it."""
    yield from benchmark_module("_searcher_scale")


def test_the_table_has_a_row_per_searcher_and_size_then_the_uncapped_gp(
    scale: ModuleType,
) -> None:
    table = scale.searcher_table((30, 60), (40,), suggestions=2)
    labels = [contender.label for contender in scale.CONTENDERS]
    expected = [label for label in labels for _ in (30, 60)] + [scale.GP_ALL.label]
    assert [row.contender for row in table.rows] == expected
    assert labels[:4] == ["random", "sobol", "lhs", "grid (5 x Int(0, 100))"]
    assert {row.cells[0] for row in table.rows} == {"30", "60", "40"}
    assert all(len(row.cells) == len(table.columns) for row in table.rows)
    assert all(row.cells[-1] == "2" for row in table.rows)  # suggestions timed
    judged = [row for row in table.rows if row.passed is not None]
    assert [row.contender for row in judged] == labels  # each searcher once, at 60
    assert all(row.cells[0] == "60" and row.goal == "< 0.156 s CPU" for row in judged)
    assert all(float(cell) > 0 for row in table.rows for cell in row.cells[2:4])
    for judged_row in table.rows:  # the CPU time as a share of the goal's 0.156 s
        cpu_s = float(judged_row.cells[3]) / 1e3
        assert judged_row.ratio == pytest.approx(cpu_s / scale.GOAL_S, rel=0.05, abs=1e-5)
    assert table.ratio_label == "CPU / 0.156 s"
    assert any("10 s / 64" in note for note in table.notes)


@pytest.mark.parametrize("index", range(7))
def test_every_searcher_gives_positive_figures(scale: ModuleType, index: int) -> None:
    contender = scale.CONTENDERS[index]
    figures = scale.measure(contender, 50, 3)
    assert figures.feed_s > 0 and figures.wall_ms > 0 and figures.cpu_ms > 0
    assert figures.suggestions == 3


def test_run_searchers_takes_the_quick_sizes_and_the_repeat_count(
    scale: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "QUICK_SIZES", (20, 25))
    monkeypatch.setattr(scale, "QUICK_GP_ALL_SIZES", (15, 30))
    table = scale.run_searchers(scale.Options(quick=True, repeat=1))
    assert len(table.rows) == 2 * len(scale.CONTENDERS) + 2
    assert [row.cells[0] for row in table.rows[-2:]] == ["15", "30"]
    assert {row.cells[-1] for row in table.rows} == {"1"}
    assert sum(row.passed is not None for row in table.rows) == len(scale.CONTENDERS)


def test_the_grid_searches_hundredths_of_the_unit_box(scale: ModuleType) -> None:
    point = [0.0, 0.123, 0.5, 0.996, 1.0]
    config = scale.config_at(point, True)
    assert config == {"x0": 0, "x1": 12, "x2": 50, "x3": 100, "x4": 100}
    assert scale.box(True).validate(config) == config
    assert np.allclose(scale.unit_point(config, True), [0.0, 0.12, 0.5, 1.0, 1.0])
    assert scale.unit_point(scale.config_at(point, False), False).tolist() == point
    grid = next(c for c in scale.CONTENDERS if c.on_grid)
    assert isinstance(scale.fresh(grid), Grid)


def test_a_finished_trial_is_scored_by_the_sphere(scale: ModuleType) -> None:
    config = scale.config_at([0.3, 0.3, 0.3, 0.3, 1.3], False)
    trial = scale.finished(7, config, False)
    assert trial.trial_id == 7 and trial.value == pytest.approx(1.0)
    assert scale.sphere(np.full(10, 0.3)) == 0.0


def test_cmaes_is_fed_by_its_own_suggestions_and_learns_from_them(scale: ModuleType) -> None:
    contender = next(c for c in scale.CONTENDERS if c.fed_own)
    searcher = scale.fresh(contender)
    population = searcher.population_size
    seconds = scale.feed(searcher, contender, 3 * population)
    assert seconds > 0
    assert searcher.generation == 3  # each generation was observed in full: CMA learned
    times = scale.suggestion_times(searcher, contender, 3 * population, 4)
    assert len(times) == 4 and all(wall >= 0 and cpu >= 0 for wall, cpu in times)


def test_the_gp_times_only_suggestions_past_its_design(scale: ModuleType) -> None:
    gp = next(c for c in scale.CONTENDERS if c.label == "gp")
    assert gp.untimed == scale.GP_UNTIMED == 10 + scale.WARM_UP
    searcher = scale.fresh(gp)
    scale.feed(searcher, gp, 20)
    scale.suggestion_times(searcher, gp, 20, 1)
    assert searcher._design == []  # the timed suggestion came from the model


def test_clocks_measure_cpu_work(scale: ModuleType) -> None:
    start = scale.clocks()
    deadline = time.process_time() + 0.01
    while time.process_time() < deadline:  # burn CPU: the CPU clock must move
        pass
    wall, cpu = scale.since(start)
    assert cpu >= 0.01 and wall > 0


def test_milliseconds_are_formatted_by_size(scale: ModuleType) -> None:
    assert scale.fmt_ms(0.0123) == "0.012"
    assert scale.fmt_ms(186.04) == "186.0"
