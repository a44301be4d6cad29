"""B17 ASHA scale: what ASHA's and Hyperband's decisions cost as the trials grow, next to
random search with FIFO, in real time on the simulated executor.

Every run is ``pt.tune`` with ``searcher="random"``, ``executor="simulated"``,
``store=None`` and a trivial objective that declares one hour of virtual time per job
(``ctx.elapse(3600)``) and returns its one parameter; the schedulers are ``"fifo"``,
``"asha"`` and ``"hyperband"`` with their defaults (budgets 1 to 64, eta 2: 7 rungs).
1,000 trials run on 100 virtual workers, 10,000 and 100,000 on 10,000. The scheduler is
wrapped in a thin proxy that counts its jobs and times its own calls (``next_job``,
``on_result``, ``on_report``), so each row shows the whole run's real time and the part of it
spent deciding; the proxy costs every scheduler the same two clock reads per call.

ASHA runs each trial at the lowest rung and promotes the best 1/eta of each rung, so at eta 2
it runs about 2 jobs per trial (Hyperband about as many); FIFO runs one. Goals, at 100,000
trials: ASHA's and Hyperband's real time within 2x of FIFO's; and their decisions' cost per
job at most 1.5x what it is at 1,000 trials (it does not grow with the rungs).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_int,
    fmt_s,
    interleaved,
    main_for,
    median,
)

import paratune as pt
from paratune.schedulers import Scheduler, Suggest, make_scheduler
from paratune.trial import Proposal, Trial

TITLE = "B17 ASHA scale"
SCHEDULERS = ("fifo", "asha", "hyperband")
SIZES = ((1_000, 100), (10_000, 10_000), (100_000, 10_000))  # (trials, virtual workers)
QUICK_SIZES = ((1_000, 100), (10_000, 10_000))
HOUR = 3600.0
GOAL_TIMES = 2.0  # ASHA's and Hyperband's real time at most this many times FIFO's
FLAT = 1.5  # and their decisions' cost per job at most this many times that at 1,000 trials
SPACE = {"x": pt.Float(0.0, 1.0)}


def objective(config: dict[str, float], ctx: pt.Context) -> float:
    """One virtual hour, then the parameter as the loss."""
    ctx.elapse(HOUR)
    return config["x"]


class TimedScheduler:
    """A scheduler that counts the jobs it proposes and the real time its calls take."""

    def __init__(self, inner: Scheduler) -> None:
        self.inner = inner
        self.jobs = 0
        self.seconds = 0.0

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """The inner scheduler's proposal, timed and counted."""
        start = time.perf_counter()
        proposal = self.inner.next_job(suggest)
        self.seconds += time.perf_counter() - start
        self.jobs += proposal is not None
        return proposal

    def on_result(self, trial: Trial) -> None:
        """The inner scheduler's `on_result`, timed."""
        start = time.perf_counter()
        self.inner.on_result(trial)
        self.seconds += time.perf_counter() - start

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """The inner scheduler's `on_report`, timed."""
        start = time.perf_counter()
        go_on = self.inner.on_report(trial_id, step, loss)
        self.seconds += time.perf_counter() - start
        return go_on

    def prefers_random_order(self) -> bool:
        """What the inner scheduler prefers (False when it has no preference)."""
        return bool(getattr(self.inner, "prefers_random_order", lambda: False)())


@dataclass
class Figures:
    """One run: real and CPU seconds in all, real seconds in the scheduler's calls, trials
    and jobs run."""

    seconds: float
    cpu: float
    deciding: float
    trials: int
    jobs: int


