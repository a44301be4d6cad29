"""Multi-fidelity schedulers want new configurations in random order (`RandomOrder`), and a
grid under one is shuffled with the seed: it then promotes about as many trials as random
search does, where the grid's own order had nearly every trial promoted."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.schedulers import (
    ASHA,
    FIFO,
    Hyperband,
    RandomOrder,
    Scheduler,
    SuccessiveHalving,
    prefers_random_order,
)
from paratune.searchers import Grid, Searcher
from paratune.searchers._order import shuffled_indices
from paratune.trial import Proposal, Trial

RATES = [1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4]
UNITS = [16, 32, 64, 128]
# 8 x 4 x 4 = 128 configs; the slowest parameter, "rate", gets better along the grid, so in
# the grid's order every new trial beats those before it.
SPACE = {"rate": pt.Choice(RATES), "units": pt.Choice(UNITS), "batch": pt.Choice(UNITS)}
TOP = 64


def ladder(config: dict[str, Any], ctx: pt.Context) -> float:
    """One virtual second an epoch, from the checkpoint; the ranking is the same at every
    rung."""
    ctx.load_checkpoint()
    assert ctx.budget is not None
    for _ in range(ctx.start_step, int(ctx.budget)):
        ctx.elapse(1.0)
    ctx.save_checkpoint("model")
    quality = (
        1.0
        - 0.1 * RATES.index(config["rate"])
        + 0.01 * UNITS.index(config["units"])
        + 0.001 * UNITS.index(config["batch"])
    )
    return quality * (1 + 1 / ctx.budget)


def asha_run(searcher: str | Searcher, *, seed: int, workers: int, folder: Path) -> pt.TuneResult:
    return pt.tune(
        ladder,
        SPACE,
        searcher=searcher,
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=TOP, eta=2),
        executor="simulated",
        workers=workers,
        max_trials=128,
        seed=seed,
        store=None,
        checkpoint_dir=folder / f"{seed}-{workers}",
    )


def promoted(result: pt.TuneResult) -> int:
    """Trials promoted past the first rung."""
    return sum(t.budget is not None and t.budget > 1 for t in result.trial_list)


def epochs(result: pt.TuneResult) -> float:
    """Epochs trained (each promotion resumes from its checkpoint)."""
    return sum(t.budget or 0 for t in result.trial_list)


# ----------------------------------------------------------------------------- the hook


class Plain:
    """A scheduler without the hook."""

    def next_job(self, suggest: Any) -> Proposal | None:
        return None

    def on_result(self, trial: Trial) -> None:
        return None

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        return True


@pytest.mark.parametrize(
    ("scheduler", "prefers"),
    [
        (ASHA(), True),
        (ASHA(stopping=True), True),
        (Hyperband(), True),
        (SuccessiveHalving(), True),
        (FIFO(), False),
        (Plain(), False),
    ],
)
def test_the_multi_fidelity_schedulers_prefer_random_order(
    scheduler: Scheduler, prefers: bool
) -> None:
    assert prefers_random_order(scheduler) is prefers
    assert isinstance(scheduler, RandomOrder) is prefers


# ----------------------------------------------------------------------------- promotions


def test_a_shuffled_grid_promotes_as_random_search_does(tmp_path: Path) -> None:
    searchers: dict[str, Any] = {
        "given": lambda: Grid(order="given"),
        "shuffled": lambda: Grid(order="shuffled"),
        "random": lambda: "random",
    }
    runs: dict[str, list[pt.TuneResult]] = {label: [] for label in searchers}
    for seed in range(3):
        for label, make in searchers.items():
            runs[label].append(asha_run(make(), seed=seed, workers=2, folder=tmp_path))

    def mean(label: str, figure: Callable[[pt.TuneResult], float]) -> float:
        return statistics.mean(figure(result) for result in runs[label])

    # The grid's order: nearly every trial beats those before it and goes up.
    assert mean("given", promoted) > 110 and mean("given", epochs) > 4000
    # Shuffled: about half go up, as with random search; a few reach the top rung.
    assert abs(mean("shuffled", promoted) - mean("random", promoted)) < 8
    assert mean("shuffled", promoted) < 80
    assert mean("shuffled", epochs) < 1.5 * mean("random", epochs)
    assert mean("shuffled", lambda r: sum(t.budget == TOP for t in r.trial_list)) < 12
    for result in runs["shuffled"]:  # every grid point, once
        assert sorted(repr(t.config) for t in result.trial_list) == sorted(
            map(repr, pt.Space(SPACE).grid())
        )


def test_the_shuffled_order_is_the_same_whatever_the_workers(tmp_path: Path) -> None:
    def configs(workers: int) -> list[Any]:
        result = asha_run(Grid(order="shuffled"), seed=4, workers=workers, folder=tmp_path)
        return [t.config for t in result.trial_list]

    one = configs(1)
    assert configs(8) == one
    grid = pt.Space(SPACE).grid()
    assert one == [grid[i] for i in shuffled_indices(grid.size, 4)]


# ----------------------------------------------------------------------------- through tune


@pytest.mark.parametrize(
    ("scheduler", "shuffled"),
    [("asha", True), ("successive_halving", True), ("hyperband", True), ("fifo", False)],
)
def test_tune_shuffles_a_grid_under_a_multi_fidelity_scheduler(
    scheduler: str, shuffled: bool
) -> None:
    space = {"a": pt.Int(0, 5), "b": ["x", "y", "z"]}
    result = pt.tune(
        lambda c, ctx: float(c["a"]),
        space,
        searcher="grid",
        scheduler=scheduler if scheduler == "fifo" else {"type": scheduler, "max_budget": 2},
        max_trials=18,
        seed=3,
        store=None,
    )
    grid = pt.Space(space).grid()
    expected = [grid[i] for i in shuffled_indices(18, 3)] if shuffled else list(grid)
    assert [t.config for t in result.trial_list] == expected


def test_tune_keeps_the_grid_order_when_asked(tmp_path: Path) -> None:
    result = asha_run(Grid(order="given"), seed=0, workers=2, folder=tmp_path)
    assert [t.config for t in result.trial_list] == list(pt.Space(SPACE).grid())
