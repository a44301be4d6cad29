"""B18 measures what it says: every contender runs the trials it is timed for, and a
contender that makes fewer trials than asked is refused rather than timed."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from types import ModuleType

import pytest

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def b18() -> Iterator[ModuleType]:
    yield from benchmark_module("b18_asktell")


@pytest.mark.parametrize("durable", [False, True])
def test_each_contender_runs_its_trials(b18: ModuleType, durable: bool) -> None:
    assert b18.asktell_run(40, durable=durable) > 0
    assert b18.tune_run(40, durable=durable) > 0
    if durable:
        pytest.importorskip("optuna")
    assert b18.optuna_run(10 if durable else 40, durable=durable) > 0


def test_an_experiment_that_ends_early_is_refused(
    b18: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    limited = functools.partial(b18.pt.AskTell, max_trials=3)
    monkeypatch.setattr(b18.pt, "AskTell", limited)
    with pytest.raises(AssertionError):
        b18.asktell_run(5, durable=False)  # ask() gives None after three