def one_run(kind: str, trials: int, workers: int) -> Figures:
    """``trials`` random-search trials under scheduler ``kind`` on ``workers`` virtual
    workers, timed around the whole ``pt.tune`` call."""
    scheduler = TimedScheduler(make_scheduler(kind))
    start, cpu = time.perf_counter(), time.process_time()
    result = pt.tune(
        objective,
        SPACE,
        searcher="random",
        scheduler=scheduler,
        executor="simulated",
        workers=workers,
        max_trials=trials,
        store=None,
        seed=0,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Figures(seconds, cpu, scheduler.seconds, len(result.trial_list), scheduler.jobs)


def measure(trials: int, workers: int, options: Options) -> dict[str, Figures]:
    """Each scheduler's median figures at one size, runs going round the schedulers."""
    reps = options.reps(3.5 if trials >= 100_000 else 1.0)
    runs = interleaved(
        [(kind, functools.partial(one_run, kind, trials, workers), reps) for kind in SCHEDULERS]
    )
    return {
        kind: Figures(
            median(run.seconds for run in done),
            median(run.cpu for run in done),
            median(run.deciding for run in done),
            done[0].trials,
            done[0].jobs,
        )
        for kind, done in runs.items()
    }


def per_job_us(figures: Figures) -> float:
    """Microseconds of the scheduler's own calls per job."""
    return 1e6 * figures.deciding / figures.jobs if figures.jobs else float("nan")


def size_table(trials: int, workers: int, found: dict[str, Figures], goal: bool) -> Table:
    """One size's table, a row per scheduler; ``goal``: judge the time goal here."""
    table = Table(
        f"{TITLE}: {trials:,} trials on {workers:,} simulated workers; random search, one "
        "virtual hour per job, store=None",
        ["trials", "jobs", "jobs/trial", "real s", "CPU s", "trials/s", "jobs/s", "decide us/job"],
        ratio_label="real time / FIFO's",
    )
    fifo = found["fifo"]
    for kind in SCHEDULERS:
        figures = found[kind]
        row = Row(
            f"paratune random + {kind}",
            [
                fmt_int(figures.trials),
                fmt_int(figures.jobs),
                f"{figures.jobs / figures.trials:.2f}",
                fmt_s(figures.seconds, 2),
                fmt_s(figures.cpu, 2),
                fmt_int(figures.trials / figures.seconds),
                fmt_int(figures.jobs / figures.seconds),
                f"{per_job_us(figures):.1f}",
            ],
        )
        if kind != "fifo":
            row.ratio = figures.seconds / fifo.seconds
            if goal:
                row.goal, row.passed = f"<= {GOAL_TIMES:g}x FIFO's time", row.ratio <= GOAL_TIMES
                row.achieved = (
                    f"{row.ratio:.2f}x FIFO's real time ({figures.cpu / fifo.cpu:.2f}x its CPU)"
                )
        table.add(row)
    return table


def flat_table(sizes: tuple[tuple[int, int], ...], found: dict[Any, dict[str, Figures]]) -> Table:
    """The decisions' cost per job at each size, and its growth from the smallest size to
    the largest: the goal is that it does not grow with the trials."""
    small, large = sizes[0], sizes[-1]
    table = Table(
        f"{TITLE} (decisions): scheduler real microseconds per job, {small[0]:,} to "
        f"{large[0]:,} trials",
        [f"{trials:,} trials" for trials, _ in sizes] + ["largest / smallest"],
        ratio_label="-",
    )
    for kind in SCHEDULERS:
        costs = [per_job_us(found[size][kind]) for size in sizes]
        row = Row(f"paratune {kind}", [f"{cost:.1f}" for cost in costs])
        growth = costs[-1] / costs[0]
        row.cells.append(f"{growth:.2f}x")
        if kind != "fifo":
            row.goal, row.passed = f"<= {FLAT:g}x", growth <= FLAT
            row.achieved = f"{growth:.2f}x from {small[0]:,} to {large[0]:,} trials"
        table.add(row)
    table.notes += [
        "us/job: real microseconds inside the scheduler's next_job, on_result and on_report, "
        "per job, median run, the proxy's clock reads included; next_job includes the "
        "searcher's suggest for a new trial (FIFO's figure is mostly that).",
        "Before the rungs kept their candidates in heaps, ASHA rescanned the top 1/eta of a "
        "rung for every free worker: its cost per job grew with the trials.",
    ]
    return table


def run(options: Options) -> list[Table]:
    sizes = QUICK_SIZES if options.quick else SIZES
    found = {size: measure(*size, options) for size in sizes}
    tables = [size_table(*size, found[size], goal=size == sizes[-1]) for size in sizes]
    tables[-1].notes += [
        f"real s: the whole pt.tune call, {options.describe()}; CPU s: this process's CPU "
        "time over the same call; trials/s = trials / real s; jobs/s = jobs / real s (a "
        "promotion is a job of an existing trial).",
        f"Goal at the largest size: real time <= {GOAL_TIMES:g}x FIFO's. A job costs the "
        "tuner and the simulated executor about what a FIFO trial costs, and ASHA and "
        "Hyperband run about 2 jobs per trial at eta 2, so their ratio cannot fall below "
        "their jobs/trial plus their decisions' share.",
    ]
    return [*tables, flat_table(sizes, found)]


def main(argv: Any = None) -> None:
    main_for(TITLE, run, argv)


if __name__ == "__main__":
    main()
