"""What checking a store costs: the structural check every opening of a store runs.

Builds stores of 10,000, 100,000 and 1,000,000 trials (rows inserted directly, in one
transaction, so a million takes under a minute), then times, per size, the median of a few
runs of:

- ``quick_check``: SQLite's ``PRAGMA quick_check`` alone, the check each opening runs;
- ``open (reader)``: ``SQLiteStore(path, readonly=True)``, as ``paratune status`` and
  ``paratune.load`` open a store: identity, quick_check, connection;
- ``open (writer)``: ``SQLiteStore(path)``, as a run or a resume opens it;
- ``counts``: what ``paratune status`` then reads (trial counts by status), for scale;
- ``integrity_check``: the full check of ``paratune status --check``.

    python benchmarks/store_check.py                    # 10k, 100k and 1M trials
    python benchmarks/store_check.py --sizes 10000,100000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from paratune.store import Experiment, SQLiteStore


def build(path: Path, trials: int) -> None:
    """A store holding one experiment of ``trials`` finished trials, rows of a usual size."""
    store = SQLiteStore(path)
    store.open(Experiment("bench", {}, "loss", "min", 0), resume=False, overwrite=False)
    store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO trials (experiment, trial_id, config, seed, status, value, metrics, "
        "attempts, submitted, started, finished, worker_time, worker, host, pid) "
        "VALUES (?, ?, ?, ?, 'done', ?, ?, 1, ?, ?, ?, 1.0, ?, 'node-01', 4242)",
        _rows(trials),
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _rows(trials: int) -> Iterator[tuple[object, ...]]:
    for i in range(trials):
        config = {"lr": 1e-4 * (1 + i % 997), "layers": 1 + i % 7, "act": "relu", "batch": 64}
        value = (i % 1000) / 7.0
        metrics = {"loss": value, "accuracy": 0.9}
        yield ("bench", i, json.dumps(config), i * 7919, value, json.dumps(metrics),
               i * 0.01, i * 0.01, i * 0.01 + 1.0, i % 8)  # fmt: skip


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``action``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pragma(path: Path, name: str) -> Callable[[], object]:
    def run() -> object:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute(f"PRAGMA {name}").fetchall()
        finally:
            db.close()

    return run


def opening(path: Path, *, readonly: bool) -> Callable[[], object]:
    def run() -> object:
        SQLiteStore(path, readonly=readonly).close()
        return None

    return run


def counting(path: Path) -> Callable[[], object]:
    def run() -> object:
        store = SQLiteStore(path, readonly=True)
        try:
            return store.counts()
        finally:
            store.close()

    return run


def measure(trials: int, repeat: int) -> None:
    """Build a store of ``trials`` trials and print one line of timings."""
    with tempfile.TemporaryDirectory(prefix="paratune-store-check-") as folder:
        path = Path(folder) / "runs.db"
        built = median_seconds(lambda: build(path, trials), 1)
        size = os.path.getsize(path) / 1e6
        quick = median_seconds(pragma(path, "quick_check"), repeat)
        reader = median_seconds(opening(path, readonly=True), repeat)
        writer = median_seconds(opening(path, readonly=False), repeat)
        counts = median_seconds(counting(path), repeat) - reader
        full = median_seconds(pragma(path, "integrity_check"), repeat)
    print(
        f"{trials:>10,} {size:>8.0f} {built:>8.1f} {quick:>12.3f} {reader:>14.3f} "
        f"{writer:>14.3f} {counts:>9.3f} {full:>16.3f}",
        flush=True,
    )


def main() -> None:
    """Parse the options and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="Trial counts.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed runs per figure.")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"store check, median of {args.repeat} runs, seconds (load average {load:.2f})")
    print(
        f"{'trials':>10} {'MB':>8} {'build':>8} {'quick_check':>12} {'open (reader)':>14} "
        f"{'open (writer)':>14} {'counts':>9} {'integrity_check':>16}"
    )
    for trials in (int(size) for size in args.sizes.split(",")):
        measure(trials, args.repeat)


if __name__ == "__main__":
    main()
