"""B15 measures what it says, at a small size: it makes the store once, reuses one of the
same size, reads it each way in a fresh process, and judges each reading by its goal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from paratune._browser import find_chromium

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def b15() -> Iterator[ModuleType]:
    """The benchmark's module, imported as its folder's scripts import each other."""
    yield from benchmark_module("b15_scale")


def test_the_readings_are_measured_and_judged(b15: ModuleType, tmp_path: Path) -> None:
    store = str(tmp_path / "b15.db")
    made, readings = b15.measure(store, 300)
    assert made is not None and made["per_s"] > 0 and b15.stored_trials(store) == 300
    assert set(readings) == set(b15.READINGS)
    assert all(r["seconds"] > 0 < r["cpu_s"] and r["peak_mb"] > 10 for r in readings.values())
    assert (tmp_path / "big.csv").read_text().count("\n") == 301  # a header and 300 rows
    table = b15.reading_table(300, readings)
    judged = {row.contender: row.passed for row in table.rows if row.passed is not None}
    assert len(judged) == len(b15.GOALS) and all(judged.values())
    again, _ = b15.measure(store, 300)
    assert again is None  # a store of that size is reused


def test_a_reading_over_its_goal_fails(b15: ModuleType) -> None:
    slow = {key: {"seconds": 0.5, "cpu_s": 0.5, "peak_mb": 100.0} for key in b15.READINGS}
    slow["load"] = {"seconds": 1.0, "cpu_s": 1.0, "peak_mb": 700.0}  # fast enough, too big
    rows = {row.contender: row for row in b15.reading_table(10, slow).rows}
    assert rows["pt.load(store, name)"].passed is False
    assert rows["paratune status NAME"].passed is True
    assert rows["paratune status NAME"].goal == "< 1 s"


@pytest.fixture(scope="module")
def screenshot() -> Iterator[ModuleType]:
    """The script that makes docs/report-1m.png."""
    yield from benchmark_module("report_screenshot")


def test_the_report_screenshot_is_of_a_page_that_loads_cleanly(
    screenshot: ModuleType, tmp_path: Path
) -> None:
    if find_chromium() is None:
        pytest.skip("no Chromium: install it (Debian: apt-get install chromium)")
    page, picture = tmp_path / "r.html", tmp_path / "r.png"
    said = screenshot.shoot(3000, page, picture)
    assert said.startswith("3,000 trials: report ") and said.endswith(f"screenshot: {picture}")
    assert "The 10 best of 2,9" in page.read_text()  # of those that did not fail
    assert picture.read_bytes().startswith(b"\x89PNG")
