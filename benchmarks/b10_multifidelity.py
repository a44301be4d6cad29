"""B10 multi-fidelity: ASHA against successive halving, its prediction, and early stopping side
by side with Optuna's pruners.

Five parts, printed by one run (parts 4 and 5: a grid under ASHA, real; model-based
multi-fidelity, in `b10_model_based.py`):

1. The ASH study's table, in simulated time. 128, 256 and 512 models on rungs of 1, 2, 4, ...
   epochs (eta = 2, up to two models on the top rung); one epoch costs 1 s (and, in a
   variant, 1 s +-20%); 1 to 32 workers. Sequential successive halving (1 worker,
   retraining) is the baseline; ASHA's speedup over it, with retraining and with checkpoint
   resume, is set against the bound max(total work / workers, critical path) and against a
   textbook ASHA simulated here, independently of paratune.
2. The same ladder for real: epochs that sleep 10 ms on 16 and 32 threads, against the
   simulated executor's prediction of the same run.
3. Best value against virtual wall time on a synthetic learning-curve problem whose curves
   cross: paratune's ASHA and Hyperband against Optuna's SuccessiveHalvingPruner and
   HyperbandPruner on 8 and 32 workers, the same random configurations for everyone.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import functools
import heapq
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import (
    DASH,
    Options,
    Row,
    Table,
    add_option_arguments,
    fmt_pct,
    fmt_ratio,
    fmt_s,
    installed,
    interleaved,
    median,
    options_from,
    optuna_name,
    print_header,
    quiet_optuna,
    ratio,
    timed,
)

import paratune as pt

TITLE = "B10 multi-fidelity"

# ---- part 1: the ASH study's table -------------------------------------------------------------

ETA = 2
EPOCH = 1.0  # virtual seconds per epoch
NOISE = 0.2  # the noisy variant: each epoch takes EPOCH x a factor in [1 - NOISE, 1 + NOISE]
WORKERS = (1, 4, 8, 16, 32)
SIZES = ((128, 64), (256, 128), (512, 256))  # models, top rung (epochs): two on the top rung
SEEDS = 5  # seeds (configuration orders) per setting; 1 with --quick
GOAL_RETRAIN = 6.5  # speedup on 32 workers, 128 models, retraining
GOAL_RESUME = 12.0  # the same with checkpoint resume
SLACK = 1.001  # paratune's ASHA wall <= the textbook policy's x SLACK
# The ASH study's published speedups of ASHA over sequential successive halving (real
# threads), by models and threads.
STUDY = {128: {4: 1.21, 8: 1.60, 16: 2.74, 32: 3.02}, 256: {32: 3.57}}
QUALITY = {"quality": pt.Float(0.0, 1.0)}
MODES = ("retraining", "resume")


def ladder(top: int) -> list[int]:
    """The rungs' budgets: 1, 2, 4, ... up to ``top`` epochs."""
    return [ETA**k for k in range(round(math.log(top, ETA)) + 1)]


@functools.lru_cache(maxsize=1024)
def epoch_times(seed: int, epochs: int, noise: bool) -> tuple[float, ...]:
    """Seconds each epoch of a trial takes: EPOCH, or EPOCH times a factor in [0.8, 1.2] from
    a generator seeded by the trial's seed, epoch e taking the e-th draw (the same whichever
    job runs it, and in the textbook simulation)."""
    if not noise:
        return (EPOCH,) * epochs
    factors = np.random.default_rng(seed).uniform(1 - NOISE, 1 + NOISE, epochs)
    return tuple(float(f) for f in EPOCH * factors)


def ladder_loss(quality: float, budget: int) -> float:
    """The loss of a model of ``quality`` after ``budget`` epochs: the ranking is the same at
    every rung."""
    return quality * (1 + 1 / budget)


