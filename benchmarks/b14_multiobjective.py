"""B14 multi-objective: the hypervolume each searcher's front reaches at equal numbers of
evaluations.

ZDT1, ZDT2, ZDT3 (30 variables) and DTLZ2 (3 objectives, 12 variables; formulas and
reference points in `_mo_problems`), paratune's nsga2, tpe, gp and random against Optuna's
NSGAIISampler, TPESampler (multivariate; constant liar on several workers) and
RandomSampler, on 1 worker and on 8: one run per contender and seed, then the hypervolume of
the front of the first 200 and 500 trials (trial-id order) of the same run, median and
quartiles over the seeds. Goal: paratune's best median at least Optuna's best median, at
each budget, on 1 and on 8 workers.

    python benchmarks/b14_multiobjective.py                       # the full table
    python benchmarks/b14_multiobjective.py --seeds 2 --budgets 50,100 --problems zdt1
    python benchmarks/b14_multiobjective.py --methods nsga2,optuna-nsga2 --workers 8
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from _common import DASH, Options, Row, Table, median, print_header, ratio
from _mo_problems import PROBLEMS, Problem, problem_named
from _mo_runs import (
    CONTENDERS,
    DURATION,
    Contender,
    Run,
    Task,
    contender_named,
    run_all,
    unavailable,
    warm_up,
)
from b8_quality import fmt_spread, workers_label

TITLE = "B14 multi-objective"

WORKERS = (1, 8)
BUDGETS = (200, 500)  # hypervolume after this many evaluations (one run of the largest)
SEEDS = 10
# paratune gp's runs stop here: past 300 observations its suggestions cost about 0.25 s each
# (ParEGO: a model fitted to 300 results and its expected improvement maximised), so a
# 500-evaluation run took 35-40 s of CPU here (ZDT1 and DTLZ2, 1 and 8 workers), as much as all
# the other contenders' runs of that seed together.
GP_BUDGET = 200
QUICK_BUDGETS, QUICK_SEEDS, QUICK_PROBLEM = (50, 100), 2, "zdt1"  # --quick


@dataclass(frozen=True)
class Settings:
    """What runs: problems, budgets read off each run, seeds, workers and contenders."""

    problems: tuple[Problem, ...] = PROBLEMS
    budgets: tuple[int, ...] = BUDGETS
    seeds: int = SEEDS
    workers: tuple[int, ...] = WORKERS
    contenders: tuple[Contender, ...] = CONTENDERS
    gp_budget: int = GP_BUDGET
    jobs: int = 1

    def length(self, contender: Contender) -> int:
        """The trials of each of ``contender``'s runs."""
        most = max(self.budgets)
        return min(most, self.gp_budget) if contender.key == "gp" else most


Key = tuple[str, str, int]  # problem key, contender key, workers


@dataclass
class Outcome:
    """Every run, by (problem, contender, workers); why a row has none; one-off costs."""

    settings: Settings
    runs: dict[Key, list[Run]] = field(default_factory=dict)
    missing: dict[Key, str] = field(default_factory=dict)
    one_off: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def measure(settings: Settings) -> Outcome:
    """Warm every contender up (its one-off costs), then run every task, going round the
    contenders for each seed (so a burst of other work on the machine falls on all of them)."""
    outcome = Outcome(settings)
    began = time.perf_counter()
    usable = []
    for contender in settings.contenders:
        why = unavailable(contender)
        for problem in settings.problems:
            for workers in settings.workers:
                if why is not None:
                    outcome.missing[(problem.key, contender.key, workers)] = why
        if why is None:
            usable.append(contender)
    outcome.one_off = warm_up(usable)
    tasks: list[Task] = [
        (problem.key, contender.key, workers, settings.length(contender), seed)
        for problem in settings.problems
        for seed in range(settings.seeds)
        for contender in usable
        for workers in settings.workers
    ]

    def progress(index: int) -> None:
        key, *_, seed = tasks[index]
        if index + 1 == len(tasks) or tasks[index + 1][4] != seed:
            took = time.perf_counter() - began
            print(f"  [B14 {key}: seed {seed} done, {took:.0f} s so far]", file=sys.stderr,
                  flush=True)  # fmt: skip

    for (key, method, workers, _, _), answer in zip(
        tasks, run_all(tasks, settings.jobs, progress), strict=True
    ):
        where = (key, method, workers)
        if isinstance(answer, str):
            outcome.missing[where] = answer
        elif where not in outcome.missing:
            outcome.runs.setdefault(where, []).append(answer)
    for where in outcome.missing:
        outcome.runs.pop(where, None)
    outcome.seconds = time.perf_counter() - began
    return outcome


