"""B10 part 5, model-based multi-fidelity: paratune's ASHA and Hyperband with random, TPE and
GP searchers against Optuna's TPE with its HyperbandPruner and against DEHB, in virtual time.

The problem is the multi-fidelity Hartmann-6 of Kandasamy et al. (2017, "Multi-fidelity
Bayesian optimisation with continuous approximations"; BoTorch's ``AugmentedHartmann``):

    f(x, b) = -sum_{i=1..4} alpha_i(z) exp(-sum_{j=1..6} A_ij (x_j - P_ij)^2),
    alpha(z) = (1.0 - 0.1 (1 - z), 1.2, 3.0, 3.2),  z = b / 81,

over x in [0, 1]^6 and budgets b in 1..81 (A and P: Hartmann-6's standard constants, below).
At b = 81 it is the standard Hartmann-6, minimum -3.32237 at (0.20169, 0.150011, 0.476874,
0.275332, 0.311652, 0.6573); a lower budget adds the bias 0.1 (1 - b/81) exp(-sum_j A_1j
(x_j - P_1j)^2) >= 0, which shrinks as b grows. Each budget unit costs 1 virtual second;
rungs at 1, 3, 9, 27 and 81 (eta 3). Every contender resumes a promoted config from where it
stopped: a job from budget b to b' costs b' - b seconds.
"""

from __future__ import annotations

import heapq
import math
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import (
    DASH,
    Options,
    Row,
    Table,
    fmt_s,
    installed,
    median,
    optuna_name,
    quiet_optuna,
    version,
)
from b10_multifidelity import TITLE, Finished, best_by, first_reach, fmt_time, scratch_folder

import paratune as pt

MF_TOP = 81  # the full budget
MF_ETA = 3
MF_RUNGS = (1, 3, 9, 27, 81)
MF_WORKERS = (8, 32)
MF_SEEDS = 10  # per worker count; 2 with --quick
MF_TRAININGS = {8: 16, 32: 40}  # the horizon: this many full trainings' worth of workers
MF_QUICK_TRAININGS = {8: 12, 32: 34}
OPTIMUM = -3.32237
ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
NAMES = tuple(f"x{j}" for j in range(6))
SPACE = {name: pt.Float(0.0, 1.0) for name in NAMES}
SEARCHERS = ("random", "tpe", "gp")
SCHEDULERS = ("asha", "hyperband")
PARATUNE = tuple(f"{s} {q}" for q in SEARCHERS for s in SCHEDULERS)
MODEL_BASED = ("tpe", "gp")


def hartmann6(x: Iterable[float], budget: float) -> float:
    """The multi-fidelity Hartmann-6 at ``x`` after ``budget`` units (the module docstring)."""
    point = np.asarray(list(x), dtype=float)
    alpha = ALPHA.copy()
    alpha[0] -= 0.1 * (1.0 - budget / MF_TOP)
    return float(-alpha @ np.exp(-(A * (point - P) ** 2).sum(axis=1)))


def objective(config: dict[str, Any], ctx: pt.Context) -> float:
    """Resume from the checkpoint, spend the budget units left (1 virtual second each) and
    return the value at the trial's budget."""
    ctx.load_checkpoint()
    budget = MF_TOP if ctx.budget is None else int(ctx.budget)
    ctx.elapse(float(budget - ctx.start_step))
    ctx.save_checkpoint({"budget": budget}, step=budget)
    return hartmann6((config[name] for name in NAMES), budget)


@dataclass
class Run:
    """One contender's run: its full-budget results in time order, trials started, and
    real seconds per suggestion (NaN where not measured)."""

    finished: Finished
    trials: int
    per_suggestion: float


def paratune_run(name: str, workers: int, horizon: float, seed: int) -> Run:
    """paratune ``"<scheduler> <searcher>"`` on the simulated executor until ``horizon``."""
    kind, searcher = name.split()
    cls = pt.schedulers.ASHA if kind == "asha" else pt.schedulers.Hyperband
    scheduler = cls("budget", 1, MF_TOP, MF_ETA)
    with scratch_folder() as folder:
        result = pt.tune(
            objective,
            SPACE,
            searcher=searcher,
            scheduler=scheduler,
            executor="simulated",
            workers=workers,
            max_time=horizon,
            store=None,
            seed=seed,
            checkpoint_dir=folder,
        )
    finished = sorted(
        (t.finished, t.value)
        for t in result.trial_list
        if t.status is pt.Status.DONE
        and t.value is not None
        and t.finished is not None
        and t.budget == MF_TOP
    )
    per = result.time_per_suggestion
    return Run(finished, len(result.trial_list), math.nan if per is None else per)