class Counter:
    """Jobs and epochs run, counted from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs = 0
        self.epochs = 0

    def add(self, epochs: int) -> None:
        with self._lock:
            self.jobs += 1
            self.epochs += epochs


def ladder_objective(
    top: int, *, resume: bool, noise: bool, scale: float = 1.0, counter: Counter | None = None
) -> Callable[..., float]:
    """Train from ``ctx.start_step`` (from the checkpoint when resuming) to ``ctx.budget``,
    one ``ctx.elapse`` per epoch of ``scale`` x its `epoch_times`; ``counter`` counts the
    jobs and epochs run."""

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        if resume:
            ctx.load_checkpoint()
        assert ctx.budget is not None
        budget = int(ctx.budget)
        times = epoch_times(ctx.seed, top, noise)
        for epoch in range(ctx.start_step, budget):
            ctx.elapse(scale * times[epoch])
        if counter is not None:
            counter.add(budget - ctx.start_step)
        if resume:
            ctx.save_checkpoint({"epochs": budget}, step=budget)
        return ladder_loss(config["quality"], budget)

    return objective


@contextlib.contextmanager
def scratch_folder() -> Iterator[str]:
    """A fresh folder for checkpoints, in memory where Linux has one (/dev/shm): simulated
    runs write a checkpoint per job, and where it lives changes no virtual time, only how
    long the benchmark takes."""
    memory = "/dev/shm"
    where = memory if os.path.isdir(memory) and os.access(memory, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="paratune-bench-", dir=where) as folder:
        yield folder


def ladder_run(
    models: int, top: int, *, asha: bool, workers: int, resume: bool, noise: bool, seed: int
) -> pt.TuneResult:
    """One simulated run of ASHA (or synchronous successive halving) on the ladder."""
    kind = pt.schedulers.ASHA if asha else pt.schedulers.SuccessiveHalving
    scheduler = kind(budget="epochs", min_budget=1, max_budget=top, eta=ETA)
    with scratch_folder() as folder:
        return pt.tune(
            ladder_objective(top, resume=resume, noise=noise),
            QUALITY,
            scheduler=scheduler,
            executor="simulated",
            workers=workers,
            max_trials=models,
            store=None,
            seed=seed,
            checkpoint_dir=folder if resume else None,
        )


def textbook_asha(
    trials: Sequence[tuple[float, Sequence[float]]],
    budgets: Sequence[int],
    workers: int,
    *,
    resume: bool,
    together: bool = True,
) -> float:
    """The wall time of textbook ASHA (Li et al. 2020, Algorithm 2) on a finite pool of
    ``trials`` (quality, seconds per epoch), simulated here independently of paratune.

    A free worker promotes the best not-yet-promoted trial in the top floor(n / eta) of the
    highest rung that has one, else starts the next new trial at the bottom rung, else idles
    until a job ends; a promoted trial retrains from epoch 0, or resumes from the rung
    below. Jobs that end at the same moment are all recorded before the freed workers
    (lowest first) take new jobs (``together``), or one at a time, each freed worker taking
    its next job before the next result is recorded.
    """
    rungs = len(budgets)
    results: list[list[tuple[float, int]]] = [[] for _ in budgets]  # best first
    promoted: list[set[int]] = [set() for _ in budgets]
    idle = list(range(workers))
    running: list[tuple[float, int, int, int, int]] = []  # (end, order, worker, trial, rung)
    new, order, now = 0, 0, 0.0

    def next_job() -> tuple[int, int] | None:
        nonlocal new
        for rung in reversed(range(rungs - 1)):
            for _, trial in results[rung][: len(results[rung]) // ETA]:
                if trial not in promoted[rung]:
                    promoted[rung].add(trial)
                    return trial, rung + 1
        if new < len(trials):
            new += 1
            return new - 1, 0
        return None

    while True:
        while idle and (job := next_job()) is not None:
            trial, rung = job
            first = budgets[rung - 1] if resume and rung > 0 else 0
            elapsed = 0.0
            for seconds in trials[trial][1][first : budgets[rung]]:
                elapsed += seconds  # summed epoch by epoch, as ctx.elapse adds them
            heapq.heappush(running, (now + elapsed, order, heapq.heappop(idle), trial, rung))
            order += 1
        if not running:
            return now
        now = running[0][0]
        while running and running[0][0] == now:
            _, _, worker, trial, rung = heapq.heappop(running)
            heapq.heappush(idle, worker)
            loss = ladder_loss(trials[trial][0], budgets[rung])
            bisect.insort(results[rung], (loss, trial))
            if not together:
                break


def total_work(models: int, budgets: Sequence[int], *, resume: bool) -> float:
    """Seconds of work in successive halving's ladder (nominal epochs): n_k = models / eta**k
    trials at rung k, each training budget_k epochs (retraining) or budget_k - budget_k-1
    (resume)."""
    epochs = 0
    for k, budget in enumerate(budgets):
        start = budgets[k - 1] if resume and k > 0 else 0
        epochs += (models // ETA**k) * (budget - start)
    return epochs * EPOCH


def on_top(result: pt.TuneResult, top: int) -> int:
    """How many models reached the top rung."""
    return sum(t.status is pt.Status.DONE and t.budget == top for t in result.trial_list)


def critical_path(budgets: Sequence[int], *, resume: bool) -> float:
    """Seconds one top-rung model needs at least: every rung's budget in turn (retraining),
    or the top budget once (resume)."""
    return (budgets[-1] if resume else sum(budgets)) * EPOCH


@dataclass
class LadderCell:
    """One setting (mode, workers) over the seeds."""

    sync: list[float] = field(default_factory=list)
    asha: list[float] = field(default_factory=list)
    on_top: list[int] = field(default_factory=list)
    speedup: list[float] = field(default_factory=list)
    bound: list[float] = field(default_factory=list)
    textbook: list[float] = field(default_factory=list)
    one_by_one: list[float] = field(default_factory=list)

    def worst(self) -> float:
        """The largest paratune / textbook ratio over the seeds."""
        return max(a / t for a, t in zip(self.asha, self.textbook, strict=True))


@dataclass
class LadderData:
    """Every run of one ladder setting (models, top rung, noise)."""

    models: int
    top: int
    noise: bool
    seeds: int
    sequential: list[float] = field(default_factory=list)
    sequential_top: list[int] = field(default_factory=list)
    cells: dict[tuple[str, int], LadderCell] = field(default_factory=dict)


def measure_ladder(models: int, top: int, noise: bool, seeds: int) -> LadderData:
    budgets = ladder(top)
    data = LadderData(models, top, noise, seeds)
    for seed in range(seeds):
        seq = ladder_run(models, top, asha=False, workers=1, resume=False, noise=noise, seed=seed)
        data.sequential.append(seq.wall_time)
        data.sequential_top.append(on_top(seq, top))
        pool = [
            (float(t.config["quality"]), epoch_times(t.seed, top, noise))
            for t in sorted(seq.trial_list, key=lambda t: t.trial_id)
        ]
        same = functools.partial(ladder_run, models, top, noise=noise, seed=seed)
        for mode in MODES:
            resume = mode == "resume"
            work = total_work(models, budgets, resume=resume)
            path = critical_path(budgets, resume=resume)
            for workers in WORKERS:
                cell = data.cells.setdefault((mode, workers), LadderCell())
                if workers == 1 and not resume:
                    sync = seq.wall_time
                else:
                    sync = same(asha=False, workers=workers, resume=resume).wall_time
                asha = same(asha=True, workers=workers, resume=resume)
                cell.sync.append(sync)
                cell.asha.append(asha.wall_time)
                cell.on_top.append(on_top(asha, top))
                cell.speedup.append(seq.wall_time / asha.wall_time)
                cell.bound.append(seq.wall_time / max(work / workers, path))
                cell.textbook.append(textbook_asha(pool, budgets, workers, resume=resume))
                cell.one_by_one.append(
                    textbook_asha(pool, budgets, workers, resume=resume, together=False)
                )
    return data


def ladder_table(data: LadderData) -> Table:
    seeds = "1 seed" if data.seeds == 1 else f"median of {data.seeds} seeds"
    per_epoch = f"{EPOCH:g} s{f' +-{NOISE:.0%}' if data.noise else ''} per epoch"
    table = Table(
        f"{TITLE}: ASHA vs successive halving, {data.models} models, rungs 1-{data.top} "
        f"epochs (eta {ETA}), {per_epoch}; simulated, {seeds}",
        [
            "SH sync s",
            "ASHA s",
            "on top",
            "speedup",
            "bound",
            "of bound",
            "textbook s",
            "ASH study",
        ],
        ratio_label="ASHA / textbook",
    )
    table.add(
        Row(
            "SH sequential, 1 worker, retraining (baseline)",
            [
                fmt_s(median(data.sequential), 1),
                DASH,
                f"{median(data.sequential_top):g}",
                fmt_ratio(1.0),
                *[DASH] * 4,
            ],
        )
    )
    study = STUDY.get(data.models, {})
    for mode in MODES:
        for workers in WORKERS:
            cell = data.cells[(mode, workers)]
            speedup = median(cell.speedup)
            fraction = median(s / b for s, b in zip(cell.speedup, cell.bound, strict=True))
            published = study.get(workers) if mode == "retraining" else None
            row = Row(
                f"ASHA, {workers} worker{'s' if workers > 1 else ''}, {mode}",
                [
                    fmt_s(median(cell.sync), 1),
                    fmt_s(median(cell.asha), 1),
                    f"{median(cell.on_top):g}",
                    fmt_ratio(speedup),
                    fmt_ratio(median(cell.bound)),
                    f"{fraction:.0%}",
                    fmt_s(median(cell.textbook), 1),
                    fmt_ratio(published),
                ],
                ratio=cell.worst(),
            )
            goal = GOAL_RETRAIN if mode == "retraining" else GOAL_RESUME
            if data.models == 128 and workers == 32 and not data.noise:
                row.goal = f">= {goal:g}x"
                row.passed = speedup >= goal
                row.achieved = f"{speedup:.2f}x {mode}"
            table.add(row)
    table.notes += [
        "SH = synchronous successive halving (pt.schedulers.SuccessiveHalving: each rung "
        "waits for all of its trials); ASHA = pt.schedulers.ASHA; both on "
        "executor='simulated' with max_trials = models, the same seed, so the same "
        "configurations. SH sync s: SH on the row's workers, in the row's mode.",
        "speedup = sequential SH wall (1 worker, retraining: the ASH study's baseline) / ASHA "
        "wall, for the retraining and the resume rows alike; higher is better.",
        "bound = sequential SH wall / max(total work / workers, critical path): total work = "
        "the ladder's epochs (every model of rung k trains budget_k epochs when retraining, "
        "budget_k - budget_k-1 when resuming); critical path = the sum of the rungs' budgets "
        "(retraining) or the top budget (resume); of bound = speedup / bound.",
        "textbook s: ASHA as in Li et al. 2020 (promote the best not-yet-promoted trial of "
        "the top floor(n/eta) of the highest rung, else start a new trial), simulated in this "
        "file on the same durations; ASHA / textbook = paratune's wall / the textbook's "
        "(the worst seed; 1.00x: the same schedule).",
        "on top: models that reached the top rung. ASHA promotes from a rung before "
        "it is full, so more models climb than SH's n/eta^k and it does more work: on 1 "
        "worker it is slower than sequential SH.",
        "ASH study: its published speedups of ASHA over sequential SH (real threads, "
        "retraining), for reference.",
    ]
    if data.noise:
        table.notes.append(
            "With noise the bound uses nominal epochs (1 s each): a rough reference, not a "
            "strict bound."
        )
    return table


def textbook_table(all_data: Sequence[LadderData]) -> Table:
    table = Table(
        f"{TITLE}: paratune's ASHA against the textbook policy; simulated, every seed and "
        "worker count of the tables above",
        ["runs", "same wall", "worst at", "ASHA s", "textbook s", "1 by 1: median",
         "1 by 1: worst"],
        ratio_label="ASHA / textbook",
    )  # fmt: skip
    for data in all_data:
        noise = f"+-{NOISE:.0%} epochs" if data.noise else "fixed epochs"
        for mode in MODES:
            cells = [data.cells[(mode, workers)] for workers in WORKERS]
            runs = [
                (cell.asha[seed] / cell.textbook[seed], workers, seed, cell.asha[seed],
                 cell.textbook[seed], cell.asha[seed] / cell.one_by_one[seed])
                for workers, cell in zip(WORKERS, cells, strict=True)
                for seed in range(data.seeds)
            ]  # fmt: skip
            worst, workers, seed, asha, textbook, _ = max(runs)
            same = sum(run[3] == run[4] for run in runs)
            one_by_one = [run[5] for run in runs]
            table.add(
                Row(
                    f"paratune ASHA, {data.models} models, {noise}, {mode}",
                    [
                        str(len(runs)),
                        str(same),
                        "all equal" if same == len(runs) else f"{workers} workers, seed {seed}",
                        fmt_s(asha, 1),
                        fmt_s(textbook, 1),
                        f"{median(one_by_one):.3f}x",
                        f"{max(one_by_one):.3f}x",
                    ],
                    goal=f"<= textbook x {SLACK:g}",
                    passed=worst <= SLACK,
                    ratio=worst,
                    achieved=f"worst {worst:.4f}x the textbook wall",
                )
            )
    table.notes += [
        "Each row runs paratune's ASHA and the textbook simulation on every seed and worker "
        "count (1, 4, 8, 16, 32): runs = how many, same wall = how many gave exactly the "
        "same wall time; ASHA / textbook = the worst of paratune's wall / the textbook's, "
        "with where it happened and both walls there. Goal: at most 1.001 (never below the "
        "textbook policy).",
        "The textbook simulation records the results of jobs that end at the same instant "
        "together before any freed worker chooses, as paratune's simulator does. 1 by 1: "
        "paratune's wall / that of a textbook run that records them one at a time, each "
        "freed worker choosing at once (median and worst over the runs): it decides with "
        "less information on ties (fixed epochs), which changes its promotions. Without ties "
        "(+-20% epochs) both rules are the same.",
    ]
    return table


# ---- part 2: the same ladder for real ----------------------------------------------------------

REAL_EPOCH = 0.01  # seconds each epoch sleeps
REAL_WORKERS = (16, 32)
REAL_MODELS, REAL_TOP = 128, 64
PREDICT_GOAL = 0.05  # |predicted - real| / real


RealKey = tuple[bool, str, int]  # (noise, mode, workers)


def real_run(executor: str, key: RealKey) -> dict[str, float]:
    """One run of ASHA on the real ladder: wall time (measured around the call for a real
    executor, virtual for the simulated one), jobs and epochs."""
    noise, mode, workers = key
    resume = mode == "resume"
    counter = Counter()
    scheduler = pt.schedulers.ASHA(budget="epochs", min_budget=1, max_budget=REAL_TOP, eta=ETA)

    def go() -> pt.TuneResult:
        # Real runs keep their checkpoints where a user's would be (a temporary folder);
        # the simulated one in memory, which changes no virtual time.
        folder = scratch_folder() if executor == "simulated" else contextlib.nullcontext(None)
        with folder as where:
            return pt.tune(
                ladder_objective(
                    REAL_TOP,
                    resume=resume,
                    noise=noise,
                    scale=REAL_EPOCH / EPOCH,
                    counter=counter,
                ),
                QUALITY,
                scheduler=scheduler,
                executor=executor,
                workers=workers,
                max_trials=REAL_MODELS,
                store=None,
                seed=0,
                checkpoint_dir=where,
            )

    wall, result = timed(go)
    if executor == "simulated":
        wall = result.wall_time
    return {"wall": wall, "jobs": counter.jobs, "epochs": counter.epochs}


@dataclass
class RealData:
    reps: int
    keys: list[RealKey]
    predicted: dict[RealKey, dict[str, float]] = field(default_factory=dict)
    measured: dict[RealKey, dict[str, float]] = field(default_factory=dict)


def measure_real(options: Options) -> RealData:
    keys = [(noise, mode, w) for noise in (False, True) for mode in MODES for w in REAL_WORKERS]
    data = RealData(0, keys)
    data.predicted = {key: real_run("simulated", key) for key in keys}
    data.reps = options.reps(sum(p["wall"] for p in data.predicted.values()) * 1.2)
    plan = [(str(key), functools.partial(real_run, "threads", key), data.reps) for key in keys]
    runs = interleaved(plan)
    for key in keys:
        got = runs[str(key)]
        data.measured[key] = {figure: median(r[figure] for r in got) for figure in got[0]}
    return data


def real_table(data: RealData) -> Table:
    how = "1 run" if data.reps == 1 else f"median of {data.reps} runs"
    table = Table(
        f"{TITLE}: simulated vs real wall time, ASHA on {REAL_MODELS} models, rungs "
        f"1-{REAL_TOP} epochs of {REAL_EPOCH * 1000:g} ms (sleep), threads; {how}",
        ["predicted s", "real s", "error", "jobs real/sim", "epochs real/sim"],
    )
    for key in data.keys:
        noise, mode, workers = key
        sim, real = data.predicted[key], data.measured[key]
        error = (sim["wall"] - real["wall"]) / real["wall"]
        epochs = f"+-{NOISE:.0%} epochs" if noise else "fixed epochs"
        row = Row(
            f"paratune ASHA, {workers} threads, {mode}, {epochs}",
            [
                fmt_s(sim["wall"]),
                fmt_s(real["wall"]),
                fmt_pct(error),
                f"{real['jobs']:.0f}/{sim['jobs']:.0f}",
                f"{real['epochs']:.0f}/{sim['epochs']:.0f}",
            ],
        )
        if mode == "retraining":
            row.goal = f"within {PREDICT_GOAL:.0%}"
            row.passed = abs(error) <= PREDICT_GOAL
            row.achieved = f"error {error:+.1%}"
        table.add(row)
    table.missing("Optuna", "no simulator")
    table.heavy_peers()
    table.notes += [
        "predicted = the virtual wall time of the same objective, seed and scheduler under "
        "executor='simulated'; real = wall time around the pt.tune call on "
        "executor='threads' (pool start-up included); error = (predicted - real) / real.",
        f"Each epoch is ctx.elapse({REAL_EPOCH:g}) (x 0.8-1.2 from the trial's seed in the "
        f"+-{NOISE:.0%} rows), a sleep in a real run: {REAL_EPOCH * 1000:g} ms keeps the part "
        "to seconds while the per-job cost (driver round trip, thread wake-up, sleep "
        "overshoot) stays a small share of a retraining job.",
        "jobs/epochs real/sim: what ran. With fixed epochs many jobs end at the same virtual "
        "instant, and the simulator records them all before ASHA decides; a real run sees "
        "them a little apart, in an order of its own, and may promote other trials: more or "
        "less work than predicted. Epochs of unequal length leave no exact ties.",
        "Resume rows (a checkpoint per job, in a temporary folder; 1-epoch jobs at the low "
        "rungs, where per-job costs weigh more) are shown with no goal.",
    ]
    return table


# ---- part 3: early stopping side by side -------------------------------------------------------

CURVE_TOP = 81  # epochs of a full training
CURVE_ETA = 3  # rungs at 1, 3, 9, 27, 81 epochs
CURVE_WORKERS = (8, 32)
FULL_TRAININGS = 128  # the virtual time budget: this many full trainings' worth of workers
CURVE_SEEDS = 5
CURVE_SPACE = {
    "lr": pt.Float(1e-3, 1.0, log=True),
    "width": pt.Float(0.0, 1.0),
    "reg": pt.Float(0.0, 1.0),
}


def curve(config: dict[str, Any], epoch: int) -> float:
    """The synthetic learning curve: final + (2 * final + 0.3) * exp(-rate * epoch).

    ``final`` (the loss once trained) is best at lr = 0.05, width = 0.65, reg = 0.3; the
    rate grows with the learning rate and falls with the width, so a fast learner can lead a
    better but slower one for the first epochs: curves cross, mostly around 3 to 9 epochs.
    """
    lr, width, reg = float(config["lr"]), float(config["width"]), float(config["reg"])
    final = (
        0.05
        + 0.1 * (math.log10(lr) + 1.3) ** 2
        + 0.3 * (width - 0.65) ** 2
        + 0.2 * (reg - 0.3) ** 2
    )
    rate = (0.08 + 0.5 * math.sqrt(lr)) * (1.2 - 0.6 * width)
    return final + (2 * final + 0.3) * math.exp(-rate * epoch)


def curve_objective(resume: bool) -> Callable[..., float]:
    """Train to ``ctx.budget`` (81 epochs without a scheduler's budget), 1 virtual second and
    one ``ctx.report`` per epoch; with ``resume``, from and to a checkpoint."""

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        budget = CURVE_TOP if ctx.budget is None else int(ctx.budget)
        if resume:
            ctx.load_checkpoint()
        loss = math.nan
        for epoch in range(ctx.start_step + 1, budget + 1):
            ctx.elapse(1.0)
            loss = curve(config, epoch)
            ctx.report(epoch, value=loss)
        if resume:
            ctx.save_checkpoint({"epochs": budget}, step=budget)
        return loss

    return objective


Finished = list[tuple[float, float]]  # (virtual time, loss after CURVE_TOP epochs), in order


def paratune_curve(name: str, workers: int, horizon: float, seed: int) -> tuple[Finished, int]:
    """Run one paratune contender until ``horizon`` virtual seconds: its fully trained
    models, and how many trials it started."""
    scheduler: str | pt.schedulers.Scheduler = "fifo"
    stopping = name.endswith(" stopping")
    if name.startswith("asha"):
        scheduler = pt.schedulers.ASHA("epochs", 1, CURVE_TOP, CURVE_ETA, stopping=stopping)
    elif name.startswith("hyperband"):
        scheduler = pt.schedulers.Hyperband("epochs", 1, CURVE_TOP, CURVE_ETA, stopping=stopping)
    resume = name in ("asha", "hyperband")
    with scratch_folder() as folder:
        result = pt.tune(
            curve_objective(resume),
            CURVE_SPACE,
            scheduler=scheduler,
            executor="simulated",
            workers=workers,
            max_time=horizon,
            store=None,
            seed=seed,
            checkpoint_dir=folder if resume else None,
        )
    finished = sorted(
        (t.finished, t.value)
        for t in result.trial_list
        if t.status is pt.Status.DONE
        and t.value is not None
        and t.finished is not None
        and (t.budget is None or t.budget == CURVE_TOP)
    )
    return finished, len(result.trial_list)


def configurations(seed: int) -> Iterator[dict[str, Any]]:
    """The configurations paratune's random searcher gives with ``seed``, in order."""
    searcher = pt.searchers.Random()
    searcher.setup(pt.Space(CURVE_SPACE), seed=seed, workers=1, max_trials=None)
    while (config := searcher.suggest()) is not None:
        yield config


def optuna_curve(
    pruner_name: str, workers: int, horizon: float, seed: int
) -> tuple[Finished, int]:
    """Optuna on ``workers`` virtual workers, simulated here: each worker runs a trial epoch
    by epoch (report, should_prune, tell), events taken in virtual-time order; trial k gets
    paratune's k-th configuration (study.enqueue_trial)."""
    import optuna
    from optuna.trial import TrialState

    quiet_optuna()
    pruner: Any
    if pruner_name == "hyperband":
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=CURVE_TOP, reduction_factor=CURVE_ETA
        )
    else:
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=CURVE_ETA)
    # HyperbandPruner deals trials to brackets by a hash of the study's name and the trial's
    # number: a fixed name (not Optuna's random default) makes the run reproducible.
    study = optuna.create_study(
        study_name=f"b10-curves-{seed}",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=pruner,
    )
    stream = configurations(seed)
    running: dict[int, tuple[Any, dict[str, Any], int]] = {}  # worker: (trial, config, epoch)
    events: list[tuple[float, int]] = []  # (time the worker's next epoch ends, worker)
    finished: Finished = []
    started = 0

    def start(worker: int, now: float) -> None:
        nonlocal started
        study.enqueue_trial(next(stream))
        trial = study.ask()
        config = {
            name: trial.suggest_float(name, dist.low, dist.high, log=dist.log)
            for name, dist in CURVE_SPACE.items()
        }
        running[worker] = (trial, config, 0)
        heapq.heappush(events, (now + 1.0, worker))
        started += 1

    for worker in range(workers):
        start(worker, 0.0)
    while events and events[0][0] <= horizon:
        now, worker = heapq.heappop(events)
        trial, config, epoch = running[worker]
        epoch += 1
        loss = curve(config, epoch)
        trial.report(loss, epoch)
        if epoch == CURVE_TOP:
            study.tell(trial, loss)
            finished.append((now, loss))
        elif trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
        else:
            running[worker] = (trial, config, epoch)
            heapq.heappush(events, (now + 1.0, worker))
            continue
        if now < horizon:  # as paratune, which starts nothing once its time is up
            start(worker, now)
    return sorted(finished), started


