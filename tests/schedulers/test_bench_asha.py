"""B17 (ASHA scale) measures what it says: its proxy passes every call through and counts
the jobs, each run is the stated simulated random search, and its tables judge the goals
from the figures they show."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from paratune.schedulers import ASHA, FIFO

from .._benchmarks import benchmark_module

SIZES = ((60, 8), (120, 30))


@pytest.fixture(scope="module")
def b17() -> Iterator[ModuleType]:
    """The benchmark's module, imported as its folder's scripts import each other."""
    yield from benchmark_module("b17_asha")


def test_runs_count_jobs_and_time_the_decisions(b17: ModuleType) -> None:
    fifo, asha = (b17.one_run(kind, 60, 8) for kind in ("fifo", "asha"))
    assert fifo.trials == fifo.jobs == 60
    assert asha.trials == 60 and 60 < asha.jobs < 60 * len(ASHA().budgets)
    for figures in (fifo, asha):
        assert 0 < figures.deciding < figures.seconds and figures.cpu > 0
    assert b17.TimedScheduler(ASHA()).prefers_random_order()
    assert not b17.TimedScheduler(FIFO()).prefers_random_order()
    stopping = b17.TimedScheduler(ASHA(max_budget=4, stopping=True))
    assert stopping.on_report(0, 1, 0.5) and stopping.seconds > 0


def test_tables_judge_the_goals_on_the_figures_shown(b17: ModuleType) -> None:
    found = {size: {kind: b17.one_run(kind, *size) for kind in b17.SCHEDULERS} for size in SIZES}
    table = b17.size_table(*SIZES[-1], found[SIZES[-1]], goal=True)
    fifo = found[SIZES[-1]]["fifo"]
    for row, kind in zip(table.rows, b17.SCHEDULERS, strict=True):
        if kind == "fifo":
            assert row.passed is None and row.ratio is None
            continue
        ratio = found[SIZES[-1]][kind].seconds / fifo.seconds
        assert row.ratio == pytest.approx(ratio)
        assert row.passed == (ratio <= b17.GOAL_TIMES)
    flat = b17.flat_table(SIZES, found)
    for row, kind in zip(flat.rows, b17.SCHEDULERS, strict=True):
        small, large = (b17.per_job_us(found[size][kind]) for size in SIZES)
        assert row.cells[-1] == f"{large / small:.2f}x"
        assert row.passed == (None if kind == "fifo" else large / small <= b17.FLAT)
    assert not b17.size_table(*SIZES[0], found[SIZES[0]], goal=False).goals()
