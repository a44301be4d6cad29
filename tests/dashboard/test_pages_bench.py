"""B19's page side measures what it says at a small size (a real store, the real server, a
real Chromium) and judges each figure by its goal."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from paratune._browser import find_chromium

from .._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def b19() -> Iterator[ModuleType]:
    """The benchmark's module, imported as its folder's scripts import each other."""
    yield from benchmark_module("b19_dashboard_page")


def test_the_page_is_measured_and_judged(b19: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium on this machine: apt-get install chromium (.ci/run does)")
    monkeypatch.setattr(b19, "VISITS", 1)  # one visit per browser: a quicker smoke run
    found = b19.measure(200, 1)
    view, again, whole = found["view"][0], found["again"][0], found["whole"][0]
    assert 0 < view["tableAt"] <= view["drawnAt"] and 0 < again["drawnAt"]
    assert 0 < whole["tableAt"] <= whole["allDrawnAt"]
    assert len(found["painted"]) == len(b19.FILTERS) == len(found["work"])
    pairs = zip(found["work"], found["painted"], strict=True)
    assert all(0 <= work <= painted for work, painted in pairs)
    assert found["server"]["read"] > 0 and found["server"]["efficiency"] > 0
    loads, filters = b19.tables(200, 1, found)
    assert [row.passed is not None for row in loads.rows] == [True, False, False]
    assert filters.rows[0].passed is True  # 200 trials filter well within 200 ms


def test_a_slow_page_fails_its_goals(b19: ModuleType) -> None:
    slow = {"tableAt": 1500.0, "drawnAt": 2500.0, "allDrawnAt": 9000.0}
    found = {"view": [slow], "again": [slow], "whole": [slow], "painted": [250.0] * 3,
             "work": [120.0] * 3, "server": {"read": 1.0, "efficiency": 2.0}}  # fmt: skip
    loads, filters = b19.tables(100_000, 1, found)
    assert loads.rows[0].passed is False and loads.rows[0].achieved == "2.50 s"
    assert filters.rows[0].passed is False and filters.rows[0].achieved == "250 ms"
    assert "1.00 s for the trials and 2.00 s" in " ".join(loads.notes)