# ---- figures --------------------------------------------------------------------------------


def volumes(outcome: Outcome, where: Key, budget: int) -> list[float] | None:
    """The hypervolume after ``budget`` trials of each run that long; None if none was."""
    reference = problem_named(where[0]).reference
    runs = [run for run in outcome.runs.get(where, []) if len(run.losses) >= budget]
    return [run.volume(budget, reference) for run in runs] or None


def median_volume(outcome: Outcome, where: Key, budget: int) -> float:
    values = volumes(outcome, where, budget)
    return math.nan if values is None else median(values)


def best_of(
    outcome: Outcome, problem: Problem, tool: str, budget: int, workers: int
) -> tuple[Contender, float] | None:
    """The ``tool``'s contender with the largest median hypervolume, and that median."""
    found = []
    for contender in outcome.settings.contenders:
        if contender.tool == tool:
            value = median_volume(outcome, (problem.key, contender.key, workers), budget)
            if value == value:  # NaN: no run that long
                found.append((contender, value))
    return max(found, key=lambda item: item[1]) if found else None


def fmt_hv(value: float) -> str:
    return DASH if value != value else f"{value:.6g}"


def short(contender: Contender) -> str:
    """``gp``, ``NSGAIISampler``: a contender's name within its tool."""
    return contender.label.split(" ")[1]


def worse_p(outcome: Outcome, mine: Key, theirs: Key, budget: int) -> float:
    """The one-sided Mann-Whitney U test's p-value that ``mine``'s hypervolumes are smaller
    than ``theirs``': a large p says the seeds alone could give the difference."""
    from scipy.stats import mannwhitneyu

    a, b = volumes(outcome, mine, budget), volumes(outcome, theirs, budget)
    if a is None or b is None:
        return math.nan
    return float(mannwhitneyu(a, b, alternative="less").pvalue)


# ---- tables ---------------------------------------------------------------------------------


def quality_table(outcome: Outcome, problem: Problem) -> Table:
    """One problem: each contender's hypervolume at each budget, on each number of workers."""
    settings = outcome.settings
    budgets = settings.budgets
    table = Table(
        f"{TITLE}: {problem.label}; hypervolume (reference {problem.reference}, true front "
        f"{fmt_hv(problem.best_volume())}) after " + "/".join(map(str, budgets))
        + f" evaluations, median [q1, q3] over {settings.seeds} seeds",
        ["seeds", *(f"HV @{b}" for b in budgets), "s/run"],
        ratio_label="HV / Optuna best",
    )  # fmt: skip
    for workers in settings.workers:
        for contender in settings.contenders:
            where = (problem.key, contender.key, workers)
            label = f"{contender.label}, {workers_label(workers)}"
            if where in outcome.missing:
                table.missing(label, outcome.missing[where])
                continue
            runs = outcome.runs[where]
            cells = [str(len(runs))]
            for budget in budgets:
                values = volumes(outcome, where, budget)
                cells.append(DASH if values is None else fmt_spread(values))
            cells.append(f"{median(run.tool_seconds for run in runs):.2f}")
            row = Row(label, cells)
            budget = max(b for b in budgets if b <= settings.length(contender))
            theirs = best_of(outcome, problem, "optuna", budget, workers)
            if theirs is not None:
                row.ratio = ratio(median_volume(outcome, where, budget), theirs[1])
            table.add(row)
    table.notes += [
        f"HV @N: hypervolume of the non-dominated set of the first N trials (trial-id order) "
        f"against the reference point {problem.reference}, one run per seed (seeds 0, 1, "
        f"...); the true front scores {fmt_hv(problem.best_volume())}, the most possible.",
        f"HV / Optuna best: this row's median over the best Optuna row's median (same "
        f"workers), at the largest budget this row ran; paratune gp's runs stop at "
        f"{settings.length(contender_named('gp'))} evaluations ({DASH} beyond).",
        "s/run: the tool's own seconds per run (wall time - time in the objective), median "
        "over the seeds; one-off costs (imports) are apart, in the last table.",
    ]
    return table


