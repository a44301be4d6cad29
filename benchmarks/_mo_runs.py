"""B14's contenders and their runs: paratune's searchers through ``pt.tune`` on the simulated
executor, Optuna's samplers through ``study.optimize`` (1 worker) or an ask/tell loop that
keeps W trials pending (W workers), each evaluation taking the same kind of virtual time.
"""

from __future__ import annotations

import heapq
import math
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from _common import installed, quiet_optuna
from _mo_problems import PROBLEMS, Problem, problem_named, volume_after

import paratune as pt
from paratune.errors import SpecError
from paratune.searchers import make_searcher

# Each evaluation takes this many virtual seconds, uniform in the range, drawn from the
# trial's seed: on several workers the completions interleave, as real trials' do.
DURATION = (0.75, 1.25)

Losses = list[tuple[float, ...]]


@dataclass(frozen=True)
class Contender:
    """A paratune searcher or an Optuna sampler."""

    key: str  # its name in --methods
    label: str
    tool: str  # "paratune" or "optuna"
    name: str  # the searcher's name, or the Optuna sampler class


CONTENDERS = (
    Contender("nsga2", "paratune nsga2", "paratune", "nsga2"),
    Contender("tpe", "paratune tpe", "paratune", "tpe"),
    Contender("gp", "paratune gp", "paratune", "gp"),
    Contender("random", "paratune random", "paratune", "random"),
    Contender("optuna-nsga2", "Optuna NSGAIISampler", "optuna", "NSGAIISampler"),
    Contender("optuna-tpe", "Optuna TPESampler (mv; liar on >1)", "optuna", "TPESampler"),
    Contender("optuna-random", "Optuna RandomSampler", "optuna", "RandomSampler"),
)


def contender_named(key: str) -> Contender:
    """The contender whose key is ``key``."""
    for contender in CONTENDERS:
        if contender.key == key:
            return contender
    known = ", ".join(contender.key for contender in CONTENDERS)
    raise SystemExit(f"unknown method {key!r}; known: {known}")


def unavailable(contender: Contender) -> str | None:
    """Why ``contender`` cannot run here, or None when it can."""
    if contender.tool == "optuna":
        return None if installed("optuna") else "not installed"
    try:
        make_searcher(contender.name)
    except SpecError:
        return "not available (no such searcher yet)"
    return None


@dataclass
class Run:
    """One run: every trial's losses in trial-id order, the tool's own seconds (wall time
    minus time in the objective) and, for paratune gp, the seconds of each suggestion."""

    losses: Losses
    tool_seconds: float
    suggest_seconds: list[float] = field(default_factory=list)

    def volume(self, budget: int, reference: Sequence[float]) -> float:
        """The hypervolume of the first ``budget`` trials' front."""
        return volume_after(self.losses, budget, reference)