def optuna_run(workers: int, horizon: float, seed: int) -> Run:
    """Optuna's TPESampler (multivariate, constant liar) with HyperbandPruner(1, 81, 3) on
    ``workers`` virtual workers, as B10's part 3 simulates Optuna: each worker runs a trial
    (report, should_prune, tell), events in virtual-time order. Reports are made at the rung
    budgets only, where Optuna's pruners decide, so the decisions are those of a report
    every unit."""
    import optuna
    from optuna.trial import TrialState

    quiet_optuna()
    study = optuna.create_study(
        study_name=f"b10-model-based-{seed}",  # fixed: Hyperband's bracket deal hashes it
        sampler=optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed),
        pruner=optuna.pruners.HyperbandPruner(1, MF_TOP, MF_ETA),
    )
    running: dict[int, tuple[Any, list[float], int]] = {}  # worker: (trial, x, rung index)
    events: list[tuple[float, int]] = []
    finished: Finished = []
    started, searching = 0, 0.0

    def start(worker: int, now: float) -> None:
        nonlocal started, searching
        began = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(name, 0.0, 1.0) for name in NAMES]
        searching += time.perf_counter() - began
        running[worker] = (trial, x, 0)
        heapq.heappush(events, (now + MF_RUNGS[0], worker))
        started += 1

    for worker in range(workers):
        start(worker, 0.0)
    while events and events[0][0] <= horizon:
        now, worker = heapq.heappop(events)
        trial, x, rung = running[worker]
        value = hartmann6(x, MF_RUNGS[rung])
        trial.report(value, MF_RUNGS[rung])
        if MF_RUNGS[rung] == MF_TOP:
            study.tell(trial, value)
            finished.append((now, value))
        elif trial.should_prune():
            study.tell(trial, state=TrialState.PRUNED)
        else:
            running[worker] = (trial, x, rung + 1)
            heapq.heappush(events, (now + MF_RUNGS[rung + 1] - MF_RUNGS[rung], worker))
            continue
        if now < horizon:  # as paratune, which starts nothing once its time is up
            start(worker, now)
    return Run(sorted(finished), started, searching / max(started, 1))


def dehb_run(workers: int, horizon: float, seed: int) -> Run:
    """DEHB through its ask/tell interface on ``workers`` virtual workers: a free worker asks
    for a job (DEHB starts a new bracket when every open one waits: its asynchronous
    "immediate" strategy), runs it in virtual time and tells the result when it ends. A
    config id seen before resumes from the highest budget it reached."""
    import importlib

    # Imported by name: the package has no type information.
    DEHB = importlib.import_module("dehb").DEHB
    with tempfile.TemporaryDirectory(prefix="paratune-bench-") as folder:
        # n_workers=1: no Dask cluster; the virtual workers below do the asking.
        dehb = DEHB(
            f=None, dimensions=len(NAMES), configspace=False, min_fidelity=1,
            max_fidelity=MF_TOP, eta=MF_ETA, n_workers=1, seed=seed, output_path=folder,
            log_level="ERROR", save_freq="end",
        )  # fmt: skip
        reached: dict[int, int] = {}  # config id: the highest budget it was trained to
        events: list[tuple[float, int, int, dict[str, Any]]] = []  # (end, order, worker, job)
        finished: Finished = []
        started, searching = 0, 0.0

        def start(worker: int, now: float) -> None:
            nonlocal started, searching
            began = time.perf_counter()
            job = dehb.ask()
            searching += time.perf_counter() - began
            budget = round(float(job["fidelity"]))
            cost = budget - min(reached.get(job["config_id"], 0), budget)
            reached[job["config_id"]] = max(budget, reached.get(job["config_id"], 0))
            heapq.heappush(events, (now + cost, started, worker, job))
            started += 1

        for worker in range(workers):
            start(worker, 0.0)
        while events and events[0][0] <= horizon:
            now, _, worker, job = heapq.heappop(events)
            budget = round(float(job["fidelity"]))
            value = hartmann6(np.clip(job["config"], 0.0, 1.0), budget)
            dehb.tell(job, {"fitness": value, "cost": float(budget)})
            if budget == MF_TOP:
                finished.append((now, value))
            if now < horizon:
                start(worker, now)
    return Run(sorted(finished), started, searching / max(started, 1))


def run_task(task: tuple[str, int, float, int]) -> Run | str:
    """One run (a `Run`), or why it failed; for a process pool."""
    name, workers, horizon, seed = task
    try:
        if name == "optuna":
            return optuna_run(workers, horizon, seed)
        if name == "dehb":
            return dehb_run(workers, horizon, seed)
        return paratune_run(name, workers, horizon, seed)
    except Exception as exc:  # a peer that breaks makes a row that says so, not a crash
        import traceback

        traceback.print_exc(file=sys.stderr)
        return f"failed: {type(exc).__name__}"


