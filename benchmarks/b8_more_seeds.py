"""B8, more seeds: the two GP searchers (paratune gp, Optuna GPSampler) on B8's problems, over
seeds that B8 does not use, to tell a real gap from the luck of 10 seeds.

    python benchmarks/b8_more_seeds.py                       # Hartmann-6, seeds 10-39
    python benchmarks/b8_more_seeds.py rosenbrock10 10 30    # a problem, first seed, count

Same runs as B8 (simulated executor; 1 worker, and 8 workers in batches; 100 evaluations);
prints the median [q1, q3] best value at 50 and 100 evaluations, and how many runs end
within 0.01 of the minimum. Opt-in: Hartmann-6 on 30 seeds takes about 10 minutes on one core.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from b8_quality import (
    GP_BUDGET,
    PROBLEMS,
    WORKERS,
    Problem,
    Run,
    optuna_run,
    paratune_run,
    quartiles,
)

BUDGETS = (50, 100)
NEAR = 0.01  # a run "found the minimum" when it ends this close to it


def runners() -> dict[str, Callable[[Problem, int, int], Run]]:
    return {
        "paratune gp": lambda p, w, s: paratune_run(p, "gp", w, GP_BUDGET, s),
        "Optuna GPSampler": lambda p, w, s: optuna_run(p, "GPSampler", w, GP_BUDGET, s),
    }


def main(argv: list[str]) -> None:
    name = argv[0] if argv else "hartmann6"
    first = int(argv[1]) if len(argv) > 1 else 10
    count = int(argv[2]) if len(argv) > 2 else 30
    problem = next(p for p in PROBLEMS if p.key == name)
    minimum = problem.minimum()
    print(f"B8 more seeds: {problem.label}, seeds {first}-{first + count - 1}, {GP_BUDGET} runs")
    for workers in WORKERS:
        for label, run in runners().items():
            runs = [run(problem, workers, seed) for seed in range(first, first + count)]
            cells = []
            for budget in BUDGETS:
                q1, mid, q3 = quartiles([r.best(budget) for r in runs])
                cells.append(f"@{budget} {mid:.5g} [{q1:.5g}, {q3:.5g}]")
            found = sum(r.best(GP_BUDGET) <= minimum + NEAR for r in runs)
            print(f"  {label:17s} {workers} worker(s): " + "  ".join(cells)
                  + f"  within {NEAR} of the minimum: {found}/{count}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
