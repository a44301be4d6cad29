"""B2's process-pool contenders run in fresh interpreters, each with only its own library."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType

import pytest

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def b2() -> Iterator[ModuleType]:
    yield from benchmark_module("b2_efficiency")


@pytest.mark.parametrize("key", ["paratune", "paratune-durable", "pool", "optuna-journal"])
def test_each_process_contender_runs_alone_and_reports_its_figures(
    b2: ModuleType, key: str
) -> None:
    if key.startswith("optuna") and importlib.util.find_spec("optuna") is None:
        pytest.skip("Optuna is not installed")
    figures = b2.forked(key, 2, 6, 0.01)
    assert figures["trials"] >= 6  # Optuna's processes may run one more
    assert 6 * 0.01 / 2 <= figures["wall"] < 30
    assert 0 < figures["driver_mb"] < 500
    assert ("self" in figures) == key.startswith("paratune")
    assert 0 < b2.efficiency(figures, 2, 0.01) <= 1


def test_an_unknown_contender_fails_by_name(b2: ModuleType) -> None:
    with pytest.raises(RuntimeError, match="unknown contender 'ray'"):
        b2.forked("ray", 2, 6, 0.01)
