"""B9 Dask: the Dask executor's per-trial overhead and efficiency, next to the process executor
and Ray Tune, on B1's and B2's workloads.

- Serial overhead: a trivial objective on one worker slot; seconds per trial.
- Efficiency: 64 and 256 trials of 0.25 s on 16 worker slots (ideal wall 1 s and 4 s).

paratune's Dask rows run on a local Dask cluster that is started once, before the timings
(2 worker processes of 8 threads: 16 slots), and reached through its address, as a run on a
standing cluster would be; the first call connects, and later calls reuse that connection
(as runs in one process do). Ray Tune runs on one
`ray.init(num_cpus=16)` (16 logical CPUs, one per trial), also started before the timings.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_eff,
    fmt_int,
    fmt_s,
    installed,
    interleaved,
    main_for,
    median,
    ratio,
    timed,
    version,
)

import paratune as pt

TITLE = "B9 dask"
SLOTS = 16
SECONDS = 0.25
EFFICIENCY_GOAL = 0.95
OVERHEAD_GOAL = 0.002  # Dask's serial per-trial cost within 2 ms of the process executor's
SPACE = {"x": pt.Float(0, 1)}


def trivial(config: dict[str, Any]) -> float:
    """B1's kind of objective: nothing but the tool's own cost."""
    return float(config["x"])


def sleeper(config: dict[str, Any], ctx: pt.Context) -> float:
    """B2's: every trial spends ``SECONDS``."""
    ctx.elapse(SECONDS)
    return float(config["x"])


@contextlib.contextmanager
def dask_cluster() -> Iterator[str]:
    """A local Dask cluster of 16 slots for the whole benchmark; yields its address."""
    import distributed

    local: Any = distributed.LocalCluster  # typed loosely: distributed's hints are partial
    cluster = local(
        n_workers=2, threads_per_worker=SLOTS // 2, processes=True, dashboard_address=":0"
    )
    try:
        yield str(cluster.scheduler_address)
    finally:
        pt.executors.Dask.disconnect()  # the connection runs kept, before the cluster goes
        cluster.close()


def paratune_run(executor: Callable[[], Any], objective: Any, n: int) -> float:
    """Wall seconds of one `pt.tune` call of ``n`` trials (trials in memory)."""
    seconds, result = timed(
        lambda: pt.tune(objective, SPACE, executor=executor(), max_trials=n, seed=0, store=None)
    )
    done = sum(t.status is pt.Status.DONE for t in result.trial_list)
    if done != n:
        raise RuntimeError(f"paratune finished {done} trials, expected {n}")
    return seconds


# ---- Ray Tune ---------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session() -> Iterator[None]:
    import ray

    ray.init(num_cpus=SLOTS, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)  # fmt: skip
    try:
        yield
    finally:
        ray.shutdown()


def ray_trainable(config: dict[str, Any]) -> dict[str, float]:
    time.sleep(config["seconds"])
    return {"score": config["x"]}


def ray_run(n: int, seconds: float, concurrent: int, *, reuse: bool) -> float:
    """Wall seconds of one Ray Tune ``Tuner.fit`` of ``n`` trials (its console output muted)."""
    from ray import tune

    with tempfile.TemporaryDirectory(prefix="paratune-bench-") as folder:
        tuner = tune.Tuner(
            ray_trainable,
            param_space={"x": tune.uniform(0, 1), "seconds": seconds},
            tune_config=tune.TuneConfig(
                num_samples=n, max_concurrent_trials=concurrent, reuse_actors=reuse
            ),
            run_config=tune.RunConfig(storage_path=folder, verbose=0),
        )
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            wall, results = timed(tuner.fit)
    if len(results) != n or results.errors:
        raise RuntimeError(f"Ray Tune ran {len(results)} trials with {len(results.errors)} errors")
    return wall


# ---- the benchmark ----------------------------------------------------------------------------