def goals_table(outcome: Outcome) -> Table:
    """paratune's best median against Optuna's best median, per problem, budget, workers."""
    settings = outcome.settings
    table = Table(
        f"{TITLE}: paratune's best vs Optuna's best; median hypervolume over "
        f"{settings.seeds} seeds, the best contender of each tool",
        ["paratune best", "Optuna best", "Optuna gap / paratune gap"],
        ratio_label="paratune / Optuna",
    )
    for problem in settings.problems:
        for budget in settings.budgets:
            for workers in settings.workers:
                label = f"{problem.key.upper()} @{budget}, {workers_label(workers)}"
                mine = best_of(outcome, problem, "paratune", budget, workers)
                theirs = best_of(outcome, problem, "optuna", budget, workers)
                if mine is None or theirs is None:
                    table.missing(label, "not run" if mine is None else DASH)
                    continue
                table.add(goal_row(outcome, problem, budget, workers, label, mine, theirs))
    table.notes += [
        "each tool's best: its contender with the largest median hypervolume at that budget "
        "and workers (paratune: nsga2, tpe, gp, random; Optuna: NSGAIISampler, TPESampler, "
        "RandomSampler).",
        "gap: the true front's hypervolume - the median; Optuna gap / paratune gap > 1: "
        "paratune's best is closer to the true front.",
        "goal: paratune's best median >= Optuna's best median (no tolerance). Where it fails, "
        "p is the one-sided Mann-Whitney U test's p-value that those paratune runs' "
        "hypervolumes are smaller than those Optuna runs': p >= 0.05 is within seed noise.",
    ]
    return table


def goal_row(
    outcome: Outcome,
    problem: Problem,
    budget: int,
    workers: int,
    label: str,
    mine: tuple[Contender, float],
    theirs: tuple[Contender, float],
) -> Row:
    best = problem.best_volume()
    gaps = ratio(best - theirs[1], best - mine[1])
    cells = [
        f"{fmt_hv(mine[1])} ({short(mine[0])})",
        f"{fmt_hv(theirs[1])} ({short(theirs[0])})",
        DASH if gaps is None else f"{gaps:.2f}",
    ]
    passed = mine[1] >= theirs[1]
    achieved = f"{fmt_hv(mine[1])} vs {fmt_hv(theirs[1])}"
    if not passed:
        p = worse_p(
            outcome, (problem.key, mine[0].key, workers), (problem.key, theirs[0].key, workers),
            budget,
        )  # fmt: skip
        achieved += f" ({mine[1] / theirs[1] - 1:+.2%}, p={p:.2f})"
    return Row(label, cells, goal=">= Optuna best", passed=passed,
               ratio=ratio(mine[1], theirs[1]), achieved=achieved)  # fmt: skip


def time_table(outcome: Outcome) -> Table:
    """Each contender's own seconds per run, per problem, apart from its one-off costs."""
    settings = outcome.settings
    table = Table(
        f"{TITLE}: run time per method; the tool's seconds per run, median over the seeds",
        ["one-off s", "trials/run", *(p.key.upper() for p in settings.problems), "ms/trial"],
    )
    for contender in settings.contenders:
        for workers in settings.workers:
            label = f"{contender.label}, {workers_label(workers)}"
            keys = [(p.key, contender.key, workers) for p in settings.problems]
            if all(key in outcome.missing for key in keys):
                table.missing(label, outcome.missing[keys[0]])
                continue
            runs = [outcome.runs.get(key, []) for key in keys]
            cells = [
                f"{outcome.one_off.get(contender.key, math.nan):.2f}",
                str(settings.length(contender)),
                *(f"{median(r.tool_seconds for r in group):.2f}" for group in runs),
                f"{median(r.tool_seconds / len(r.losses) for g in runs for r in g) * 1e3:.1f}",
            ]
            table.add(Row(label, cells))
    table.notes += time_notes(outcome)
    return table