def best_by(finished: Finished, when: float) -> float:
    """The best fully trained loss at virtual time ``when`` (inf before the first)."""
    return min((loss for t, loss in finished if t <= when), default=math.inf)


def first_reach(finished: Finished, threshold: float) -> float:
    """The virtual time the best fully trained loss first reaches ``threshold`` (inf: never)."""
    return next((t for t, loss in finished if loss <= threshold), math.inf)


@dataclass
class CurveData:
    workers: int
    trainings: int
    horizon: float
    seeds: int
    names: list[str]
    runs: dict[str, list[tuple[Finished, int]]] = field(default_factory=dict)  # per seed


PARATUNE_CURVE = ("fifo", "asha stopping", "asha", "hyperband stopping", "hyperband")
OPTUNA_CURVE = ("successive halving", "hyperband")


def curve_label(name: str) -> str:
    labels = {
        "fifo": "paratune FIFO (no early stopping)",
        "asha stopping": "paratune ASHA stopping=True",
        "asha": "paratune ASHA (promotion, checkpoints)",
        "hyperband stopping": "paratune Hyperband stopping=True",
        "hyperband": "paratune Hyperband (promotion, checkpoints)",
        "optuna successive halving": f"{optuna_name()} SuccessiveHalvingPruner",
        "optuna hyperband": f"{optuna_name()} HyperbandPruner",
    }
    return labels[name]


