"""B2's process-pool contenders, each run in a fresh interpreter that imports only its own
library, as its user's script would.

A process pool forks its driver once per worker, and the time a fork takes, and a forked
worker's start and exit, grow with what the driver holds: run in the benchmark's own process,
after Optuna's rows had imported Optuna and pandas, a bare `ProcessPoolExecutor(8)` of 64
sleeps of 0.25 s kept its workers 0.95-0.97 busy, against 0.98 in a bare interpreter.

``python _b2_processes.py KEY WORKERS N SECONDS`` runs one contender (KEY: ``paratune``,
``paratune-durable``, ``pool``, ``optuna-journal``, ``optuna-sqlite``) and prints its figures
as JSON on its last line: ``wall`` (around the call, pool start-up included, the
interpreter's start and imports not), ``trials``, ``self`` (paratune's own utilisation)
and ``driver_mb`` (the driver's resident memory when the call began).
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _common import optuna_processes, scratch_file, status_mb, timed

Figures = dict[str, float]


def sleep_then(seconds: float, x: float) -> float:
    """A bare trial: sleep, then return ``x``."""
    time.sleep(seconds)
    return x


def paratune_processes(workers: int, n: int, seconds: float, *, durable: bool) -> Figures:
    """paratune on its process executor, trials in memory or (``durable``) in its default
    SQLite store in a scratch folder (its creation inside the timed call)."""
    import paratune as pt

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(seconds)
        return float(config["x"])

    with scratch_file("paratune.db") as path:
        driver_mb = status_mb("VmRSS:") or float("nan")
        wall, result = timed(lambda: pt.tune(
            objective, {"x": pt.Float(0, 1)}, executor="processes", workers=workers,
            max_trials=n, seed=0, store=path if durable else None, progress=False))  # fmt: skip
    trials = len(result.trial_list)
    return {"wall": wall, "trials": trials, "self": result.utilisation, "driver_mb": driver_mb}


def process_pool(workers: int, n: int, seconds: float) -> Figures:
    """The ceiling: `ProcessPoolExecutor` (forked workers) given every trial at once."""
    import multiprocessing

    def go() -> int:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(sleep_then, seconds, i / n) for i in range(n)]
            return len([future.result() for future in futures])

    driver_mb = status_mb("VmRSS:") or float("nan")
    wall, trials = timed(go)
    return {"wall": wall, "trials": trials, "driver_mb": driver_mb}


def optuna_storage_processes(kind: str, workers: int, n: int, seconds: float) -> Figures:
    """Optuna: ``workers`` processes sharing a ``kind`` storage (see `optuna_processes`)."""
    importlib.import_module("optuna")  # before the memory is read: the run imports it
    driver_mb = status_mb("VmRSS:") or float("nan")
    wall, trials = optuna_processes(kind, workers, n, functools.partial(time.sleep, seconds))
    return {"wall": wall, "trials": trials, "driver_mb": driver_mb}


def main(argv: list[str]) -> None:
    key, workers, n, seconds = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    if key in ("paratune", "paratune-durable"):
        figures = paratune_processes(workers, n, seconds, durable=key == "paratune-durable")
    elif key == "pool":
        figures = process_pool(workers, n, seconds)
    elif key.startswith("optuna-"):
        figures = optuna_storage_processes(key.removeprefix("optuna-"), workers, n, seconds)
    else:
        raise SystemExit(f"unknown contender {key!r}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
