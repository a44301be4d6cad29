"""B19 (the dashboard's server side) measures what it says: the watched run makes all its
trials while two tabs get answers from a dashboard in its own process, a run that makes
fewer is refused rather than timed, and the store's timings come from a real server
answering the whole experiment and then the 100 trials written since."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def b19() -> Iterator[ModuleType]:
    yield from benchmark_module("b19_dashboard")


def test_a_watched_run_makes_its_trials_while_the_tabs_poll(b19: ModuleType) -> None:
    alone = b19.watched_run(40, tabs=0)
    assert alone["wall"] > 0 and alone["polls"] == 0
    watched = b19.watched_run(40, tabs=2)
    assert watched["wall"] > 0 and watched["cpu"] >= 0


def test_a_run_that_ends_early_is_refused(
    b19: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(b19.pt, "tune", functools.partial(b19.pt.tune, max_time=1e-9))
    with pytest.raises(RuntimeError, match="expected 40"):
        b19.watched_run(40, tabs=0)


def test_the_store_timings_come_from_real_answers(
    b19: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(b19, "CACHE", tmp_path)
    path = b19.big_store(300)
    assert b19.big_store(300) == path  # kept: built once
    loads: dict[str, Any] = b19.first_loads(path)
    assert loads["first"] > 0 and loads["mb"] > 0.05
    polled = b19.polls(path, 300, 1, scheduler="asha")
    assert polled["still"] > 0 and polled["changed"] > 0