def measure_curves(workers: int, seeds: int, trainings: int = FULL_TRAININGS) -> CurveData:
    horizon = trainings * CURVE_TOP / workers
    names = list(PARATUNE_CURVE)
    if installed("optuna"):
        names += [f"optuna {name}" for name in OPTUNA_CURVE]
    data = CurveData(workers, trainings, horizon, seeds, names)
    for seed in range(seeds):
        for name in names:
            if name.startswith("optuna "):
                got = optuna_curve(name.removeprefix("optuna "), workers, horizon, seed)
            else:
                got = paratune_curve(name, workers, horizon, seed)
            data.runs.setdefault(name, []).append(got)
    return data


def fmt_loss(value: float) -> str:
    return DASH if not math.isfinite(value) else f"{value:.4f}"


def fmt_time(value: float, reached: int, seeds: int) -> str:
    """A median time to a threshold, with on how many seeds it was reached when not all."""
    shown = "never" if not math.isfinite(value) else f"{value:.0f}"
    return shown if reached == seeds else f"{shown} ({reached}/{seeds})"


THRESHOLDS = {
    "E": "E, the worst contender's final best",
    "M": "M, the median contender's final best",
}


def curve_table(data: CurveData) -> Table:
    seeds = "1 seed" if data.seeds == 1 else f"median of {data.seeds} seeds"
    horizon, names = data.horizon, data.names
    table = Table(
        f"{TITLE}: best fully trained loss against virtual time, {data.workers} workers, "
        f"{horizon:g} s ({data.trainings} full trainings' worth), rungs 1-{CURVE_TOP} epochs "
        f"(eta {CURVE_ETA}); {seeds}",
        ["trials", f"best @{horizon / 4:g}s", f"@{horizon / 2:g}s", f"@{horizon:g}s",
         "t to E s", "t to M s", "best at end"],
        ratio_label="t(M) / first",
    )  # fmt: skip
    # Per seed: every contender's final best, the thresholds they give, the time each
    # contender first reaches each threshold, and who ends best.
    times: dict[str, dict[str, list[float]]] = {n: {k: [] for k in THRESHOLDS} for n in names}
    wins = dict.fromkeys(names, 0)
    for seed in range(data.seeds):
        finals = {name: best_by(data.runs[name][seed][0], horizon) for name in names}
        thresholds = {"E": max(finals.values()), "M": median(finals.values())}
        for name in names:
            for key, threshold in thresholds.items():
                times[name][key].append(first_reach(data.runs[name][seed][0], threshold))
            wins[name] += finals[name] == min(finals.values())
    summary = {n: {k: median(v) for k, v in by_key.items()} for n, by_key in times.items()}
    fastest = {key: min(summary[name][key] for name in names) for key in THRESHOLDS}
    for name in names:
        runs = data.runs[name]
        reached = {k: sum(math.isfinite(t) for t in times[name][k]) for k in THRESHOLDS}
        table.add(
            Row(
                curve_label(name),
                [
                    f"{median(n for _, n in runs):.0f}",
                    fmt_loss(median(best_by(f, horizon / 4) for f, _ in runs)),
                    fmt_loss(median(best_by(f, horizon / 2) for f, _ in runs)),
                    fmt_loss(median(best_by(f, horizon) for f, _ in runs)),
                    fmt_time(summary[name]["E"], reached["E"], data.seeds),
                    fmt_time(summary[name]["M"], reached["M"], data.seeds),
                    f"{wins[name]}/{data.seeds}",
                ],
                ratio=ratio(summary[name]["M"], fastest["M"])
                if math.isfinite(summary[name]["M"])
                else None,
            )
        )
    if not installed("optuna"):
        table.missing("Optuna SuccessiveHalvingPruner / HyperbandPruner")
    table.heavy_peers()
    for key, what in THRESHOLDS.items():
        first = [name for name in names if summary[name][key] == fastest[key]]
        if math.isfinite(fastest[key]):
            who = ", ".join(curve_label(name) for name in first)
            table.notes.append(f"First to {what}: {who}, at {fastest[key]:.0f} s (median).")
        else:
            table.notes.append(f"First to {what}: none on most seeds.")
    pair = ("asha stopping", "optuna successive halving")
    if all(name in data.runs for name in pair):
        same = sum(a == b for a, b in zip(*(data.runs[name] for name in pair), strict=True))
        table.notes.append(
            f"paratune ASHA stopping=True and Optuna's SuccessiveHalvingPruner (the same rule: "
            f"stop a trial outside the top 1/eta of what its rung has seen) made the same "
            f"decisions on {same} of {data.seeds} seeds (the same trials, the same fully "
            f"trained models at the same times)."
        )
    table.notes += [
        "loss(config, epoch) = final + (2 final + 0.3) exp(-rate epoch); the rate grows with "
        "the learning rate and falls with the width, so fast learners lead better, slower "
        "ones for a few epochs: curves cross. 1 virtual second per epoch, a report every "
        "epoch; the best final loss is 0.05.",
        "Every contender draws the same random configurations in the same order (paratune's "
        "random searcher with the seed; Optuna gets them by study.enqueue_trial): the search "
        "is the same, only the early stopping differs.",
        "best = the lowest loss after the full 81 epochs among the models that finished them "
        "by then (- before the first). Per seed, the contenders' final bests give two "
        "thresholds: E (the worst of them: every contender reaches it) and M (their median); "
        "t to E/M = the first time a contender's best reaches it, the median over the seeds "
        "((k/n): reached on k seeds); best at end = seeds on which the row ends best (ties "
        "count for each).",
        "paratune runs on executor='simulated' with max_time = the budget; Optuna is "
        "simulated in this file: each worker runs a trial epoch by epoch (trial.report, "
        "trial.should_prune, study.tell), events in virtual-time order, no overhead for "
        "either. Rungs at 1, 3, 9, 27, 81 epochs for all (Optuna: min_resource=1, "
        "reduction_factor=3; HyperbandPruner: max_resource=81); paratune's ASHA and "
        "Hyperband rows resume promotions from checkpoints.",
        "t(M) / first = the row's time to M / the first contender's: lower is better.",
        "Syne Tune's ASHA would need syne-tune, whose dependencies include xgboost and a "
        "350 MB NCCL wheel: too heavy here, like Ray Tune.",
    ]
    return table