def time_notes(outcome: Outcome) -> list[str]:
    notes = [
        "one-off s: a first run of 16 trials (DTLZ2, 2 workers) before any measured run: its "
        "imports and first compilations, kept out of the figures after it.",
        "per problem: the tool's own seconds per run (wall time - time in the objective; "
        "virtual seconds cost nothing), median over the seeds; ms/trial over every run.",
    ]
    gp = [run for (_, key, _), runs in outcome.runs.items() if key == "gp" for run in runs]
    tails = [statistics.fmean(run.suggest_seconds[-50:]) for run in gp if run.suggest_seconds]
    if tails:
        notes.append(
            f"paratune gp: {median(tails) * 1e3:.0f} ms per suggestion over the last 50 of its "
            f"runs of {outcome.settings.length(contender_named('gp'))} (median over runs); "
            f"past 300 observations they cost about 0.25 s each, so a 500-evaluation run took "
            f"35-40 s of CPU here: its runs stop at {GP_BUDGET} by default (--gp-budget)."
        )
    notes.append(f"B14 took {outcome.seconds:.0f} s after the warm-up")
    return notes


def tables(outcome: Outcome) -> list[Table]:
    """Every problem's table, then the goals, then the run times."""
    found = [quality_table(outcome, problem) for problem in outcome.settings.problems]
    return [*found, goals_table(outcome), time_table(outcome)]


def run_settings(settings: Settings) -> list[Table]:
    return tables(measure(settings))


def run(options: Options) -> list[Table]:
    """The full table, or with ``--quick`` ZDT1 at 50/100 evaluations on 2 seeds."""
    if options.quick:
        quick = Settings(
            problems=(problem_named(QUICK_PROBLEM),),
            budgets=QUICK_BUDGETS,
            seeds=options.repeat or QUICK_SEEDS,
            jobs=options.jobs,
        )
        return run_settings(quick)
    return run_settings(Settings(seeds=options.repeat or SEEDS, jobs=options.jobs))


def keys(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def settings_from(argv: Sequence[str] | None = None) -> Settings:
    """The settings from the command line (defaults: the full table)."""
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--seeds", type=int, default=SEEDS, metavar="N")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), metavar="LIST")
    parser.add_argument("--problems", default=",".join(p.key for p in PROBLEMS), metavar="LIST")
    parser.add_argument("--workers", default=",".join(map(str, WORKERS)), metavar="LIST")
    parser.add_argument("--methods", default=",".join(c.key for c in CONTENDERS), metavar="LIST")
    parser.add_argument("--gp-budget", type=int, default=GP_BUDGET, metavar="N",
                        help="paratune gp's runs stop here (default %(default)s)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="processes that share the runs")  # fmt: skip
    args = parser.parse_args(argv)
    budgets = tuple(sorted({int(b) for b in keys(args.budgets)}))
    if args.seeds < 1 or not budgets or min(budgets) < 1 or args.jobs < 1:
        parser.error("--seeds, --budgets and --jobs must be positive")
    return Settings(
        problems=tuple(problem_named(key) for key in keys(args.problems)),
        budgets=budgets,
        seeds=args.seeds,
        workers=tuple(int(w) for w in keys(args.workers)),
        contenders=tuple(contender_named(key) for key in keys(args.methods)),
        gp_budget=args.gp_budget,
        jobs=args.jobs,
    )


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_from(argv)
    print_header(TITLE, Options(jobs=settings.jobs))
    print(f"Each evaluation takes {DURATION[0]}-{DURATION[1]} virtual seconds (from its "
          f"trial's seed).\n")  # fmt: skip
    for table in run_settings(settings):
        table.print()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
