"""B2 efficiency: how much of the workers' time goes to trials when every trial sleeps.

64 trials of 0.25 s on 8 workers (ideal wall time 2.0 s), and 1,024 trials of 0.05 s on 64
thread workers (ideal 0.8 s). Efficiency = work / (workers x wall), where work is the number
of trials run times their nominal duration and wall is measured around the whole call, pool
start-up included: the same formula for every contender. The process pools (paratune's,
Optuna's, and a bare ``ProcessPoolExecutor``, their ceiling) each run in a fresh interpreter
that imports only its own library (`_b2_processes`): a pool forks its driver, and a driver
holding every contender's imports starts and ends its workers more slowly.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    durable_store,
    fmt_eff,
    fmt_int,
    fmt_s,
    in_fresh_interpreter,
    installed,
    interleaved,
    main_for,
    medians,
    optuna_name,
    quiet_optuna,
    ratio,
    timed,
)

import paratune as pt

TITLE = "B2 efficiency"
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_b2_processes.py")
GOAL_THREADS = 0.99
GOAL_PROCESSES = 0.97
GOAL_WIDE = 0.95

Figures = dict[str, float]  # "wall", "trials" and, for paratune, "self" (its own efficiency)


def sleeper(seconds: float) -> Callable[[dict[str, Any], pt.Context], float]:
    """A paratune objective that spends ``seconds`` through `Context.elapse`."""

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(seconds)
        return float(config["x"])

    return objective


def paratune_run(executor: str, workers: int, n: int, seconds: float) -> Figures:
    """One run in this process, trials in memory (``store=None``)."""
    wall, result = timed(
        lambda: pt.tune(
            sleeper(seconds),
            {"x": pt.Float(0, 1)},
            executor=executor,
            workers=workers,
            max_trials=n,
            seed=0,
            store=None,
        )
    )
    return {"wall": wall, "trials": len(result.trial_list), "self": result.utilisation}


def forked(key: str, workers: int, n: int, seconds: float) -> Figures:
    """One run of a process-pool contender in a fresh interpreter (`_b2_processes`)."""
    return in_fresh_interpreter(CHILD, key, str(workers), str(n), str(seconds))


def optuna_threads(workers: int, n: int, seconds: float) -> Figures:
    import optuna

    quiet_optuna()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        time.sleep(seconds)
        return float(x)

    def go() -> int:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=n, n_jobs=workers)
        return len(study.trials)

    wall, trials = timed(go)
    return {"wall": wall, "trials": trials}


def thread_pool(workers: int, n: int, seconds: float) -> Figures:
    def trial(config: dict[str, float]) -> float:
        time.sleep(seconds)
        return config["x"]

    def go() -> int:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(trial, {"x": random.random()}) for _ in range(n)]
            return len([future.result() for future in futures])

    wall, trials = timed(go)
    return {"wall": wall, "trials": trials}


def efficiency(figures: Figures, workers: int, seconds: float) -> float:
    return figures["trials"] * seconds / (workers * figures["wall"])


def row(
    name: str,
    figures: Figures,
    workers: int,
    seconds: float,
    *,
    reference: float | None = None,
    goal: float | None = None,
) -> Row:
    """A table row; ``reference`` is paratune's efficiency to compare with."""
    eff = efficiency(figures, workers, seconds)
    cells = [
        fmt_int(figures["trials"]),
        fmt_s(figures["wall"]),
        fmt_eff(eff),
        fmt_eff(figures["self"]) if "self" in figures else "-",
    ]
    result = Row(name, cells)
    if goal is not None:
        result.goal, result.passed = f">= {goal:.2f}", eff >= goal
        result.achieved = f"efficiency {eff:.3f}"
    if reference is not None:
        result.ratio = ratio(reference, eff)
    return result


COLUMNS = ["trials", "wall s", "efficiency", "paratune's own"]


def guarded(
    failures: dict[str, str], key: str, fn: Callable[[], Figures]
) -> Callable[[], Figures]:
    """``fn``, recording a failure in ``failures`` (Optuna's SQLite storage can fail under
    contention) instead of raising."""

    def call() -> Figures:
        try:
            return fn()
        except RuntimeError as exc:
            failures[key] = str(exc)
            return {"wall": float("nan"), "trials": float("nan")}

    return call