# ---- part 4: a grid under ASHA, for real -------------------------------------------------------

GRID_TOP = 64  # rungs at 1, 2, 4, ..., 64 epochs: the ASH ladder for 128 models
GRID_WORKERS = 2
GRID_GOAL = 1.0  # ASHA over a grid on 2 workers, resuming: at least as fast as sequential SH
# 4 x 4 x 8 = 128 small MLPs on the digits data. In the grid's order (the last parameter
# fastest) the regularisation falls and the width grows slowly, and the learning rate rises
# fast: later models keep beating earlier ones, which had ASHA promote most of them.
GRID_SPACE = {
    "alpha": pt.Choice([1e-1, 1e-2, 1e-3, 1e-4]),
    "hidden": pt.Choice([8, 16, 32, 64]),
    "learning_rate_init": pt.Choice([1e-4, 2e-4, 4e-4, 7e-4, 1e-3, 2e-3, 4e-3, 7e-3]),
}
GRID_CONTENDERS = {
    "sh": "sequential successive halving, searcher='grid' (1 worker)",
    "asha grid": f"paratune ASHA, searcher='grid' ({GRID_WORKERS} workers)",
    "asha random": f"paratune ASHA, searcher='random' ({GRID_WORKERS} workers)",
    "asha given": f"paratune ASHA, Grid(order='given') ({GRID_WORKERS} workers)",
}


