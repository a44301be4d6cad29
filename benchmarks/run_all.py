"""Run every benchmark and print one table per benchmark, then a summary of the goals.

    python benchmarks/run_all.py            # the full run (about 5-6 minutes on 2 cores)
    python benchmarks/run_all.py --quick    # a smoke run: 1 repetition, smaller sizes
    python benchmarks/run_all.py --repeat 3 --only b1,b4
    python benchmarks/run_all.py --only b8   # opt-in: search quality, about 8 minutes
    python benchmarks/run_all.py --only b9   # opt-in: Dask executor against Ray Tune
    python benchmarks/run_all.py --only b10  # opt-in: multi-fidelity, about 95 s
    python benchmarks/run_all.py --only b11  # opt-in: scaling honesty, several minutes
    python benchmarks/run_all.py --only b12  # opt-in: conditional spaces, several minutes
    python benchmarks/run_all.py --only b13  # opt-in: TPE's time per suggestion, 50,000 trials
    python benchmarks/run_all.py --only b14  # opt-in: multi-objective quality, over an hour
    python benchmarks/run_all.py --only b14r # opt-in: multi-objective ASHA on an MLP, ~10 min
    python benchmarks/run_all.py --only b15  # opt-in: reading a stored run of 100,000 trials
    python benchmarks/run_all.py --only b16  # opt-in: the report at 10,000 to 1,000,000 trials
    python benchmarks/run_all.py --only b17  # opt-in: ASHA and Hyperband at 100,000 trials

B3 (stragglers) and B5 (prediction) share their runs. B8 (quality), B9 (Dask, with Ray
Tune as its peer: several minutes on 2 cores, most of it Ray's), B10 (multi-fidelity,
over a minute), B11 (scaling honesty: `paratune scaling` on the main job and a torch
design, several minutes), B12 (search quality on conditional spaces, several minutes) and
B13 (TPE's time per suggestion up to 50,000 observations) are not in the default list, nor
are B14 (multi-objective: hypervolume on ZDT and DTLZ2, over an hour; b14r, ASHA on an
MLP) and B15-B17 (a million trials: reading a store, the report, ASHA's decisions).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import b1_overhead
import b2_efficiency
import b3_stragglers
import b4_cpu
import b5_prediction
import b6_scale
import b7_store
import b8_adapters
import b8_quality
import b9_dask
import b10_multifidelity
import b11_scaling
import b12_conditional
import b13_tpe_scale
import b14_multiobjective
import b14_real
import b15_scale
import b16_report
import b17_asha
import b18_asktell
import b19_dashboard
import b19_dashboard_page
from _common import Options, Table, add_option_arguments, options_from, print_header

BENCHMARKS = ("b1", "b2", "b3", "b4", "b5", "b6", "b7")  # the default list
# Run only when named in --only.
OPT_IN = (
    "b8", "b8a", "b9", "b10", "b11", "b12", "b13", "b14", "b14r", "b15", "b16", "b17", "b18",
    "b19", "b19p",
)  # fmt: skip


def load() -> str:
    """The 1-minute load average (a figure well above 0 means other work shared the cores)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_option_arguments(parser)
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        metavar="LIST",
        help="comma-separated benchmarks to run (default: b1,...,b7; b8-b17 only when named)",
    )
    args = parser.parse_args(argv)
    options = options_from(args)
    chosen = [name.strip().lower() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS) - set(OPT_IN))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    print_header("paratune benchmarks", options)
    started = time.perf_counter()
    stragglers: b3_stragglers.StragglerData | None = None

    def shared(opts: Options) -> b3_stragglers.StragglerData:
        nonlocal stragglers
        if stragglers is None:
            stragglers = b3_stragglers.measure(opts, processes="b5" in chosen)
        return stragglers

    runners: dict[str, Callable[[Options], list[Table]]] = {
        "b1": b1_overhead.run,
        "b2": b2_efficiency.run,
        "b3": lambda opts: b3_stragglers.tables(shared(opts)),
        "b4": b4_cpu.run,
        "b5": lambda opts: b5_prediction.tables(shared(opts)),
        "b6": b6_scale.run,
        "b7": b7_store.run,
        "b8": b8_quality.run,
        "b8a": b8_adapters.run,
        "b9": b9_dask.run,
        "b10": b10_multifidelity.run,
        "b11": b11_scaling.run,
        "b12": b12_conditional.run,
        "b13": b13_tpe_scale.run,
        "b14": b14_multiobjective.run,
        "b14r": b14_real.run,
        "b15": b15_scale.run,
        "b16": b16_report.run,
        "b17": b17_asha.run,
        "b18": b18_asktell.run,
        "b19": b19_dashboard.run,
        "b19p": b19_dashboard_page.run,
    }
    summary: list[tuple[str, str, str, bool]] = []
    for name in BENCHMARKS + OPT_IN:
        if name not in chosen:
            continue
        began = time.perf_counter()
        for table in runners[name](options):
            table.print()
            summary.extend((name.upper(), *goal) for goal in table.goals())
        took = time.perf_counter() - began
        print(f"({name.upper()} took {took:.0f} s; load average then {load()})\n", flush=True)

    print("Goals")
    print("-----")
    for bench, what, goal, ok in summary:
        print(f"{'PASS' if ok else 'FAIL'}  {bench}  {what} (goal {goal})")
    met = sum(1 for *_, ok in summary if ok)
    print(f"\n{met} of {len(summary)} goals met; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
