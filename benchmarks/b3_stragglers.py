"""B3 stragglers: trials of unequal length, asynchronous against synchronous dispatch.

64 trials on 8 thread workers, each lasting 0.05 + 0.45 * x seconds for its sampled x in
[0, 1]. Asynchronous dispatch gives a freed worker new work at once; synchronous dispatch
waits for the slowest trial of each batch. The same objective, seed and searcher under
``executor="simulated"`` give the same configurations on a virtual clock: the zero-overhead
greedy schedule that a real asynchronous run should match.

`measure` is shared with B5 (prediction), which reads the same runs.
"""

from __future__ import annotations

import functools
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_eff,
    fmt_pct,
    fmt_s,
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

TITLE = "B3 stragglers"
WORKERS = 8
SHORTEST, SPREAD = 0.05, 0.45
GOAL = 0.03  # real asynchronous wall time within 3% of the simulated one
SPACE = {"x": pt.Float(0, 1)}

Figures = dict[str, float]  # "wall" (measured around the call), "work" (sum of durations)


def duration(x: float) -> float:
    """How long a trial with parameter ``x`` lasts."""
    return SHORTEST + SPREAD * x


def straggler(config: dict[str, Any], ctx: pt.Context) -> float:
    """The paratune objective: spend the trial's duration, return x."""
    ctx.elapse(duration(config["x"]))
    return float(config["x"])


def paratune_run(n: int, executor: str, *, synchronous: bool = False) -> pt.TuneResult:
    return pt.tune(
        straggler,
        SPACE,
        executor=executor,
        workers=WORKERS,
        max_trials=n,
        seed=0,
        synchronous=synchronous,
        store=None,
    )


def paratune_real(n: int, executor: str, *, synchronous: bool = False) -> Figures:
    wall, result = timed(lambda: paratune_run(n, executor, synchronous=synchronous))
    work = sum(duration(t.config["x"]) for t in result.trial_list)
    return {"wall": wall, "work": work, "own_wall": result.wall_time}


def optuna_threads(xs: list[float]) -> Figures:
    """Optuna on the same x values as paratune, in the same order (enqueued trials)."""
    import optuna

    quiet_optuna()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        time.sleep(duration(x))
        return float(x)

    def go() -> float:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for x in xs:
            study.enqueue_trial({"x": x})
        study.optimize(objective, n_trials=len(xs), n_jobs=WORKERS)
        return sum(duration(t.params["x"]) for t in study.trials)

    wall, work = timed(go)
    return {"wall": wall, "work": work}


def greedy_makespan(durations: list[float], workers: int) -> float:
    """The wall time of handing each duration, in order, to the first free worker, with no
    overhead at all: computed here, independently of paratune's simulator."""
    free = [0.0] * workers
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + d)
        end = max(end, start + d)
    return end


@dataclass
class StragglerData:
    """Every run B3 and B5 report on (medians over the repetitions)."""

    n: int
    reps: dict[str, int] = field(default_factory=dict)
    asynchronous: Figures = field(default_factory=dict)
    synchronous: Figures = field(default_factory=dict)
    processes: Figures | None = None
    optuna: Figures | None = None
    simulated: Figures = field(default_factory=dict)
    simulated_sync: Figures = field(default_factory=dict)
    by_hand: float = 0.0


def measure(options: Options, *, processes: bool = False) -> StragglerData:
    """Run everything B3 needs (and, with ``processes``, B5's extra real run)."""
    n = options.size(64, 16)
    data = StragglerData(n)

    sim = paratune_run(n, "simulated")
    xs = [float(t.config["x"]) for t in sim.trial_list]
    durations = [duration(x) for x in xs]
    data.simulated = {"wall": sim.wall_time, "work": sum(durations)}
    sync = paratune_run(n, "simulated", synchronous=True)
    data.simulated_sync = {"wall": sync.wall_time, "work": sum(durations)}
    data.by_hand = greedy_makespan(durations, WORKERS)

    # the real runs, repetitions going round them
    fast, slow = options.reps(sim.wall_time + 0.2), options.reps(sync.wall_time + 0.2)
    plan: list[tuple[str, Callable[[], Figures], int]] = [
        ("async", functools.partial(paratune_real, n, "threads"), fast),
        ("sync", functools.partial(paratune_real, n, "threads", synchronous=True), slow),
    ]
    if processes:
        plan.append(("processes", functools.partial(paratune_real, n, "processes"), fast))
    if installed("optuna"):
        plan.append(("optuna", functools.partial(optuna_threads, xs), fast))
    got = {key: medians(runs) for key, runs in interleaved(plan).items()}
    data.reps = {key: times for key, _, times in plan}
    data.asynchronous, data.synchronous = got["async"], got["sync"]
    data.processes, data.optuna = got.get("processes"), got.get("optuna")
    return data


def efficiency(figures: Figures) -> float:
    return figures["work"] / (WORKERS * figures["wall"])


def tables(data: StragglerData) -> list[Table]:
    reps = sorted(set(data.reps.values()), reverse=True)
    how = "1 run" if reps == [1] else "median of " + " or ".join(map(str, reps)) + " runs"
    table = Table(
        f"{TITLE}: {data.n} trials of {SHORTEST} + {SPREAD}*x s on {WORKERS} thread workers; "
        + how,
        ["wall s", "work s", "efficiency", "vs simulated"],
    )

    def cells(figures: Figures, simulated: Figures) -> list[str]:
        off = figures["wall"] / simulated["wall"] - 1
        return [
            fmt_s(figures["wall"]),
            fmt_s(figures["work"]),
            fmt_eff(efficiency(figures)),
            fmt_pct(off),
        ]

    eff_async = efficiency(data.asynchronous)
    off = data.asynchronous["wall"] / data.simulated["wall"] - 1
    table.add(
        Row(
            "paratune asynchronous (threads)",
            cells(data.asynchronous, data.simulated),
            goal=f"<= {GOAL:+.0%} vs sim.",
            passed=off <= GOAL,
            achieved=f"{off:+.1%} vs simulated",
        )
    )
    table.add(
        Row(
            "paratune synchronous=True (threads)",
            cells(data.synchronous, data.simulated_sync),
            ratio=ratio(eff_async, efficiency(data.synchronous)),
        )
    )
    if data.optuna is not None:
        table.add(
            Row(
                f"{optuna_name()} n_jobs={WORKERS} (threads)",
                cells(data.optuna, data.simulated),
                ratio=ratio(eff_async, efficiency(data.optuna)),
            )
        )
    else:
        table.missing("Optuna n_jobs (threads)")
    table.add(Row("paratune simulated, asynchronous", cells(data.simulated, data.simulated)))
    table.add(
        Row("paratune simulated, synchronous", cells(data.simulated_sync, data.simulated_sync))
    )
    table.heavy_peers()
    table.notes += [
        "work = sum of the trials' durations (0.05 + 0.45*x); efficiency = work / (workers x "
        "wall), wall measured around the whole call (thread start-up included).",
        "The simulated runs have the same seed and searcher, so the same configurations, on a "
        "virtual clock with zero overhead; vs simulated = real wall / simulated wall - 1 "
        "(synchronous rows against the simulated synchronous run).",
        "Optuna gets the same x values in the same order (study.enqueue_trial), so it runs "
        "the same durations and is compared with the same asynchronous schedule.",
        "paratune / peer = paratune asynchronous efficiency / the row's efficiency.",
        "Even with zero overhead the efficiency is below 1: the last trials leave workers idle.",
    ]
    return [table]


def run(options: Options) -> list[Table]:
    return tables(measure(options))


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
