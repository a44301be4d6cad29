"""The tables of docs/howto.md, "Reproduce a run", hold: each searcher it says gives the same
configurations whatever the executor and worker count does, on the simulated executor with
trials of random durations (so results arrive in another order at each worker count) and
on real threads; each that it says depends on the worker count or on the order results
arrive does, and on nothing it does not name. Likewise for the schedulers and the budgets
their trials reach."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paratune as pt

HOWTO = Path(__file__).resolve().parents[2] / "docs" / "howto.md"
SPACE = {"x": pt.Float(-2.0, 2.0), "n": pt.Int(1, 6)}
GRID_SPACE = {"n": pt.Int(1, 6), "kind": ["a", "b", "c"]}
TRIALS = 16

SEARCHERS: dict[str, Callable[[], Any]] = {
    '"grid"': lambda: "grid",
    '"random"': lambda: "random",
    '"sobol"': lambda: "sobol",
    '"lhs"': lambda: "lhs",
    "CMAES(popsize=8)": lambda: pt.searchers.CMAES(popsize=8),
    '"cmaes"': lambda: "cmaes",
    '"gp"': lambda: pt.searchers.GP(candidates=200),  # fewer than by default: quicker
    '"tpe"': lambda: "tpe",
}
"""The searchers of the table, by what its first column shows."""

SCHEDULERS: dict[str, Callable[[], Any]] = {
    '"fifo"': lambda: "fifo",
    "SuccessiveHalving": lambda: pt.schedulers.SuccessiveHalving("epochs", 1, 8, 2),
    "ASHA": lambda: pt.schedulers.ASHA("epochs", 1, 8, 2),
    "Hyperband": lambda: pt.schedulers.Hyperband("epochs", 1, 8, 2),
}
"""The schedulers of the second table; budgets 1, 2, 4 and 8."""


def table(header: str) -> dict[str, str]:
    """The rows of the howto's table whose first column is ``header``: the first column
    (without its backticks) and the second."""
    lines = HOWTO.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"| {header} |")))
    rows: dict[str, str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


def objective(durations: int) -> Callable[[dict[str, Any], pt.Context], float]:
    """A deterministic objective whose trials take random virtual durations, drawn from the
    trial's seed in stream ``durations``: a trial takes as long in every run of a stream."""

    def run(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(np.random.default_rng([ctx.seed, durations]).uniform(0.001, 0.01))
        loss = sum((float(value) - 0.3) ** 2 for value in config.values() if value != "b")
        return loss + 1.0 / float(ctx.budget or 1)

    return run


def trials(
    searcher: Any,
    *,
    workers: int,
    durations: int = 0,
    executor: str = "simulated",
    scheduler: Any = "fifo",
) -> list[tuple[dict[str, Any], Any]]:
    """Each trial's config and the budget it reached, in trial order."""
    space = GRID_SPACE if searcher == "grid" else SPACE
    result = pt.tune(
        objective(durations), space, searcher=searcher, scheduler=scheduler, executor=executor,
        workers=workers, max_trials=TRIALS, seed=3, store=None,
    )  # fmt: skip
    assert len(result.trial_list) == TRIALS
    return [(trial.config, trial.budget) for trial in result.trial_list]


def configs(run: list[tuple[dict[str, Any], Any]]) -> list[dict[str, Any]]:
    """The configs of a run, in trial order."""
    return [config for config, _ in run]


def test_the_tables_list_the_searchers_and_schedulers_tested_here() -> None:
    assert set(table("searcher")) == set(SEARCHERS)
    assert set(table("scheduler")) == set(SCHEDULERS)


@pytest.mark.parametrize("row", list(SEARCHERS))
def test_a_searcher_depends_on_what_the_table_says_and_on_nothing_else(row: str) -> None:
    said = table("searcher")[row]
    assert re.match(r"(yes|no: it depends on )", said), said
    make = SEARCHERS[row]
    one = configs(trials(make(), workers=1))
    four = configs(trials(make(), workers=4))
    other_order = configs(trials(make(), workers=4, durations=1))
    assert ("worker count" in said) is (one != four), said
    assert ("order results arrive" in said) is (four != other_order), said
    if said.startswith("yes"):
        assert configs(trials(make(), workers=3, executor="threads")) == one


@pytest.mark.parametrize("row", list(SCHEDULERS))
def test_a_scheduler_gives_the_same_budgets_where_the_table_says(row: str) -> None:
    said = table("scheduler")[row]
    make = SCHEDULERS[row]
    one = trials("random", workers=1, scheduler=make())
    eight = trials("random", workers=8, scheduler=make())
    other_order = trials("random", workers=8, durations=1, scheduler=make())
    # The configs follow the searcher alone, whatever the scheduler does with them.
    assert configs(one) == configs(eight) == configs(other_order)
    assert said.startswith("yes") is (one == eight == other_order), said
    if said.startswith("no"):
        assert eight != other_order, "the order results arrive changes nothing"