@dataclass
class ModelData:
    """Every run at one worker count."""

    workers: int
    trainings: int
    horizon: float
    seeds: int
    names: list[str]
    runs: dict[str, list[Run]] = field(default_factory=dict)  # per seed
    missing: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def contenders() -> tuple[list[str], dict[str, str]]:
    """The contenders to run and those that cannot run, with why."""
    names, missing = list(PARATUNE), {}
    for name, module in (("optuna", "optuna"), ("dehb", "dehb")):
        if installed(module):
            names.append(name)
        else:
            missing[name] = "not installed"
    return names, missing


def measure(workers: int, seeds: int, trainings: int, jobs: int = 1) -> ModelData:
    """Every contender on every seed; with ``jobs`` > 1, that many processes take the runs,
    the slowest (paratune's GP) first, so that no process is left with a long one at the
    end."""
    names, missing = contenders()
    horizon = trainings * MF_TOP / workers
    data = ModelData(workers, trainings, horizon, seeds, names, missing=missing)
    tasks = [(name, workers, horizon, seed) for seed in range(seeds) for name in names]
    tasks.sort(key=lambda task: not task[0].endswith(" gp"))  # stable: seeds stay in order
    began = time.perf_counter()
    results: list[Run | str] = []

    def collect(answers: Iterable[Run | str]) -> None:
        for answer in answers:
            results.append(answer)
            if len(results) % max(1, len(tasks) // 5) == 0 or len(results) == len(tasks):
                print(
                    f"  [B10 part 5, {workers} workers: {len(results)}/{len(tasks)} runs, "
                    f"{time.perf_counter() - began:.0f} s]",
                    file=sys.stderr,
                    flush=True,
                )

    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            collect(pool.imap(run_task, tasks, chunksize=1))
    else:
        collect(map(run_task, tasks))
    data.seconds = time.perf_counter() - began
    for (name, *_), got in zip(tasks, results, strict=True):
        if isinstance(got, str):
            data.missing[name] = got
        else:
            data.runs.setdefault(name, []).append(got)
    data.names = [name for name in names if name not in data.missing]
    return data


def label(name: str) -> str:
    """A contender's row label."""
    if name == "optuna":
        return f"{optuna_name()} TPESampler(multivariate, constant_liar) + HyperbandPruner"
    if name == "dehb":
        return f"DEHB {version('dehb')} (ask/tell, asynchronous)"
    kind, searcher = name.split()
    return f"paratune {'ASHA' if kind == 'asha' else 'Hyperband'}, searcher={searcher!r}"


def fmt_regret(value: float) -> str:
    """The gap to Hartmann-6's minimum, ``0.0123``."""
    return DASH if not math.isfinite(value) else f"{value - OPTIMUM:.4f}"


def times_to_median(data: ModelData) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Per contender, the time it first reached each seed's M (the median of the
    contenders' final bests), and on how many seeds it ended best (ties count for each)."""
    times: dict[str, list[float]] = {name: [] for name in data.names}
    wins = dict.fromkeys(data.names, 0)
    for seed in range(data.seeds):
        finals = {n: best_by(data.runs[n][seed].finished, data.horizon) for n in data.names}
        threshold = median(finals.values())
        for name in data.names:
            times[name].append(first_reach(data.runs[name][seed].finished, threshold))
            wins[name] += finals[name] == min(finals.values())
    return times, wins


def judge(table: Table, data: ModelData, summary: dict[str, float]) -> None:
    """The goal, on each model-based searcher's faster paratune row: it reaches M no later
    than every contender that is not a model-based paratune one."""
    others = [n for n in data.names if n.split()[-1] not in MODEL_BASED]
    bar = min((summary[n] for n in others), default=math.inf)
    rows = {row.contender: row for row in table.rows}
    for searcher in MODEL_BASED:
        mine = [n for n in data.names if n.split()[-1] == searcher]
        if not mine:
            continue
        best = min(mine, key=lambda n: summary[n])
        row = rows[label(best)]
        row.goal = "first to M"
        row.passed = math.isfinite(summary[best]) and summary[best] <= bar
        row.achieved = f"t(M) {summary[best]:.0f} s vs {bar:.0f} s"


def model_table(data: ModelData) -> Table:
    """The table for one worker count."""
    seeds = "1 seed" if data.seeds == 1 else f"median of {data.seeds} seeds"
    h = data.horizon
    # A third, two thirds and all of the time after the first full budget's 81 s, before
    # which no contender can have a full-budget result.
    checks = [MF_TOP + (h - MF_TOP) * k / 3 for k in (1, 2, 3)]
    table = Table(
        f"{TITLE}: model-based multi-fidelity, Hartmann-6, {data.workers} workers, {h:g} s "
        f"({data.trainings} full trainings' worth), budgets 1-{MF_TOP} (eta {MF_ETA}); {seeds}",
        ["trials", f"gap @{checks[0]:.0f}s", *(f"@{t:.0f}s" for t in checks[1:]), "t to M s",
         "best at end", "ms/suggestion"],
        ratio_label="t(M) / first",
    )  # fmt: skip
    times, wins = times_to_median(data)
    summary = {name: median(values) for name, values in times.items()}
    fastest = min(summary.values(), default=math.inf)
    for name in data.names:
        runs = data.runs[name]
        reached = sum(math.isfinite(t) for t in times[name])
        per = median(r.per_suggestion for r in runs)
        table.add(
            Row(
                label(name),
                [
                    f"{median(r.trials for r in runs):.0f}",
                    *(fmt_regret(median(best_by(r.finished, t) for r in runs)) for t in checks),
                    fmt_time(summary[name], reached, data.seeds),
                    f"{wins[name]}/{data.seeds}",
                    fmt_s(1e3 * per, 2),
                ],
                ratio=summary[name] / fastest
                if math.isfinite(summary[name]) and 0 < fastest < math.inf
                else None,
            )
        )
    judge(table, data, summary)
    for name, why in data.missing.items():
        table.missing(label(name) if name != "dehb" else "DEHB", why)
    first = [label(n) for n in data.names if summary[n] == fastest]
    if first and math.isfinite(fastest):
        table.notes.append(f"First to M: {', '.join(first)}, at {fastest:.0f} s (median).")
    table.notes += notes(data)
    return table


def notes(data: ModelData) -> list[str]:
    """The notes under a table."""
    return [
        "f(x, b) = Hartmann-6 with alpha_1 = 1 - 0.1 (1 - b/81) (Kandasamy et al. 2017; "
        "BoTorch's AugmentedHartmann): the standard Hartmann-6 at b = 81, biased upwards "
        "below. gap = best value after the full 81 units minus the minimum, -3.32237 (- "
        "before the first full-budget result), a third, two thirds and all of the way from "
        "81 s (when the first can come) to the end.",
        "Per seed, M = the median of the contenders' final bests; t to M = the first time a "
        "row's best full-budget value reaches it, the median over the seeds ((k/n): reached "
        "on k seeds); best at end = seeds on which the row ends best.",
        "Goal, on the faster of each model-based searcher's rows (tpe, gp): t to M no later "
        "than every row that is not model-based paratune (random search, Optuna, DEHB).",
        "1 virtual second per budget unit; a promotion resumes (b -> b' costs b' - b): "
        "paratune from a checkpoint (executor='simulated', max_time = the horizon), Optuna's "
        "trial goes on, DEHB resumes a config id it trained before. Rungs 1, 3, 9, 27, 81 "
        "for all: ASHA/Hyperband(1, 81, eta 3), HyperbandPruner(min_resource=1, "
        "max_resource=81, reduction_factor=3), DEHB(min_fidelity=1, max_fidelity=81, eta=3).",
        "Optuna and DEHB are simulated in this file on the same virtual workers (events in "
        "virtual-time order; no overhead for anyone): Optuna as in part 3 (study.ask, "
        "trial.report at the rung budgets, should_prune, study.tell); DEHB by dehb.ask() "
        "when a worker is free and dehb.tell() when its job ends (n_workers=1, so no Dask "
        "cluster: the asking is asynchronous and DEHB opens a new bracket whenever every "
        "open one waits).",
        "ms/suggestion = real milliseconds in the searcher per trial proposed (paratune: "
        "result.time_per_suggestion; Optuna: study.ask plus the suggest calls; DEHB: "
        "dehb.ask), median over seeds.",
        f"This table's runs took {data.seconds:.0f} s of real time.",
    ]


def run(options: Options) -> list[Table]:
    """Part 5 at 8 and 32 workers."""
    seeds = options.repeat or (2 if options.quick else MF_SEEDS)
    trainings = MF_QUICK_TRAININGS if options.quick else MF_TRAININGS
    return [
        model_table(measure(workers, seeds, trainings[workers], options.jobs))
        for workers in MF_WORKERS
    ]


def main() -> None:
    """Run part 5 alone."""
    from _common import main_for

    main_for(f"{TITLE}, part 5", run)


if __name__ == "__main__":
    main()
