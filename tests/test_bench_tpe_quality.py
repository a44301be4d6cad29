"""The TPE quality benchmarks hold what they claim: B12's problems have the optima their
docstring states and refuse configs that break the space's conditions, and B8 judges a
TPE's gain over random search as its notes define it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from paratune.space import Space

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def benchmarks() -> Iterator[dict[str, ModuleType]]:
    """B8 and B12, imported as their folder's scripts import each other."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield {
            "b8": importlib.import_module("b8_quality"),
            "b12": importlib.import_module("b12_conditional"),
        }
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def b12(benchmarks: dict[str, ModuleType]) -> ModuleType:
    return benchmarks["b12"]


@pytest.fixture(scope="module")
def b8(benchmarks: dict[str, ModuleType]) -> ModuleType:
    return benchmarks["b8"]


def test_the_optimizer_problem_has_its_stated_optima(b12: ModuleType) -> None:
    loss = b12.optimizer_loss
    assert loss({"optimizer": "adam", "adam_lr": 1e-3, "beta1": 0.9, "beta2": 0.999}) == (
        pytest.approx(0.0, abs=1e-12)
    )
    assert loss({"optimizer": "sgd", "sgd_lr": 0.05, "momentum": 0.9}) == pytest.approx(0.08)
    assert loss({"optimizer": "rmsprop", "rmsprop_lr": 10**-2.5, "rho": 0.9}) == (
        pytest.approx(0.04)
    )
    # Moving off the optimum costs, in every branch.
    assert loss({"optimizer": "adam", "adam_lr": 1e-2, "beta1": 0.9, "beta2": 0.999}) > 0.04
    assert loss({"optimizer": "sgd", "sgd_lr": 0.05, "momentum": 0.5}) > 0.08


def test_few_adam_configs_beat_the_rmsprop_floor(b12: ModuleType) -> None:
    # The share the optimizer problem's docstring gives: 1.2% of uniform adam configs.
    rng = np.random.default_rng(0)
    low, high = np.log10(1e-5), np.log10(1e-1)
    configs = [
        {"optimizer": "adam", "adam_lr": 10 ** rng.uniform(low, high),
         "beta1": rng.uniform(0.5, 0.999), "beta2": rng.uniform(0.9, 0.9999)}
        for _ in range(20_000)
    ]  # fmt: skip
    share = np.mean([b12.optimizer_loss(config) < 0.04 for config in configs])
    assert 0.008 < share < 0.016


def test_the_layers_problem_is_best_at_three_layers(b12: ModuleType) -> None:
    loss = b12.layers_loss
    best = {"layers": 3, "units_1": 256, "units_2": 128, "units_3": 64}
    assert loss(best) == 0.0
    assert loss({**best, "layers": 4, "units_4": 64}) == pytest.approx(0.03)
    assert loss({"layers": 1, "units_1": 256}) == pytest.approx(0.30)
    assert loss({**best, "units_2": 256}) == pytest.approx(0.02)


def test_the_losses_refuse_configs_that_break_the_conditions(b12: ModuleType) -> None:
    with pytest.raises(ValueError, match="exactly"):
        b12.optimizer_loss({"optimizer": "sgd", "sgd_lr": 0.05, "momentum": 0.9, "rho": 0.9})
    with pytest.raises(ValueError, match="exactly"):
        b12.optimizer_loss({"optimizer": "adam", "adam_lr": 1e-3, "beta1": 0.9})
    with pytest.raises(ValueError, match="exactly"):
        b12.layers_loss({"layers": 2, "units_1": 64, "units_2": 64, "units_3": 64})


@pytest.mark.parametrize("key", ["optimizer", "layers"])
def test_paratune_configs_hold_exactly_the_parameters_each_loss_wants(
    b12: ModuleType, key: str
) -> None:
    problem = next(p for p in b12.PROBLEMS if p.key == key)
    space = Space(problem.space())
    configs = space.sample_many(np.random.default_rng(0), 200)
    values = [problem.loss(config) for config in configs]
    assert min(values) >= problem.minimum
    assert {problem.branch(config) for config in configs} >= {problem.best_branch}


def test_a_short_tpe_run_records_each_trial_and_its_branch(b12: ModuleType) -> None:
    run = b12.run_task(("layers", "paratune tpe", 8, 30, 0))
    assert not isinstance(run, str)
    assert len(run.values) == len(run.branches) == 30
    assert run.best(30) == min(run.values)
    assert run.best_branch(30) == run.branches[run.values.index(min(run.values))]
    assert run.best_branch(30).endswith("layers")


def test_b8_contenders_can_be_chosen_by_key(
    b8: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B8_CONTENDERS", "tpe, optuna-tpe-mv")
    chosen = b8.chosen_contenders()
    assert [c.label for c in chosen] == ["paratune tpe", "Optuna TPESampler (mv, liar)"]
    assert dict(chosen[1].options) == {"multivariate": True, "constant_liar": True}
    monkeypatch.setenv("B8_CONTENDERS", "tpe,hyperopt")
    with pytest.raises(SystemExit, match="hyperopt"):
        b8.chosen_contenders()


def _outcome(b8: ModuleType, medians: dict[tuple[str, int], float]) -> Any:
    """A B8 outcome whose runs of 200 trials have the given best values (one run each)."""
    plan = b8.Plan(b8.PROBLEMS[0], (200,), 1, 100, 1, b8.CONTENDERS)
    outcome = b8.Outcome(plan)
    for key, best in medians.items():
        outcome.runs[key] = [b8.Run([best + 1.0] * 199 + [best], 0.0)]
    return outcome


@pytest.mark.parametrize(
    ("tpe_on_8", "passed"), [(1.0, True), (1.1, True), (1.3, False), (3.5, False)]
)
def test_b8_judges_the_share_of_tpes_gain_kept_on_8_workers(
    b8: ModuleType, tpe_on_8: float, passed: bool
) -> None:
    # Random search 3.0, tpe 1.0 on 1 worker: a gain of 2.0, of which 90% is 1.8.
    outcome = _outcome(
        b8,
        {
            ("paratune random", 1): 3.0,
            ("paratune tpe", 1): 1.0,
            ("paratune tpe", 8): tpe_on_8,
        },
    )
    table = b8.tpe_gain_table([outcome])
    (row,) = [r for r in table.rows if r.contender.startswith("paratune tpe")]
    assert row.passed is passed
    assert row.cells[1] == "2"


def test_b8_fails_a_tpe_with_no_gain_over_random_search(b8: ModuleType) -> None:
    outcome = _outcome(
        b8,
        {("paratune random", 1): 1.0, ("paratune tpe", 1): 1.5, ("paratune tpe", 8): 1.5},
    )
    (row, *_) = b8.tpe_gain_table([outcome]).rows
    assert row.passed is False
    assert row.cells[3] == "-"