@functools.cache
def digits() -> tuple[Any, Any, Any, Any]:
    """The digits data scaled to [0, 1], split 75/25 once (cached in each worker process)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    return x_train, x_val, y_train, y_val


def mlp_objective(config: dict[str, Any], ctx: pt.Context) -> float:
    """Train a one-layer MLP epoch by epoch (``partial_fit``, batches of 64) from its
    checkpoint up to ``ctx.budget`` epochs; return the validation log loss."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, x_val, y_train, y_val = digits()
    model = ctx.load_checkpoint()
    if model is None:
        model = MLPClassifier(
            hidden_layer_sizes=(config["hidden"],),
            learning_rate_init=config["learning_rate_init"],
            alpha=config["alpha"],
            batch_size=64,
            random_state=ctx.seed % 2**32,
        )
    assert ctx.budget is not None
    # One core per worker: BLAS threads would fight over the other worker's core.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(ctx.start_step, int(ctx.budget)):
            model.partial_fit(x_train, y_train, classes=np.arange(10))
        loss = float(log_loss(y_val, model.predict_proba(x_val), labels=np.arange(10)))
    ctx.save_checkpoint(model)
    return loss


def grid_run(name: str) -> dict[str, float]:
    """One real run of a contender over the 128 models, resuming promotions from
    checkpoints: wall time around the call (pool start-up included), models promoted past
    the first rung, models on the top rung, epochs trained, jobs, best validation loss."""
    searcher: str | pt.searchers.Searcher = "grid"
    if name == "asha given":
        searcher = pt.searchers.Grid(order="given")
    elif name == "asha random":
        searcher = "random"
    kind = pt.schedulers.SuccessiveHalving if name == "sh" else pt.schedulers.ASHA
    scheduler = kind(budget="epochs", min_budget=1, max_budget=GRID_TOP, eta=ETA)
    with tempfile.TemporaryDirectory(prefix="paratune-bench-") as folder:
        wall, result = timed(
            lambda: pt.tune(
                mlp_objective,
                GRID_SPACE,
                searcher=searcher,
                scheduler=scheduler,
                executor="processes",
                workers=1 if name == "sh" else GRID_WORKERS,
                max_trials=len(pt.Space(GRID_SPACE).grid()),
                store=None,
                seed=0,
                checkpoint_dir=folder,
            )
        )
    trials = result.trial_list
    return {
        "wall": wall,
        "promoted": sum(t.budget is not None and t.budget > 1 for t in trials),
        "top": sum(t.budget == GRID_TOP for t in trials),
        "epochs": sum(t.budget or 0 for t in trials),  # each promotion resumes
        "jobs": len(result.report_list),  # one rung result per job
        "best": result.best_value if result.best_value is not None else math.nan,
    }


