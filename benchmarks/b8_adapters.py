"""B8 adapters: another library's optimiser through paratune finds what it finds in its own
loop.

On B8's problems and seeds, at 1 worker: Optuna's TPESampler through paratune's
OptunaSearcher against Optuna's ``study.optimize``, and Nevergrad's TwoPointsDE through
NevergradSearcher against Nevergrad's own ask-and-tell loop. One run of each per seed; the
best value among the first 50, 100 and 200 trials, median and quartiles over the seeds;
the adapter is held equal to the library's own loop within seed noise, by the test B8 uses
for its gaps (one-sided Mann-Whitney U, p >= 0.05), in both directions.

    python benchmarks/b8_adapters.py            # B8's four problems, 10 seeds, 200 trials
    python benchmarks/b8_adapters.py --quick    # Branin, 2 seeds, 40 trials
    B8_PROBLEMS=branin,hartmann6 python benchmarks/b8_adapters.py --jobs 2
    B8_NEVERGRAD=NGOpt python benchmarks/b8_adapters.py

The full run takes about 7 minutes on one core, 5 with --jobs 2 (Lotka-Volterra's solves
are most of it).
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import b8_quality as b8
import numpy as np
from _common import (
    DASH,
    Options,
    Row,
    Table,
    installed,
    main_for,
    quiet_optuna,
    ratio,
    version,
)

import paratune as pt

TITLE = "B8 adapters"
# TwoPointsDE, not NevergradSearcher's default NGOpt: Nevergrad 1.0.12's MetaModel, which
# NGOpt picks for Branin at 200 trials, raises a TypeError on NumPy >= 2.4 (in its own loop
# as through paratune). B8_NEVERGRAD=NGOpt (or another name) measures another.
NEVERGRAD_OPTIMIZER = os.environ.get("B8_NEVERGRAD", "TwoPointsDE")
ALPHA = 0.05  # p below this in either direction: the two differ beyond seed noise


@dataclass(frozen=True)
class Pair:
    """A library's optimiser in its own loop (``own``) and through paratune (``via``)."""

    key: str
    library: str  # the module that must be installed
    own_label: str
    via_label: str
    own: Callable[[b8.Problem, int, int], b8.Run]
    via: Callable[[b8.Problem, int, int], b8.Run]


def paratune_run(problem: b8.Problem, searcher: Any, budget: int, seed: int) -> b8.Run:
    """``pt.tune`` on 1 worker, as B8 runs paratune's own searchers."""
    objective = b8.Counted(problem)
    start = time.perf_counter()
    result = pt.tune(objective, problem.space(), searcher=searcher, executor="simulated",
                     workers=1, max_trials=budget, seed=seed, store=None)  # fmt: skip
    wall = time.perf_counter() - start
    trials = sorted(result.trial_list, key=lambda trial: trial.trial_id)
    values = [math.inf if t.value is None else float(t.value) for t in trials]
    return b8.Run(values, wall - objective.seconds)


def optuna_own(problem: b8.Problem, budget: int, seed: int) -> b8.Run:
    """``study.optimize`` with ``TPESampler(seed=seed)``: B8's own Optuna run."""
    return b8.optuna_run(problem, "TPESampler", 1, budget, seed)


def optuna_via(problem: b8.Problem, budget: int, seed: int) -> b8.Run:
    """``OptunaSearcher`` making ``TPESampler(seed=seed)`` from the experiment seed."""
    import optuna

    from paratune.optuna import OptunaSearcher

    quiet_optuna()
    searcher = OptunaSearcher(lambda s: optuna.samplers.TPESampler(seed=s))
    return paratune_run(problem, searcher, budget, seed)


def nevergrad_own(problem: b8.Problem, budget: int, seed: int) -> b8.Run:
    """The optimiser's ask-and-tell loop over ``ng.p.Dict`` of bounded scalars, seeded through the
    parametrization's ``random_state``: what ``optimizer.minimize`` does on 1 worker."""
    ng: Any = importlib.import_module("nevergrad")
    params = {name: ng.p.Scalar(lower=low, upper=high) for name, low, high in problem.params}
    parametrization = ng.p.Dict(**params)
    parametrization.random_state = np.random.RandomState(seed)
    objective = b8.Counted(problem)
    values: list[float] = []
    start = time.perf_counter()
    optimizer = ng.optimizers.registry[NEVERGRAD_OPTIMIZER](
        parametrization, budget=budget, num_workers=1
    )
    for _ in range(budget):
        candidate = optimizer.ask()
        value = objective(candidate.value)
        optimizer.tell(candidate, value)
        values.append(value)
    return b8.Run(values, time.perf_counter() - start - objective.seconds)


