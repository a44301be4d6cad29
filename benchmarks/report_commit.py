"""What committing each report before its trial goes on costs.

A report (``ctx.report``) is committed to the store before the objective hears whether to go
on, so a checkpoint saved after it is never ahead of the store. This prints the time per
report of an objective that does nothing but report (the worst case), with trials kept in
memory (no commit: the ceiling) and in an SQLite file, serially and on 2 worker processes,
runs interleaved, medians of ``--repeat`` runs.

    .venv/bin/python benchmarks/report_commit.py [--trials 500] [--reports 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import paratune as pt


def reporting(config: dict[str, Any], ctx: pt.Context) -> float:
    for step in range(1, int(config["reports"]) + 1):
        ctx.report(step, loss=config["x"] / step)
    return float(config["x"])


def seconds_per_report(executor: str, store: Path | None, trials: int, reports: int) -> float:
    workers = 2 if executor == "processes" else None
    space = {"x": pt.Float(0, 1), "reports": reports}
    started = time.perf_counter()
    pt.tune(reporting, space, metric="loss", executor=executor, workers=workers,
            max_trials=trials, store=store, name="r", overwrite=store is not None)  # fmt: skip
    return (time.perf_counter() - started) / (trials * reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--reports", type=int, default=20, help="reports per trial")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"{options.trials} trials x {options.reports} reports, median of {options.repeat}")
    print(f"{'executor':<10} {'memory us/report':>17} {'SQLite us/report':>17} {'added us':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for executor in ("serial", "processes"):
            memory, sqlite = [], []
            for _ in range(options.repeat):  # interleaved: a drift of the machine hits both
                memory.append(seconds_per_report(executor, None, options.trials, options.reports))
                store = Path(folder) / f"{executor}.db"
                sqlite.append(seconds_per_report(executor, store, options.trials, options.reports))
            in_memory, in_sqlite = statistics.median(memory), statistics.median(sqlite)
            print(
                f"{executor:<10} {in_memory * 1e6:>17.1f} {in_sqlite * 1e6:>17.1f} "
                f"{(in_sqlite - in_memory) * 1e6:>9.1f}"
            )


if __name__ == "__main__":
    main()
