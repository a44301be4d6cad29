"""The script that makes docs/pareto-front.png: a small ZDT1 run by nsga2, its report, and
the report's own front figure taken out of the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def screenshot() -> Iterator[ModuleType]:
    yield from benchmark_module("pareto_screenshot")


def test_the_picture_is_the_reports_front_figure(screenshot: ModuleType, tmp_path: Path) -> None:
    page, picture = tmp_path / "zdt1.html", tmp_path / "front.png"
    said = screenshot.shoot(40, 3, page, picture)
    assert said.startswith("40 trials, front of ") and said.endswith(f"figure {picture}")
    assert "<h2>Pareto front</h2>" in page.read_text()
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert picture.read_bytes() == screenshot.front_figure(page)


def test_a_page_without_the_front_figure_is_refused(
    screenshot: ModuleType, tmp_path: Path
) -> None:
    page = tmp_path / "plain.html"
    page.write_text("<!DOCTYPE html><html><body><h1>no front</h1></body></html>")
    with pytest.raises(SystemExit, match="no figure captioned 'The Pareto front'"):
        screenshot.front_figure(page)
