"""B8 adapters holds what it claims: at 1 worker each library's own loop and its paratune
adapter make the same runs, and a side worse beyond seed noise fails the goal."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from ._benchmarks import benchmark_module


@pytest.fixture(scope="module")
def adapters() -> Iterator[ModuleType]:
    yield from benchmark_module("b8_adapters")


@pytest.mark.parametrize("pair", ["optuna", "nevergrad"])
def test_the_own_loop_and_the_adapter_make_the_same_run(adapters: ModuleType, pair: str) -> None:
    pytest.importorskip(pair)
    own = adapters.run_task(("branin", pair, "own", 12, 0))
    via = adapters.run_task(("branin", pair, "via", 12, 0))
    assert not isinstance(own, str) and not isinstance(via, str)
    assert len(own.values) == 12 and own.values == via.values


def outcome_of(adapters: ModuleType, own: list[float], via: list[float]) -> object:
    """A B8 outcome whose seeds' runs have these best values, on each side of the Optuna
    pair."""
    b8 = adapters.b8
    outcome = b8.Outcome(b8.Plan(b8.PROBLEMS[0], (10,), len(own), 10, len(own), ()))
    pair = adapters.PAIRS[0]
    for label, bests in ((pair.own_label, own), (pair.via_label, via)):
        outcome.runs[(label, 1)] = [b8.Run([best + 1.0] * 9 + [best], 0.0) for best in bests]
    return outcome


def test_an_adapter_worse_beyond_seed_noise_fails(adapters: ModuleType) -> None:
    pair = adapters.PAIRS[0]
    own = [0.40 + 0.01 * seed for seed in range(10)]
    same = adapters.pair_rows(outcome_of(adapters, own, own), pair)[1]
    assert same.passed is True and same.cells[-2] == "10/10"
    worse = adapters.pair_rows(outcome_of(adapters, own, [v + 0.5 for v in own]), pair)[1]
    assert worse.passed is False and worse.cells[-2] == "0/10"
    assert worse.cells[-1].endswith("(via worse)")
