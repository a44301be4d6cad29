"""B6 scale: 100,000 trivial trials in memory: the driver's peak memory and the time to turn
the trials into a table.

Each contender runs in a fresh subprocess (this file with ``--child NAME N``), which reports
its resident memory after its imports (the baseline), its peak (``ru_maxrss``) after the run
and after building the table, and the time of the run and of the table: paratune's
``result.trials``, Optuna's ``study.trials_dataframe()``, and for reference a bare loop that
keeps plain dicts and calls ``pandas.DataFrame(records)``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
from collections.abc import Callable
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    add_option_arguments,
    fmt_mb,
    fmt_s,
    in_fresh_interpreter,
    installed,
    medians,
    options_from,
    optuna_name,
    print_header,
    ratio,
    status_mb,
)

TITLE = "B6 scale"
GOAL_MB = 200.0
GOAL_FRAME = 0.25

Figures = dict[str, float]  # base_mb, run_peak_mb, peak_mb, run_s, frame_s, rows, columns


# ---- in the child process --------------------------------------------------------------------


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` of a child process
    starts at its parent's resident size at fork time (Linux keeps the larger of the two
    across ``exec``), so a child started by a big parent would report the parent's size.
    Elsewhere it is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.
    """
    hwm = status_mb("VmHWM:")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def current_mb() -> float:
    """The process's resident memory now, in MB."""
    rss = status_mb("VmRSS:")
    return peak_mb() if rss is None else rss