def nevergrad_via(problem: b8.Problem, budget: int, seed: int) -> b8.Run:
    """``NevergradSearcher(name)``, its budget the run's ``max_trials``."""
    from paratune.nevergrad import NevergradSearcher

    return paratune_run(problem, NevergradSearcher(NEVERGRAD_OPTIMIZER), budget, seed)


PAIRS = (
    Pair("optuna", "optuna", "Optuna TPESampler, study.optimize",
         "Optuna TPESampler via OptunaSearcher", optuna_own, optuna_via),
    Pair("nevergrad", "nevergrad", f"Nevergrad {NEVERGRAD_OPTIMIZER}, own ask/tell loop",
         f"Nevergrad {NEVERGRAD_OPTIMIZER} via NevergradSearcher", nevergrad_own, nevergrad_via),
)  # fmt: skip

# The problem's key, the pair's key, "own" or "via", the trials and the seed.
Task = tuple[str, str, str, int, int]


def run_task(task: Task) -> b8.Run | str:
    """One run, or why it failed (its traceback goes to stderr)."""
    key, pair_key, side, budget, seed = task
    problem = next(problem for problem in b8.PROBLEMS if problem.key == key)
    pair = next(pair for pair in PAIRS if pair.key == pair_key)
    try:
        with warnings.catch_warnings():
            # scipy's COBYLA (NGOpt's choice for a small budget per dimension) says that
            # it adjusts the final trust radius Nevergrad gives it: on both sides alike.
            warnings.filterwarnings("ignore", message="COBYLA", category=UserWarning)
            return (pair.own if side == "own" else pair.via)(problem, budget, seed)
    except Exception as exc:  # a side that breaks gets a row that says so
        traceback.print_exc(file=sys.stderr)
        return f"failed: {type(exc).__name__}"


def measure(problem: b8.Problem, budgets: tuple[int, ...], seeds: int, jobs: int) -> b8.Outcome:
    """Both sides of every installed pair on ``problem``, seed after seed; the runs keyed
    by (label, 1) as B8 keys its own, so that its noise test reads them."""
    plan = b8.Plan(problem, budgets, seeds, max(budgets), seeds, ())
    outcome = b8.Outcome(plan)
    began = time.perf_counter()
    pairs = [pair for pair in PAIRS if installed(pair.library)]
    for pair in PAIRS:
        if pair not in pairs:
            outcome.missing[(pair.own_label, 1)] = outcome.missing[(pair.via_label, 1)] = (
                "not installed"
            )
    tasks: list[Task] = [
        (problem.key, pair.key, side, max(budgets), seed)
        for seed in range(seeds)
        for pair in pairs
        for side in ("own", "via")
    ]
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = list(pool.imap(run_task, tasks, chunksize=1))
    else:
        results = [run_task(task) for task in tasks]
    for (_, pair_key, side, _, _), result in zip(tasks, results, strict=True):
        pair = next(pair for pair in PAIRS if pair.key == pair_key)
        key = (pair.own_label if side == "own" else pair.via_label, 1)
        if isinstance(result, str):
            outcome.missing[key] = result
        else:
            outcome.runs.setdefault(key, []).append(result)
    outcome.seconds = time.perf_counter() - began
    return outcome


def identical(outcome: b8.Outcome, pair: Pair) -> int:
    """How many seeds gave the two sides the very same values, trial by trial."""
    own = outcome.runs.get((pair.own_label, 1), [])
    via = outcome.runs.get((pair.via_label, 1), [])
    return sum(1 for a, b in zip(own, via, strict=False) if a.values == b.values)


def least_p(outcome: b8.Outcome, pair: Pair) -> tuple[float, str]:
    """The smallest p-value of B8's test over the budgets, in both directions, and which
    side it says is worse there."""
    mine, theirs = (pair.via_label, 1), (pair.own_label, 1)
    found = [
        (b8.worse_p(outcome, mine, theirs, budget), "via worse") for budget in outcome.plan.budgets
    ]
    found += [(b8.worse_p(outcome, theirs, mine, budget), "own worse")
              for budget in outcome.plan.budgets]  # fmt: skip
    return min(found, key=lambda item: item[0])