@dataclass
class GridData:
    reps: dict[str, int]
    runs: dict[str, dict[str, float]] = field(default_factory=dict)  # medians


def measure_grid(options: Options) -> GridData:
    """The contenders, interleaved; ASHA in the grid's own order (the case before
    shuffling, and the slowest) once, for comparison."""
    first = grid_run("sh")
    reps = options.reps(first["wall"])
    counts = {name: 1 if name == "asha given" else reps for name in GRID_CONTENDERS}
    plan = [(name, functools.partial(grid_run, name), counts[name]) for name in GRID_CONTENDERS]
    plan[0] = ("sh", functools.partial(grid_run, "sh"), reps - 1)
    runs = interleaved(plan)
    runs["sh"].append(first)
    data = GridData(counts)
    data.runs = {
        name: {key: median(r[key] for r in got) for key in got[0]} for name, got in runs.items()
    }
    return data


def grid_table(data: GridData) -> Table:
    sh = data.runs["sh"]
    table = Table(
        f"{TITLE}: a grid under ASHA, real; {len(pt.Space(GRID_SPACE).grid())} MLPs on digits, "
        f"rungs 1-{GRID_TOP} epochs (eta {ETA}), processes, resuming from checkpoints",
        ["wall s", "speedup", "promoted", "on top", "epochs", "jobs", "best loss", "runs"],
    )
    for name, label in GRID_CONTENDERS.items():
        got = data.runs[name]
        speedup = sh["wall"] / got["wall"]
        row = Row(
            label,
            [
                fmt_s(got["wall"]),
                "1 (baseline)" if name == "sh" else fmt_ratio(speedup),
                f"{got['promoted']:.0f}",
                f"{got['top']:.0f}",
                f"{got['epochs']:.0f}",
                f"{got['jobs']:.0f}",
                f"{got['best']:.4f}",
                str(data.reps[name]),
            ],
        )
        if name == "asha grid":
            row.goal = f">= {GRID_GOAL:g}x SH"
            row.passed = speedup >= GRID_GOAL
            row.achieved = f"{speedup:.2f}x"
        table.add(row)
    table.notes = [
        "speedup = sequential successive halving's wall time / the row's (median of its "
        "runs; the given-order row runs once). Higher is better.",
        "Every run trains each MLP (scikit-learn MLPClassifier, one partial_fit per epoch, "
        "one BLAS thread) from its checkpoint, on rungs of 1, 2, 4, ..., 64 epochs over 128 "
        "models: successive halving trains 512 epochs. promoted = models trained past the "
        "first rung; on top = models trained to 64 epochs; jobs = rung results.",
        "searcher='grid' under a multi-fidelity scheduler shuffles the grid with the seed "
        "(Grid(order='auto')); Grid(order='given') keeps the grid's order, in which later "
        "models keep beating earlier ones and most are promoted (before the shuffle: 0.49x "
        "on 2 workers).",
    ]
    return table