def maxrss_mb() -> float:
    """``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in MB, as the kernel reports it."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def child_paratune(n: int) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    import paratune as pt

    def objective(config: dict[str, float]) -> float:
        return config["x"] ** 2 + config["y"]

    space = {"x": pt.Float(-5, 5), "y": pt.Float(-5, 5)}

    def go() -> pt.TuneResult:
        return pt.tune(objective, space, executor="serial", max_trials=n, seed=0, store=None)

    return go, lambda result: result.trials


def child_optuna(n: int) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    import optuna
    from _common import quiet_optuna

    quiet_optuna()

    def objective(trial: optuna.Trial) -> float:
        return float(trial.suggest_float("x", -5, 5) ** 2 + trial.suggest_float("y", -5, 5))

    def go() -> optuna.Study:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=n)
        return study

    return go, lambda study: study.trials_dataframe()


def child_bare(n: int) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    import pandas as pd

    def go() -> list[dict[str, float]]:
        records = []
        for _ in range(n):
            x, y = random.uniform(-5, 5), random.uniform(-5, 5)
            records.append({"x": x, "y": y, "value": x**2 + y})
        return records

    return go, pd.DataFrame


CHILDREN = {"paratune": child_paratune, "optuna": child_optuna, "bare": child_bare}


def child(name: str, n: int) -> None:
    """Run one contender and print its figures as JSON on the last line."""
    import time

    import pandas  # every contender's table is a pandas DataFrame: not part of its time

    del pandas
    go, frame = CHILDREN[name](n)  # imports the contender
    base = current_mb()
    start = time.perf_counter()
    outcome = go()
    run_s = time.perf_counter() - start
    run_peak = peak_mb()
    start = time.perf_counter()
    table = frame(outcome)
    frame_s = time.perf_counter() - start
    rows, columns = table.shape
    figures = {
        "base_mb": base,
        "run_peak_mb": run_peak,
        "peak_mb": peak_mb(),
        "run_s": run_s,
        "frame_s": frame_s,
        "rows": rows,
        "columns": columns,
        "maxrss_mb": maxrss_mb(),
    }
    print(json.dumps(figures))


# ---- in the parent --------------------------------------------------------------------------


def spawn(name: str, n: int) -> Figures:
    """Run a contender in a fresh interpreter and read its figures."""
    return in_fresh_interpreter(os.path.abspath(__file__), "--child", name, str(n))


def run(options: Options) -> list[Table]:
    n = options.size(100_000, 10_000)
    slow_reps = options.repeat or 1  # Optuna takes ~10 s per run: once unless asked
    reps = {"paratune": options.reps(3.5), "bare": options.reps(2.0), "optuna": slow_reps}
    results: dict[str, Figures] = {}
    for name in ("paratune", "optuna", "bare"):
        if name == "optuna" and not installed("optuna"):
            continue
        results[name] = medians([spawn(name, n) for _ in range(reps[name])])

    def how(name: str) -> str:
        return f"{reps[name]} run" + ("s" if reps[name] > 1 else "")

    mine = results["paratune"]
    memory = Table(
        f"{TITLE} (memory): {n:,} trivial trials, serial, in memory, each contender in a fresh "
        "process; medians over the runs in brackets",
        ["after imports MB", "peak after run MB", "peak w/ table MB", "growth MB", "run s"],
    )
    timing = Table(
        f"{TITLE} (trials table): building the table of the same {n:,} trials",
        ["rows", "columns", "table s"],
    )

    def add(label: str, key: str, *, goals: bool = False) -> None:
        figures = results[key]
        growth = figures["peak_mb"] - figures["base_mb"]
        mem = Row(
            f"{label} ({how(key)})",
            [
                fmt_mb(figures["base_mb"]),
                fmt_mb(figures["run_peak_mb"]),
                fmt_mb(figures["peak_mb"]),
                fmt_mb(growth),
                fmt_s(figures["run_s"]),
            ],
        )
        tab = Row(
            f"{label} ({how(key)})",
            [f"{figures['rows']:,.0f}", f"{figures['columns']:.0f}", fmt_s(figures["frame_s"])],
        )
        if goals:
            mem.goal, mem.passed = f"< {GOAL_MB:.0f} MB peak", figures["peak_mb"] < GOAL_MB
            mem.achieved = f"peak {figures['peak_mb']:.1f} MB"
            tab.goal, tab.passed = f"< {GOAL_FRAME} s", figures["frame_s"] < GOAL_FRAME
            tab.achieved = f"{figures['frame_s']:.3f} s"
        else:
            mem.ratio = ratio(mine["peak_mb"], figures["peak_mb"])
            tab.ratio = ratio(mine["frame_s"], figures["frame_s"])
        memory.add(mem)
        timing.add(tab)

    add("paratune result.trials", "paratune", goals=True)
    if "optuna" in results:
        add(f"{optuna_name()} trials_dataframe()", "optuna")
    else:
        memory.missing("Optuna")
        timing.missing("Optuna")
    add("bare loop + pandas.DataFrame(records)", "bare")
    for table in (memory, timing):
        table.missing(
            "hyperopt", "not run (too slow)" if installed("hyperopt") else "not installed"
        )
        table.heavy_peers()
    memory.notes += [
        "after imports = resident memory once the contender and pandas are imported (the "
        "baseline); growth = peak with table - after imports.",
        "Peaks are VmHWM (/proc/self/status) where there is one, else ru_maxrss: on Linux a "
        "child's ru_maxrss starts at its parent's size at fork time. Here ru_maxrss read "
        "in the same children says "
        + ", ".join(f"{key} {fig['maxrss_mb']:.1f} MB" for key, fig in results.items())
        + f", with this parent process at {current_mb():.1f} MB.",
        "paratune / peer = peak with table, paratune over the peer: < 1 means paratune uses less.",
    ]
    timing.notes += [
        "table s = time of the first result.trials (a cached property) or of "
        "study.trials_dataframe(); pandas is imported beforehand for everyone.",
        "paratune / peer < 1 means paratune builds its table faster.",
    ]
    if installed("hyperopt"):
        memory.notes.append(
            "hyperopt is not run: its cost per trial grows with the trial count (see B1)."
        )
    return [memory, timing]


def main(argv: list[str] | None = None) -> None:
    import argparse

    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--child"]:
        child(args_list[1], int(args_list[2]))
        return
    parser = argparse.ArgumentParser(description=TITLE)
    add_option_arguments(parser)
    options = options_from(parser.parse_args(args_list))
    print_header(TITLE, options)
    for table in run(options):
        table.print()


if __name__ == "__main__":
    main()