def pair_rows(outcome: b8.Outcome, pair: Pair) -> list[Row]:
    """The library's own row and the adapter's, judged against it."""
    rows = []
    for label in (pair.own_label, pair.via_label):
        key = (label, 1)
        runs = outcome.runs.get(key, [])
        cells = [str(len(runs))]
        for budget in outcome.plan.budgets:
            values = b8.bests(outcome, key, budget)
            cells.append(DASH if values is None else b8.fmt_spread(values))
        cells.append(b8.fmt_ms(b8.tool_ms(runs)) if runs else DASH)
        rows.append(Row(label, cells))
    via = rows[1]
    if (pair.own_label, 1) in outcome.missing or (pair.via_label, 1) in outcome.missing:
        return rows
    same = identical(outcome, pair)
    p, side = least_p(outcome, pair)
    shown = f"{p:.2f}" + (f" ({side})" if p < ALPHA else "")
    via.cells += [f"{same}/{len(outcome.runs[(pair.via_label, 1)])}", shown]
    via.ratio = ratio(b8.tool_ms(outcome.runs[(pair.via_label, 1)]),
                      b8.tool_ms(outcome.runs[(pair.own_label, 1)]))  # fmt: skip
    via.goal = f"= own loop within seed noise (p >= {ALPHA:g})"
    via.passed = not p < ALPHA  # NaN where every value ties: the same
    via.achieved = f"{same} identical runs, least p {p:.2f}"
    return rows


def quality_table(outcome: b8.Outcome) -> Table:
    plan = outcome.plan
    budgets = "/".join(str(b) for b in plan.budgets)
    table = Table(
        f"{TITLE}: {plan.problem.label}; best value after {budgets} evaluations, median "
        f"[q1, q3] over {plan.seeds} seeds, 1 worker",
        ["seeds", *(f"best @{b}" for b in plan.budgets), "tool ms/trial", "identical",
         "least p"],
        ratio_label="via / own ms",
    )  # fmt: skip
    for pair in PAIRS:
        for row in pair_rows(outcome, pair):
            why = outcome.missing.get((row.contender, 1))
            if why is not None:
                table.missing(row.contender, why)
                continue
            row.cells += [DASH] * (len(table.columns) - len(row.cells))
            table.add(row)
    table.notes += [
        "best @N: the least value among the first N trials in trial-id order, from one run "
        f"of {max(plan.budgets)} trials per seed (seeds 0, 1, ...), as in B8.",
        "Optuna: TPESampler(seed=s) in study.optimize, against pt.tune(..., searcher="
        "OptunaSearcher(lambda s: TPESampler(seed=s)), executor='simulated', workers=1, "
        "seed=s, store=None).",
        f"Nevergrad: {NEVERGRAD_OPTIMIZER} over ng.p.Dict of ng.p.Scalar(lower, upper) with "
        "random_state RandomState(s), budget the run's trials, num_workers 1, asked and told "
        "in turn, "
        f"against pt.tune(..., searcher=NevergradSearcher('{NEVERGRAD_OPTIMIZER}'), ...) "
        "as above (its budget: max_trials).",
        "TwoPointsDE rather than NGOpt (NevergradSearcher's default) by default: Nevergrad "
        "1.0.12's MetaModel, NGOpt's choice for Branin at 200 trials, raises a TypeError on "
        "NumPy >= 2.4, in its own loop as through paratune; B8_NEVERGRAD names another.",
        "identical: seeds whose two runs gave the same values, trial by trial.",
        "least p: the smallest p-value of B8's test (one-sided Mann-Whitney U over the "
        "seeds' bests) at any budget, in either direction; goal: p >= "
        f"{ALPHA:g}, no difference beyond seed noise (below it, the side found worse).",
        "tool ms/trial: (wall time - time in the objective) / trials, median over the seeds; "
        "via / own ms: the adapter's over its library's own loop's.",
        f"this problem took {outcome.seconds:.0f} s; "
        + ", ".join(f"{pair.library} {version(pair.library)}" for pair in PAIRS),
    ]
    return table


def run(options: Options) -> list[Table]:
    problems: tuple[b8.Problem, ...]
    budgets: tuple[int, ...]
    if options.quick:
        problems = (b8.PROBLEMS[0],)
        budgets, seeds = (b8.QUICK_BUDGET,), options.repeat or b8.QUICK_SEEDS
    else:
        problems, budgets, seeds = b8.chosen_problems(), b8.BUDGETS, options.repeat or b8.SEEDS
    outcomes = [measure(problem, budgets, seeds, options.jobs) for problem in problems]
    return [quality_table(outcome) for outcome in outcomes]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