def run_grid(options: Options) -> list[Table]:
    """Part 4 alone."""
    return [grid_table(measure_grid(options))]


# ---- the benchmark -----------------------------------------------------------------------------


def run(options: Options) -> list[Table]:
    sizes = SIZES[:1] if options.quick else SIZES
    seeds = options.repeat or (1 if options.quick else SEEDS)
    ladders = [
        measure_ladder(models, top, noise, seeds)
        for models, top in sizes
        for noise in (False, True)
    ]
    tables = [ladder_table(data) for data in ladders]
    tables.append(textbook_table(ladders))
    tables.append(real_table(measure_real(options)))
    curve_seeds = options.repeat or (1 if options.quick else CURVE_SEEDS)
    trainings = options.size(FULL_TRAININGS, 48)
    for workers in CURVE_WORKERS:
        tables.append(curve_table(measure_curves(workers, curve_seeds, trainings)))
    tables.extend(run_grid(options))
    tables.extend(run_model(options))
    return tables


def run_model(options: Options) -> list[Table]:
    """Part 5 alone: model-based multi-fidelity (its own module)."""
    import b10_model_based

    return b10_model_based.run(options)


def main() -> None:
    """Run every part, or with ``--part grid`` only the grid under ASHA (part 4), with
    ``--part model`` only model-based multi-fidelity (part 5)."""
    parser = argparse.ArgumentParser(description=TITLE)
    add_option_arguments(parser)
    parts = {"all": run, "grid": run_grid, "model": run_model}
    parser.add_argument("--part", choices=tuple(parts), default="all", help="what to run")
    args = parser.parse_args()
    options = options_from(args)
    print_header(TITLE, options)
    for table in parts[args.part](options):
        table.print()


if __name__ == "__main__":
    main()
