"""B15 scale: a million trials in an SQLite store, read back: the run itself, `pt.load`,
``result.trials``, ``paratune status NAME`` and ``paratune export`` (Parquet and CSV), next to
Optuna at 100,000 trials in memory.

The store is made by a serial run of a trivial objective (``c["x"]`` over one float); each
reading then runs in a fresh interpreter (this file with ``--child WHAT STORE N``), which
imports paratune and pandas first, times only the reading itself, and reports its peak
resident memory (VmHWM, as B6 reads it). ``--trials`` sets the size (default 1,000,000;
100,000 under ``--quick``), ``--store`` keeps the store for a later run (one of the same size
is reused). Optuna runs ``study.optimize`` with its RandomSampler in memory, then
``study.trials_dataframe()``, at 100,000 trials at most (it takes about a minute there).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

from _common import (
    Options,
    Row,
    Table,
    add_option_arguments,
    fmt_int,
    fmt_mb,
    fmt_s,
    in_fresh_interpreter,
    installed,
    options_from,
    optuna_name,
    print_header,
    quiet_optuna,
    scratch_file,
)
from b6_scale import peak_mb

TITLE = "B15 scale"
NAME = "big"
OPTUNA_TRIALS = 100_000
# What each reading must take at 1,000,000 trials: seconds, and MB of peak memory or None.
GOALS: dict[str, tuple[float, float | None]] = {
    "load": (3.0, 600.0),
    "status": (1.0, None),
    "parquet": (5.0, None),
    "csv": (10.0, None),
}
READINGS = {
    "load": "pt.load(store, name)",
    "trials": "pt.load(store, name).trials (the DataFrame)",
    "status": "paratune status NAME",
    "parquet": "paratune export NAME --format parquet",
    "csv": "paratune export NAME --format csv",
}

Figures = dict[str, float]


# ---- in the child process --------------------------------------------------------------------


def child_run(store: str, n: int) -> Figures:
    """Make the store: ``n`` serial trials of a trivial objective."""
    import paratune as pt

    start = time.perf_counter()
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, executor="serial", max_trials=n,
            store=store, name=NAME)  # fmt: skip
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_s": n / seconds, "peak_mb": peak_mb()}


def child_read(what: str, store: str) -> Figures:
    """Time one reading of the store, after the imports it shares with every other."""
    import pandas  # noqa: F401  # a table's library is not part of its reading

    import paratune as pt
    from paratune.cli import cli

    out = os.path.join(os.path.dirname(store), f"{NAME}.{what}")
    export = ["export", NAME, "--out", out, "--store", store, "--format"]
    commands: dict[str, Callable[[], object]] = {
        "load": lambda: pt.load(store, NAME),
        "trials": lambda: pt.load(store, NAME).trials,
        "status": lambda: cli(["status", NAME, "--store", store], standalone_mode=False),
        "parquet": lambda: cli([*export, "parquet"], standalone_mode=False),
        "csv": lambda: cli([*export, "csv"], standalone_mode=False),
    }
    cpu, start = time.process_time(), time.perf_counter()
    commands[what]()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": peak_mb()}


def child_optuna(n: int) -> Figures:
    """Optuna's run of ``n`` trivial trials in memory, and its trials table."""
    import optuna

    quiet_optuna()
    start = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=n)
    seconds = time.perf_counter() - start
    run_peak = peak_mb()
    start = time.perf_counter()
    study.trials_dataframe()
    return {
        "seconds": seconds,
        "per_s": n / seconds,
        "run_peak_mb": run_peak,
        "frame_s": time.perf_counter() - start,
        "peak_mb": peak_mb(),
    }


def child(argv: list[str]) -> None:
    """Run one measurement and print its figures as JSON on the last line."""
    what = argv[0]
    if what == "run":
        figures = child_run(argv[1], int(argv[2]))
    elif what == "optuna":
        figures = child_optuna(int(argv[1]))
    else:
        figures = child_read(what, argv[1])
    print(json.dumps(figures))


# ---- in the parent --------------------------------------------------------------------------


def spawn(*args: str) -> Figures:
    """Run a measurement in a fresh interpreter (its output discarded) and read its figures."""
    return in_fresh_interpreter(os.path.abspath(__file__), "--child", *args)


def stored_trials(store: str) -> int:
    """How many trials experiment ``big`` holds in ``store`` (0 when there is none)."""
    import sqlite3

    if not os.path.exists(store):
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT count(*) FROM trials WHERE experiment = ?", (NAME,)).fetchone()
    except sqlite3.Error:
        return 0
    finally:
        db.close()
    return int(row[0])


