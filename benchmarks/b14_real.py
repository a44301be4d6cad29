"""B14 real: multi-objective ASHA against random search at equal wall time, on a real
workload: a scikit-learn MLPClassifier on the bundled digits data, trained one epoch at a
time with ``partial_fit``, tuned for validation error and parameter count together.

Contenders, on the process executor with the same workers and the same ``max_time``:
ASHA (epochs 1, 3, 9, 27; a promoted trial resumes from its checkpoint) with random search
and with nsga2, and random search with FIFO (every trial trained for the full 27 epochs).
Each run's front is scored by its hypervolume against one common reference point.

    python benchmarks/b14_real.py                      # 3 seeds, 60 s per run, 2 workers
    python benchmarks/b14_real.py --seeds 1 --seconds 10
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from _common import Options, Row, Table, median, print_header, ratio
from b8_quality import fmt_spread

import paratune as pt
from paratune.pareto import hypervolume, non_dominated

TITLE = "B14 real"

MAX_EPOCHS = 27
ETA = 3
SEEDS = 3
SECONDS = 60.0  # each run's wall time
WORKERS = 2
QUICK_SEEDS, QUICK_SECONDS = 1, 15.0
FEATURES, CLASSES = 64, 10
LAYERS, UNITS = (1, 3), (8, 256)

SPACE = {
    "layers": pt.Int(*LAYERS),
    "units": pt.Int(*UNITS, log=True),
    "alpha": pt.Float(1e-6, 1e-1, log=True),
    "learning_rate_init": pt.Float(1e-4, 1e-1, log=True),
    "batch_size": pt.Choice([32, 64, 128]),
}


def parameters(layers: int, units: int) -> int:
    """Weights and biases of an MLP with ``layers`` hidden layers of ``units`` each."""
    sizes = [FEATURES, *([units] * layers), CLASSES]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


LARGEST = parameters(LAYERS[1], UNITS[1])  # 150,794
# Error 1 (every digit wrong) and log10 of 1.5 times the largest network: every trained model
# is inside it, the largest network and one that learnt nothing included. The parameter
# count enters the hypervolume as its logarithm, so that each decade of size weighs the same.
REFERENCE = (1.0, math.log10(1.5 * LARGEST))
# The hypervolume of the ideal point (error 0 at the smallest network): what no run exceeds.
# Every front here is near it, so the tables give each one's gap to it as well.
IDEAL = REFERENCE[0] * (REFERENCE[1] - math.log10(parameters(LAYERS[0], UNITS[0])))


@cache
def data() -> tuple[Any, Any, Any, Any]:
    """Digits, scaled to [0, 1], split 75/25 once (cached per worker process)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    split: Any = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    return split[0], split[1], split[2], split[3]


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Train from the checkpoint (or from scratch) up to the job's budget in epochs; the
    validation error and the network's parameter count."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, x_val, y_train, y_val = data()
    model = ctx.load_checkpoint()  # None on a fresh start; sets ctx.start_step
    if model is None:
        model = MLPClassifier(
            hidden_layer_sizes=(int(config["units"]),) * int(config["layers"]),
            alpha=config["alpha"],
            learning_rate_init=config["learning_rate_init"],
            batch_size=config["batch_size"],
            random_state=ctx.seed % 2**32,
        )
    # One core per worker: BLAS threads would fight over the cores the other workers use.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(ctx.start_step, int(ctx.budget or MAX_EPOCHS)):
            model.partial_fit(x_train, y_train, classes=np.arange(CLASSES))
        error = 1.0 - float(model.score(x_val, y_val))
    ctx.save_checkpoint(model)
    return {"error": error, "params": float(parameters(config["layers"], config["units"]))}


@dataclass(frozen=True)
class Contender:
    label: str
    searcher: str
    asha: bool

    def scheduler(self) -> Any:
        if self.asha:
            return pt.schedulers.ASHA(budget="epochs", min_budget=1, max_budget=MAX_EPOCHS,
                                      eta=ETA)  # fmt: skip
        return pt.schedulers.FIFO(budget="epochs", max_budget=MAX_EPOCHS)


CONTENDERS = (
    Contender("paratune ASHA + random", "random", True),
    Contender("paratune ASHA + nsga2", "nsga2", True),
    Contender("paratune FIFO + random", "random", False),
)


@dataclass
class Run:
    """One run's trials: (error, log10 parameters, epochs trained) of each that ended."""

    points: list[tuple[float, float, float]]
    configs: int

    def volume(self, full_only: bool) -> float:
        """The hypervolume of the front; ``full_only``: of the trials trained to the end."""
        kept = [(e, p) for e, p, epochs in self.points if not full_only or epochs >= MAX_EPOCHS]
        if not kept:
            return 0.0
        losses = np.array(kept)
        return hypervolume(losses[non_dominated(losses)], REFERENCE)


def one_run(contender: Contender, seed: int, seconds: float, workers: int) -> Run:
    """A ``pt.tune`` run of ``seconds`` on ``workers`` processes."""
    result = pt.tune(
        objective,
        SPACE,
        metric=["error", "params"],
        mode="min",
        searcher=contender.searcher,
        scheduler=contender.scheduler(),
        executor="processes",
        workers=workers,
        max_time=seconds,
        seed=seed,
        store=None,
    )
    points = [
        (float(t.metrics["error"]), math.log10(float(t.metrics["params"])),
         float(t.budget if t.budget is not None else MAX_EPOCHS))
        for t in result.trial_list
        if t.status is pt.Status.DONE and "error" in t.metrics
    ]  # fmt: skip
    return Run(points, len(result.trial_list))