def run(options: Options) -> list[Table]:
    have_ray = installed("ray")
    ray_name = f"Ray Tune {version('ray')}"
    n_proc, n_dask, n_ray = options.size(2_000, 400), options.size(300, 60), options.size(8, 4)
    sizes = (options.size(64, 32), options.size(256, 64))
    tables: list[Table] = []
    with dask_cluster() as address:
        dask_1 = functools.partial(pt.executors.Dask, address, workers=1)
        dask_16 = functools.partial(pt.executors.Dask, address, workers=SLOTS)
        proc_1 = functools.partial(pt.executors.Processes, 1)
        proc_16 = functools.partial(pt.executors.Processes, SLOTS)
        paratune_run(dask_1, trivial, 4)  # connects; the timed calls reuse the connection
        once = options.reps(1)
        plan: list[tuple[str, Callable[[], float], int]] = [
            ("proc serial", functools.partial(paratune_run, proc_1, trivial, n_proc), once),
            ("dask serial", functools.partial(paratune_run, dask_1, trivial, n_dask), once),
        ]
        for n in sizes:
            reps = options.reps(n * SECONDS / SLOTS + 0.5)
            plan += [
                (f"proc {n}", functools.partial(paratune_run, proc_16, sleeper, n), reps),
                (f"dask {n}", functools.partial(paratune_run, dask_16, sleeper, n), reps),
            ]
        walls = {key: median(values) for key, values in interleaved(plan).items()}
    ray_walls: dict[str, float] = {}
    if have_ray:
        with ray_session():
            ray_walls["serial"] = ray_run(n_ray, 0.0, 1, reuse=False)
            ray_walls["serial reuse"] = ray_run(n_ray, 0.0, 1, reuse=True)
            for n in sizes:
                ray_walls[f"{n} reuse"] = ray_run(n, SECONDS, SLOTS, reuse=True)
            ray_walls[f"{sizes[0]}"] = ray_run(sizes[0], SECONDS, SLOTS, reuse=False)

    # serial overhead
    per_trial = {"proc": walls["proc serial"] / n_proc, "dask": walls["dask serial"] / n_dask}
    serial = Table(
        f"{TITLE} serial overhead: trivial objective on 1 worker slot; {options.describe()}",
        ["trials", "ms/trial", "trials/s"],
        ratio_label="paratune dask / peer",
    )
    proc_cells = [
        fmt_int(n_proc),
        f"{per_trial['proc'] * 1e3:.3f}",
        fmt_int(1 / per_trial["proc"]),
    ]
    serial.add(Row("paratune processes, 1 worker", proc_cells))
    extra = per_trial["dask"] - per_trial["proc"]
    serial.add(
        Row(
            "paratune dask, workers=1 (running cluster)",
            [fmt_int(n_dask), f"{per_trial['dask'] * 1e3:.3f}", fmt_int(1 / per_trial["dask"])],
            goal=f"<= processes + {OVERHEAD_GOAL * 1e3:g} ms",
            passed=extra <= OVERHEAD_GOAL,
            achieved=f"+{extra * 1e3:.2f} ms/trial",
        )
    )
    for key, label in (("serial", "no actor reuse"), ("serial reuse", "reuse_actors=True")):
        if key in ray_walls:
            rate = n_ray / ray_walls[key]
            serial.add(Row(f"{ray_name}, 1 concurrent, {label}",
                           [fmt_int(n_ray), f"{1e3 / rate:.1f}", f"{rate:.1f}"],
                           ratio=ratio(1 / per_trial["dask"], rate)))  # fmt: skip
    if not have_ray:
        serial.missing("Ray Tune")
    serial.notes += [
        "ms/trial = wall time around the whole call / trials (the process pool's start-up "
        "included; Dask's connection is made by a call before the timings and kept); trials/s "
        "its inverse. The ratio is trials/s, dask over the peer.",
        "Both executors send trivial trials in chunks: up to 64 per pipe message to a worker "
        "process, and up to 64 per Dask task.",
    ]
    tables.append(serial)

    for n in sizes:
        table = Table(
            f"{TITLE} efficiency: {n} trials of {SECONDS} s on {SLOTS} worker slots; "
            + options.describe(),
            ["wall s", "efficiency", "overhead ms/trial"],
            ratio_label="paratune dask / peer",
        )

        def cells(wall: float, n: int = n) -> tuple[list[str], float]:
            eff = n * SECONDS / (SLOTS * wall)
            lost = (SLOTS * wall - n * SECONDS) / n  # slot-seconds lost per trial
            return [fmt_s(wall), fmt_eff(eff), f"{lost * 1e3:.1f}"], eff

        proc_cells, _ = cells(walls[f"proc {n}"])
        dask_cells, dask_eff = cells(walls[f"dask {n}"])
        table.add(Row("paratune processes, 16 workers", proc_cells))
        table.add(Row("paratune dask, 16 slots (running cluster)", dask_cells,
                      goal=f">= {EFFICIENCY_GOAL:.2f}", passed=dask_eff >= EFFICIENCY_GOAL,
                      achieved=f"efficiency {dask_eff:.3f}"))  # fmt: skip
        for key, label in ((f"{n}", "no actor reuse"), (f"{n} reuse", "reuse_actors=True")):
            if key in ray_walls:
                ray_cells, ray_eff = cells(ray_walls[key])
                table.add(Row(f"{ray_name}, 16 concurrent, {label}", ray_cells,
                              ratio=ratio(dask_eff, ray_eff)))  # fmt: skip
        if not have_ray:
            table.missing("Ray Tune")
        table.notes += [
            "efficiency = trials x 0.25 s / (16 slots x wall); overhead = slot-seconds not spent "
            "in trials, per trial. The ratio is efficiency, dask over the peer.",
            "Ray Tune runs once per row (a run takes tens of seconds to minutes on 2 cores); "
            "paratune's rows are medians, repetitions going round the contenders.",
        ]
        tables.append(table)
    return tables


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
