"""B4 CPU-bound trials: the speedup from 1 to 2 workers when trials hold the GIL.

Each trial runs a pure-Python loop calibrated once to about 0.1 s on this machine. 40 trials
run on 1 worker, then on 2; speedup = wall(1) / wall(2), wall measured around the whole call
(pool start-up included). Threads cannot speed up such trials; processes can, up to 2x on 2
cores.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_s,
    installed,
    main_for,
    median,
    medians,
    optuna_name,
    optuna_processes,
    quiet_optuna,
    ratio,
    timed,
)

import paratune as pt

TITLE = "B4 CPU-bound"
TARGET = 0.1  # seconds per trial
GOAL = 1.93

Figures = dict[str, float]  # "wall1", "wall2", "speedup"


def burn(n: int) -> float:
    """A pure-Python loop of ``n`` steps: holds the GIL the whole time."""
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def calibrate(target: float = TARGET) -> int:
    """The loop length that takes about ``target`` seconds here (median of 5 timings)."""
    n = 200_000
    for _ in range(3):  # converge
        seconds = timed(functools.partial(burn, n))[0]
        n = max(1, int(n * target / seconds))
    timings = [timed(functools.partial(burn, n))[0] for _ in range(5)]
    return max(1, int(n * target / median(timings)))


def objective(config: dict[str, Any]) -> float:
    """The paratune objective: burn ``config["n"]`` steps."""
    burn(config["n"])
    return float(config["x"])


def paratune_run(workers: int, trials: int, n: int) -> float:
    space = {"x": pt.Float(0, 1), "n": n}
    return timed(
        lambda: pt.tune(
            objective,
            space,
            executor="processes",
            workers=workers,
            max_trials=trials,
            seed=0,
            store=None,
        )
    )[0]


def _burn_many(count: int, n: int) -> None:
    for _ in range(count):
        burn(n)


def bare_processes(workers: int, trials: int, n: int) -> float:
    """The ceiling: ``workers`` plain processes, each given its share of the trials up front
    (no queue, no results, no tuner)."""

    def go() -> None:
        shares = [trials // workers + (i < trials % workers) for i in range(workers)]
        processes = [multiprocessing.Process(target=_burn_many, args=(k, n)) for k in shares]
        for process in processes:
            process.start()
        for process in processes:
            process.join()

    return timed(go)[0]


def pool_run(workers: int, trials: int, n: int) -> float:
    def go() -> list[float]:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(burn, n) for _ in range(trials)]
            return [future.result() for future in futures]

    return timed(go)[0]


def optuna_threads(workers: int, trials: int, n: int) -> float:
    import optuna

    quiet_optuna()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        burn(n)
        return float(x)

    def go() -> None:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=trials, n_jobs=workers)

    return timed(go)[0]


def optuna_journal(workers: int, trials: int, n: int) -> float:
    return optuna_processes("journal", workers, trials, functools.partial(burn, n))[0]


def speedup(run: Callable[[int, int, int], float], trials: int, n: int) -> Figures:
    """One repetition: the same contender on 1 worker, then on 2."""
    wall1 = run(1, trials, n)
    wall2 = run(2, trials, n)
    return {"wall1": wall1, "wall2": wall2, "speedup": wall1 / wall2}


def run(options: Options) -> list[Table]:
    trials = options.size(40, 10)
    n = calibrate()
    one = timed(functools.partial(burn, n))[0]
    reps = options.reps(1.5 * trials * one)
    table = Table(
        f"{TITLE}: {trials} trials of a ~{TARGET} s pure-Python loop, 1 vs 2 workers; "
        + ("1 run" if reps == 1 else f"median of {reps} runs"),
        ["wall 1 s", "wall 2 s", "speedup"],
    )

    def cells(figures: Figures) -> list[str]:
        return [fmt_s(figures["wall1"]), fmt_s(figures["wall2"]), f"{figures['speedup']:.3f}"]

    contenders: list[tuple[str, Callable[[int, int, int], float]]] = [
        ("paratune processes", paratune_run),
        ("bare processes, trials split up front (ceiling)", bare_processes),
        ("ProcessPoolExecutor, 1 future/trial", pool_run),
    ]
    if installed("optuna"):
        name = optuna_name()
        contenders += [
            (f"{name} n_jobs=1 vs 2 (threads)", optuna_threads),
            (f"{name} 1 vs 2 processes, JournalFileBackend", optuna_journal),
        ]
    # Repetitions go round the contenders, so a burst of other work on the machine falls on
    # all of them rather than on one.
    runs: dict[str, list[Figures]] = {label: [] for label, _ in contenders}
    for _ in range(reps):
        for label, fn in contenders:
            runs[label].append(speedup(fn, trials, n))
    mine = medians(runs["paratune processes"])
    for label, _ in contenders:
        figures = medians(runs[label])
        if label == "paratune processes":
            row = Row(label, cells(figures), goal=f">= {GOAL}", passed=figures["speedup"] >= GOAL)
            row.achieved = f"speedup {figures['speedup']:.3f}"
        else:
            row = Row(label, cells(figures), ratio=ratio(mine["speedup"], figures["speedup"]))
        table.add(row)
    if not installed("optuna"):
        table.missing("Optuna n_jobs (threads)")
        table.missing("Optuna processes, JournalFileBackend")
    table.heavy_peers()
    table.notes += [
        f"The loop is calibrated once: {n:,} steps took {one:.3f} s just before the runs; "
        f"ideal walls are {trials * one:.2f} s and {trials * one / 2:.2f} s.",
        "speedup = wall(1 worker) / wall(2 workers), the median of per-repetition ratios; "
        "paratune / peer = paratune's speedup / the row's. Each repetition runs every "
        "contender in turn.",
        "On a 2-core machine the driver, the workers and anything else running share the "
        "cores: the ceiling is 2.0, and the bare-processes row shows what this machine gives "
        "with no dispatch at all.",
    ]
    return [table]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