def prepare() -> None:
    """Import scikit-learn's network and load the data in this process, before any run:
    the worker processes forked from it start with both, so no run pays for them."""
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    del MLPClassifier, threadpool_limits
    data()


def measure(seeds: int, seconds: float, workers: int) -> dict[str, list[Run]]:
    """Every contender on every seed, going round the contenders for each seed."""
    prepare()
    runs: dict[str, list[Run]] = {c.label: [] for c in CONTENDERS}
    for seed in range(seeds):
        for contender in CONTENDERS:
            runs[contender.label].append(one_run(contender, seed, seconds, workers))
        print(f"  [B14 real: seed {seed} done]", file=sys.stderr, flush=True)
    return runs


def table(runs: dict[str, list[Run]], seconds: float, workers: int) -> Table:
    """Each contender's hypervolume, every trial's and the fully trained trials', and its
    gap to the ideal point's."""
    seeds = len(next(iter(runs.values())))
    out = Table(
        f"{TITLE}: MLP on digits, validation error and parameter count; hypervolume after "
        f"{seconds:g} s on {workers} worker processes, median [q1, q3] over {seeds} seeds",
        ["seeds", "configs", f"at {MAX_EPOCHS} epochs", "least error", "HV, every trial",
         "HV, full trials", "gap"],
        ratio_label="FIFO gap / gap",
    )  # fmt: skip
    fifo = IDEAL - median(run.volume(False) for run in runs[CONTENDERS[-1].label])
    for contender in CONTENDERS:
        done = runs[contender.label]
        full = median(sum(p[2] >= MAX_EPOCHS for p in run.points) for run in done)
        least = median(min((p[0] for p in run.points), default=math.nan) for run in done)
        everything = [run.volume(False) for run in done]
        trained = [run.volume(True) for run in done]
        configs = median(run.configs for run in done)
        cells = [str(len(done)), f"{configs:.0f}", f"{full:.0f}", f"{least:.4f}"]
        cells += [fmt_spread(everything), fmt_spread(trained)]
        cells.append(f"{IDEAL - median(everything):.4f}")
        row = Row(contender.label, cells)
        if contender.asha:
            row.ratio = ratio(fifo, IDEAL - median(everything))
        out.add(row)
    out.notes += notes()
    return out


def notes() -> list[str]:
    """What the table's figures are."""
    return [
        f"objectives: validation error (1 - accuracy, 25% of the 1,797 digits held out) and "
        f"the parameter count of MLPClassifier(hidden_layer_sizes=(units,) * layers), layers "
        f"{LAYERS[0]}-{LAYERS[1]}, units {UNITS[0]}-{UNITS[1]} (log), with alpha, "
        f"learning_rate_init and batch_size; trained one epoch per partial_fit.",
        f"hypervolume of the non-dominated (error, log10 parameters) points against the "
        f"reference ({REFERENCE[0]:g}, {REFERENCE[1]:.4f}) = (every digit wrong, 1.5 x the "
        f"largest network, {LARGEST:,} parameters); the ideal point (error 0 at the smallest "
        f"network, {parameters(LAYERS[0], UNITS[0])} parameters) scores {IDEAL:.4f}, and gap "
        f"is that minus the median (every trial).",
        "HV, every trial: each ended trial at the highest budget it reached (a model trained "
        f"for fewer epochs is a model too); HV, full trials: only those trained {MAX_EPOCHS} "
        "epochs. least error: the smallest validation error of any trial, median over seeds.",
        f"ASHA: min_budget 1, max_budget {MAX_EPOCHS}, eta {ETA} (rungs 1, 3, 9, 27 epochs), "
        "a promoted trial resumes from its checkpoint; FIFO: every trial at 27 epochs. Each "
        "run: pt.tune(..., executor='processes', workers=W, max_time=S, seed=s, store=None).",
        "FIFO gap / gap: FIFO + random's gap over this row's; > 1: this row's front is closer "
        "to the ideal point.",
    ]


def run_with(seeds: int, seconds: float, workers: int) -> list[Table]:
    began = time.perf_counter()
    found = table(measure(seeds, seconds, workers), seconds, workers)
    found.notes.append(f"B14 real took {time.perf_counter() - began:.0f} s")
    return [found]


def run(options: Options) -> list[Table]:
    """3 seeds of 60 s, or with ``--quick`` 1 seed of 15 s."""
    if options.quick:
        return run_with(options.repeat or QUICK_SEEDS, QUICK_SECONDS, WORKERS)
    return run_with(options.repeat or SEEDS, SECONDS, WORKERS)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--seeds", type=int, default=SEEDS, metavar="N")
    parser.add_argument("--seconds", type=float, default=SECONDS, metavar="S",
                        help="wall time of each run")  # fmt: skip
    parser.add_argument("--workers", type=int, default=WORKERS, metavar="N")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--seeds, --seconds and --workers must be positive")
    print_header(TITLE, Options())
    for found in run_with(args.seeds, args.seconds, args.workers):
        found.print()


if __name__ == "__main__":
    main()