def eight_workers(options: Options) -> Table:
    """Every contender on 8 workers, repetitions going round them; the process pools each
    in a fresh interpreter of their own."""
    n, seconds, workers = options.size(64, 16), 0.25, 8
    reps = options.reps(n * seconds / workers + 0.3)
    have_optuna, durable = installed("optuna"), durable_store()
    failures: dict[str, str] = {}
    plan: list[tuple[str, Callable[[], Figures], int]] = [
        ("threads", functools.partial(paratune_run, "threads", workers, n, seconds), reps),
        ("processes", functools.partial(forked, "paratune", workers, n, seconds), reps),
        ("pool", functools.partial(thread_pool, workers, n, seconds), reps),
        ("process pool", functools.partial(forked, "pool", workers, n, seconds), reps),
    ]
    if durable:
        plan.append(
            ("durable", functools.partial(forked, "paratune-durable", workers, n, seconds), reps)
        )
    if have_optuna:
        plan.append(("optuna", functools.partial(optuna_threads, workers, n, seconds), reps))
        for kind in ("journal", "sqlite"):
            job = functools.partial(forked, f"optuna-{kind}", workers, n, seconds)
            plan.append((kind, guarded(failures, kind, job), reps))
    got = {key: medians(runs) for key, runs in interleaved(plan).items()}
    table = Table(
        f"{TITLE}: {n} trials of {seconds} s on {workers} workers; {options.describe()}", COLUMNS
    )
    eff = {key: efficiency(figures, workers, seconds) for key, figures in got.items()}
    table.add(row("paratune threads", got["threads"], workers, seconds, goal=GOAL_THREADS))
    table.add(row("paratune processes", got["processes"], workers, seconds, goal=GOAL_PROCESSES))
    if durable:
        table.add(
            row("paratune processes, SQLite store (default)", got["durable"], workers, seconds)
        )
    if have_optuna:
        name = optuna_name()
        table.add(row(f"{name} n_jobs={workers} (threads)", got["optuna"], workers, seconds,
                      reference=eff["threads"]))  # fmt: skip
        for kind, label in (("journal", "JournalFileBackend"), ("sqlite", "SQLite")):
            if kind in failures:
                table.missing(f"{name} {workers} processes, {label}", "failed")
                table.notes.append(failures[kind])
                continue
            table.add(row(f"{name} {workers} processes, {label}", got[kind], workers, seconds,
                          reference=eff["durable" if durable else "processes"]))  # fmt: skip
    else:
        table.missing("Optuna n_jobs (threads)")
        table.missing("Optuna processes, journal / SQLite storage")
    table.add(row(f"ThreadPoolExecutor({workers}) loop", got["pool"], workers, seconds,
                  reference=eff["threads"]))  # fmt: skip
    table.add(row(f"ProcessPoolExecutor({workers}) loop", got["process pool"], workers, seconds,
                  reference=eff["processes"]))  # fmt: skip
    table.heavy_peers()
    table.notes += eight_worker_notes(got, durable)
    return table


def eight_worker_notes(got: dict[str, Figures], durable: bool) -> list[str]:
    drivers = ", ".join(
        f"{label} {got[key]['driver_mb']:.0f} MB"
        for key, label in (
            ("processes", "paratune"),
            ("journal", "Optuna"),
            ("process pool", "bare"),
        )
        if key in got and got[key].get("driver_mb") == got[key].get("driver_mb")  # not NaN
    )
    return [
        "efficiency = trials run x nominal duration / (workers x wall); wall is measured "
        "around the whole call (pool start-up, and for Optuna the storage set-up, included).",
        "paratune's own = result.utilisation: measured busy time / (workers x its own wall).",
        "Optuna's processes each run study.optimize on the shared storage with "
        "MaxTrialsCallback(n, states=(COMPLETE, RUNNING)); they may run a trial or two more.",
        "paratune runs with store=None (trials in memory) unless the row says otherwise.",
        "Process pools fork their driver once per worker, and a bigger driver starts and ends "
        "its workers more slowly: each process contender (paratune processes, Optuna's "
        "processes, ProcessPoolExecutor) runs in a fresh interpreter that imports only its own "
        f"library, as its user's script would (the driver when the call began: {drivers}); "
        "the interpreter's start and imports are not timed.",
        "paratune / peer > 1 means paratune keeps its workers busier. Optuna's process rows "
        "(durable storage) compare with paratune processes "
        + ("on its SQLite store" if durable else "in memory")
        + ", ProcessPoolExecutor with paratune processes in memory, the others with paratune "
        "threads. Repetitions go round the contenders.",
    ]


def many_threads(options: Options) -> Table:
    """Many thread workers, short trials."""
    n, seconds, workers = options.size(1024, 256), 0.05, 64
    reps = options.reps(n * seconds / workers + 0.3)
    wide = Table(
        f"{TITLE}: {n} trials of {seconds} s on {workers} thread workers; " + options.describe(),
        COLUMNS,
    )
    plan = [
        ("threads", functools.partial(paratune_run, "threads", workers, n, seconds), reps),
        ("pool", functools.partial(thread_pool, workers, n, seconds), reps),
    ]
    if installed("optuna"):
        plan.append(("optuna", functools.partial(optuna_threads, workers, n, seconds), reps))
    got = {key: medians(runs) for key, runs in interleaved(plan).items()}
    eff_threads = efficiency(got["threads"], workers, seconds)
    wide.add(row("paratune threads", got["threads"], workers, seconds, goal=GOAL_WIDE))
    if "optuna" in got:
        wide.add(row(f"{optuna_name()} n_jobs={workers} (threads)", got["optuna"], workers,
                     seconds, reference=eff_threads))  # fmt: skip
    else:
        wide.missing("Optuna n_jobs (threads)")
    wide.add(row(f"ThreadPoolExecutor({workers}) loop", got["pool"], workers, seconds,
                 reference=eff_threads))  # fmt: skip
    wide.heavy_peers()
    wide.notes.append("Same formula as above; ideal wall time is trials x duration / workers.")
    return wide


def run(options: Options) -> list[Table]:
    return [eight_workers(options), many_threads(options)]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
