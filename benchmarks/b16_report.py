"""B16 report at scale: the time `paratune.report.write_report` takes, and the size of the
page it writes, for runs of 10,000, 100,000 and 1,000,000 trials.

Each run is built in memory, trial by trial, as the simulated executor would have run it on
64 workers (a float, a log-scaled float, an integer, a three-way choice and a constant; a
few trials fail): building takes seconds where tuning a million trials takes minutes, and
reading a store (`paratune.load`) is left out, so the figure is the report's own time. That
time includes the trials table (`TuneResult.trials`), which the report is the first to ask
for, the analysis behind every figure, the figures and their PNGs.
"""

from __future__ import annotations

import heapq
import tempfile
from pathlib import Path

import numpy as np
from _common import Options, Row, Table, fmt_s, main_for, median, timed

import paratune as pt
from paratune.report import write_report
from paratune.tuner import StopReason

TITLE = "B16 report at scale"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
WORKERS = 64
GOAL_SECONDS = {100_000: 15.0, 1_000_000: 60.0}  # the report's own time, at most
GOAL_MB = 5.0  # the page, at most, at every size
DEFAULT_RUNS = "median of 3 runs at 10,000 trials, 1 run from 100,000"


def build_run(trials: int, workers: int = WORKERS) -> pt.TuneResult:
    """``trials`` trials run in order on ``workers`` workers (each starts when the first
    worker is free and takes ``0.5 + x`` seconds, twice that for kind b); kind c with
    ``x > 0.95`` fails. The same arguments give the same run."""
    rng = np.random.default_rng(15)
    xs, lrs = rng.random(trials).tolist(), (10 ** rng.uniform(-4, 0, trials)).tolist()
    ns = rng.integers(1, 9, trials).tolist()
    kinds = rng.choice(np.array(["a", "b", "c"]), trials).tolist()
    free = [(0.0, worker) for worker in range(workers)]
    made = []
    for trial_id, (x, lr, n, kind) in enumerate(zip(xs, lrs, ns, kinds, strict=True)):
        started, worker = heapq.heappop(free)
        finished = started + (0.5 + x) * (2 if kind == "b" else 1)
        heapq.heappush(free, (finished, worker))
        failed = kind == "c" and x > 0.95
        value = (x - 0.3) ** 2 + 0.1 * abs(n - 4) + (kind == "b")
        config = {"x": x, "lr": lr, "n": n, "kind": kind, "epochs": 3}
        made.append(
            pt.Trial(
                trial_id,
                config,
                seed=trial_id,
                status=pt.Status.FAILED if failed else pt.Status.DONE,
                value=None if failed else value,
                submitted=started,
                started=started,
                finished=finished,
                worker_time=finished - started,
                worker=worker,
                error="fails on purpose" if failed else None,
            )
        )
    return pt.TuneResult(
        trial_list=made, metric="value", mode="min", workers=workers,
        wall_time=max(end for end, _ in free), busy_time=sum(t.worker_time for t in made),
        cancelled_time=0.0, stop_reason=StopReason.MAX_TRIALS, name=f"b16-{trials}",
    )  # fmt: skip


def report_seconds(result: pt.TuneResult, page: Path) -> float:
    """Seconds `write_report` takes to write ``page`` about ``result``."""
    took, _ = timed(lambda: write_report(result, page))
    return took


def measure(trials: int, repeats: int) -> tuple[float, float, float]:
    """(seconds to build the run, median seconds of `write_report` on a fresh copy of it,
    and the page's size in MB)."""
    build, _ = timed(lambda: build_run(trials))
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        for _ in range(repeats):  # a fresh run each time: nothing cached from the last
            seconds.append(report_seconds(build_run(trials), page))
        size = page.stat().st_size / 1e6
    return build, median(seconds), size


def run(options: Options) -> list[Table]:
    runs = options.describe() if options.quick or options.repeat else DEFAULT_RUNS
    table = Table(
        f"{TITLE}: write_report on runs built in memory ({WORKERS} workers), {runs}",
        ["trials", "build s", "report s", "page MB"],
    )
    with tempfile.TemporaryDirectory() as folder:  # not timed: imports and font caches
        report_seconds(build_run(100), Path(folder) / "warm-up.html")
    for trials in QUICK_SIZES if options.quick else SIZES:
        repeats = options.repeat or (1 if options.quick or trials >= 100_000 else 3)
        build, seconds, size = measure(trials, repeats)
        row = Row("paratune report", [f"{trials:,}", fmt_s(build, 2), fmt_s(seconds, 2),
                                      f"{size:.2f}"])  # fmt: skip
        limit = GOAL_SECONDS.get(trials)
        row.goal = (f"< {limit:g} s, " if limit else "") + f"< {GOAL_MB:g} MB"
        row.passed = (limit is None or seconds < limit) and size < GOAL_MB
        row.achieved = f"{seconds:.1f} s, {size:.2f} MB"
        table.add(row)
    table.notes += [
        "build s: making the run's trials in memory (not part of the goal); report s: "
        "write_report, trials table included, store reading (paratune.load) and the first "
        "import of matplotlib (a report of 100 trials first, not timed) excluded.",
        "Past a few thousand trials the figures draw the best trials and a seeded sample, "
        "and the worker timeline draws busy bands (docs/reporting.md).",
    ]
    return [table]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