class Counted:
    """A problem's function over a config dict that adds up the time spent inside it."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.seconds = 0.0

    def __call__(self, config: dict[str, Any]) -> tuple[float, ...]:
        start = time.perf_counter()
        values = self.problem.fn([float(config[name]) for name in self.problem.names])
        self.seconds += time.perf_counter() - start
        return values


def duration(seed: int | str) -> float:
    """An evaluation's virtual seconds, from its trial's seed."""
    return random.Random(seed).uniform(*DURATION)


def paratune_run(problem: Problem, name: str, workers: int, budget: int, seed: int) -> Run:
    """``pt.tune`` on the simulated executor, trials in memory, every objective minimised;
    each evaluation declares its virtual seconds with ``ctx.elapse``."""
    evaluate = Counted(problem)

    def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
        ctx.elapse(duration(ctx.seed))
        return dict(zip(problem.metrics, evaluate(config), strict=True))

    searcher: Any = pt.searchers.GP() if name == "gp" else name  # to read its suggest_times
    start = time.perf_counter()
    result = pt.tune(
        objective,
        {name: pt.Float(0.0, 1.0) for name in problem.names},
        metric=problem.metrics,
        mode="min",
        searcher=searcher,
        executor="simulated",
        workers=workers,
        max_trials=budget,
        seed=seed,
        store=None,
    )
    wall = time.perf_counter() - start
    trials = sorted(result.trial_list, key=lambda trial: trial.trial_id)
    losses = [
        tuple(float(trial.metrics.get(metric, math.inf)) for metric in problem.metrics)
        for trial in trials
    ]
    times = [float(s) for s in getattr(searcher, "suggest_times", [])] if name == "gp" else []
    return Run(losses, wall - evaluate.seconds, times)


def optuna_sampler(name: str, seed: int, workers: int) -> Any:
    """Optuna's sampler ``name``, seeded; TPESampler multivariate, and with the constant liar
    (pending trials count as bad ones) on several workers."""
    import optuna

    options: dict[str, Any] = {}
    if name == "TPESampler":
        options = {"multivariate": True, "constant_liar": workers > 1}
    return getattr(optuna.samplers, name)(seed=seed, **options)


def optuna_run(problem: Problem, name: str, workers: int, budget: int, seed: int) -> Run:
    """One worker: ``study.optimize``. More: `pending_loop`."""
    import optuna
    from optuna.distributions import FloatDistribution

    quiet_optuna()
    evaluate = Counted(problem)
    start = time.perf_counter()
    study = optuna.create_study(
        directions=["minimize"] * problem.objectives,
        sampler=optuna_sampler(name, seed, workers),
    )
    if workers == 1:

        def through_trial(trial: Any) -> tuple[float, ...]:
            return evaluate({n: trial.suggest_float(n, 0.0, 1.0) for n in problem.names})

        study.optimize(through_trial, n_trials=budget)
    else:
        space = {n: FloatDistribution(0.0, 1.0) for n in problem.names}
        pending_loop(study, space, evaluate, workers, budget, seed)
    wall = time.perf_counter() - start
    trials = sorted(study.get_trials(deepcopy=False), key=lambda trial: trial.number)
    losses = [tuple(float(v) for v in trial.values) for trial in trials]
    return Run(losses, wall - evaluate.seconds)


def pending_loop(
    study: Any,
    space: dict[str, Any],
    evaluate: Callable[[dict[str, Any]], tuple[float, ...]],
    workers: int,
    budget: int,
    seed: int,
) -> None:
    """``workers`` workers, emulated in virtual time: ask ``workers`` trials, then, each time
    the earliest pending one ends (its virtual seconds from (seed, trial number)), tell it and
    ask the next, so ``workers`` trials are always pending until the budget is asked. Each
    trial is sampled at ask time with the others pending, as on real workers; deterministic."""
    pending: list[tuple[float, int, Any, tuple[float, ...]]] = []  # (ends at, number, ...)
    asked = 0

    def ask(now: float) -> None:
        nonlocal asked
        trial = study.ask(space)
        values = evaluate(trial.params)
        heapq.heappush(pending, (now + duration(f"{seed}:{trial.number}"), asked, trial, values))
        asked += 1

    for _ in range(min(workers, budget)):
        ask(0.0)
    while pending:
        ends, _, trial, values = heapq.heappop(pending)
        study.tell(trial, values)
        if asked < budget:
            ask(ends)


# ---- running many -----------------------------------------------------------------------

# The problem's key, the contender's key, workers, trials and seed (keys: they pickle).
Task = tuple[str, str, int, int, int]


def run_task(task: Task) -> Run | str:
    """One run, or why it failed (its traceback goes to stderr)."""
    key, method, workers, budget, seed = task
    problem, contender = problem_named(key), contender_named(method)
    try:
        if contender.tool == "paratune":
            return paratune_run(problem, contender.name, workers, budget, seed)
        return optuna_run(problem, contender.name, workers, budget, seed)
    except Exception as exc:  # a contender that breaks gets a row that says so
        traceback.print_exc(file=sys.stderr)
        return f"failed: {type(exc).__name__}"


def warm_up(contenders: Iterable[Contender]) -> dict[str, float]:
    """Each contender's one-off cost: the seconds of a first, short run (16 trials of
    DTLZ2 on 2 workers), which pays for its imports and first compilations, so that the
    runs measured afterwards (forked from this process under --jobs) do not."""
    costs: dict[str, float] = {}
    for contender in contenders:
        start = time.perf_counter()
        run_task((PROBLEMS[-1].key, contender.key, 2, 16, 0))
        costs[contender.key] = time.perf_counter() - start
    return costs


def run_all(
    tasks: Sequence[Task], jobs: int, progress: Callable[[int], None]
) -> Iterator[Run | str]:
    """Every task's run in order; ``jobs`` > 1: that many forked processes share them.
    ``progress(i)`` is called once task ``i`` is done."""
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for index, answer in enumerate(pool.imap(run_task, tasks, chunksize=1)):
                progress(index)
                yield answer
    else:
        for index, task in enumerate(tasks):
            answer = run_task(task)
            progress(index)
            yield answer
