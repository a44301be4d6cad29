"""Asynchronous versus synchronous random search when a trial's duration depends on its config.

Each trial sleeps 0.05 + 0.45 * x seconds. Synchronous batches wait for their slowest trial;
the asynchronous loop gives a freed worker new work at once.

    python examples/async_vs_sync.py [--workers N] [--trials N]
"""

from __future__ import annotations

import argparse
from typing import Any

import paratune as pt


def straggler(config: dict[str, Any], ctx: pt.Context) -> float:
    """Takes longer for larger x; the best x is 0.3."""
    ctx.elapse(0.05 + 0.45 * config["x"])
    return float((config["x"] - 0.3) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--trials", type=int, default=64)
    args = parser.parse_args()
    space = {"x": pt.Float(0.0, 1.0)}
    for synchronous in (False, True):
        result = pt.tune(
            straggler,
            space,
            executor="threads",
            workers=args.workers,
            max_trials=args.trials,
            seed=0,
            synchronous=synchronous,
        )
        label = "synchronous " if synchronous else "asynchronous"
        print(
            f"{label}: wall time {result.wall_time:6.2f} s, utilisation "
            f"{result.utilisation:.3f}, best {result.best_value:.4f}"
        )


if __name__ == "__main__":
    main()