def measure(store: str, n: int) -> tuple[Figures | None, dict[str, Figures]]:
    """The run that makes the store (None when a store of ``n`` trials is reused) and each
    reading of it."""
    made = None
    if stored_trials(store) != n:
        for path in (store, store + "-wal", store + "-shm"):
            if os.path.exists(path):
                os.remove(path)
        made = spawn("run", store, str(n))
    return made, {what: spawn(what, store) for what in READINGS}


def run(options: Options, trials: int | None = None, store: str | None = None) -> list[Table]:
    """Measure at ``trials`` trials (default 1,000,000; 100,000 under ``--quick``)."""
    n = trials or options.size(1_000_000, 100_000)
    if store is None:
        with scratch_file("b15.db") as scratch:
            made, readings = measure(scratch, n)
    else:
        made, readings = measure(store, n)
    optuna = spawn("optuna", str(min(n, OPTUNA_TRIALS))) if installed("optuna") else None
    return [run_table(n, made, optuna), reading_table(n, readings)]


def run_table(n: int, made: Figures | None, optuna: Figures | None) -> Table:
    """The runs: paratune into its store, Optuna in memory."""
    table = Table(
        f"{TITLE} (run): a trivial objective, serial; 1 run each in a fresh process",
        ["trials", "trials/s", "run s", "peak MB", "table s"],
    )
    if made is None:
        table.missing("paratune, SQLite store", "store reused")
    else:
        cells = [fmt_int(n), fmt_int(made["per_s"]), fmt_s(made["seconds"], 1),
                 fmt_mb(made["peak_mb"]), "-"]  # fmt: skip
        table.add(Row("paratune, SQLite store", cells))
    if optuna is None:
        table.missing("Optuna")
    else:
        m = min(n, OPTUNA_TRIALS)
        cells = [fmt_int(m), fmt_int(optuna["per_s"]), fmt_s(optuna["seconds"], 1),
                 fmt_mb(optuna["peak_mb"]), fmt_s(optuna["frame_s"])]  # fmt: skip
        row = Row(f"{optuna_name()}, in memory + trials_dataframe()", cells)
        if made is not None:  # seconds per trial, paratune's (to a store) over Optuna's
            row.ratio = optuna["per_s"] / made["per_s"]
        table.add(row)
    table.notes += [
        "peak MB = the process's peak resident memory (VmHWM); Optuna's includes its table; "
        "table s = study.trials_dataframe().",
        "paratune / peer = seconds per trial, paratune's (writing every trial to its SQLite "
        "store) over Optuna's (in memory): < 1 means paratune runs trials faster.",
    ]
    return table


def reading_table(n: int, readings: dict[str, Figures]) -> Table:
    """Each reading of the store, against the goals set at 1,000,000 trials."""
    table = Table(
        f"{TITLE} (reading): {n:,} stored trials; each reading in a fresh process, 1 run",
        ["seconds", "CPU s", "peak MB"],
    )
    for what, figures in readings.items():
        cells = [
            fmt_s(figures["seconds"], 2),
            fmt_s(figures["cpu_s"], 2),
            fmt_mb(figures["peak_mb"]),
        ]
        row = Row(READINGS[what], cells)
        if what in GOALS:
            seconds, megabytes = GOALS[what]
            row.passed = figures["seconds"] < seconds
            row.goal = f"< {seconds:.0f} s"
            row.achieved = f"{figures['seconds']:.2f} s"
            if megabytes is not None:
                row.passed = row.passed and figures["peak_mb"] < megabytes
                row.goal += f", < {megabytes:.0f} MB"
                row.achieved += f", {figures['peak_mb']:.0f} MB"
        table.add(row)
    table.notes += [
        "seconds = the reading alone, after importing paratune and pandas; CPU s = the CPU "
        "time it used (on a busy machine, near what it takes alone); peak MB = the process's "
        "peak resident memory (VmHWM), imports included. The goals judge the seconds.",
        "The goals are set at 1,000,000 trials; at fewer they are indicative.",
    ]
    return table


def main(argv: list[str] | None = None) -> None:
    import argparse

    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--child"]:
        child(args_list[1:])
        return
    parser = argparse.ArgumentParser(description=TITLE)
    add_option_arguments(parser)
    parser.add_argument(
        "--trials",
        type=int,
        default=None,
        metavar="N",
        help="trials in the store (default 1,000,000; 100,000 with --quick)",
    )
    parser.add_argument("--store", default=None, metavar="PATH",
                        help="keep the store here (one of the same size is reused)")  # fmt: skip
    args = parser.parse_args(args_list)
    options = options_from(args)
    print_header(TITLE, options)
    for table in run(options, args.trials, args.store):
        table.print()


if __name__ == "__main__":
    main()
