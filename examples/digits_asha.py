"""ASHA against random search at the same wall time: a small neural network (scikit-learn's
MLPClassifier, trained one epoch at a time with partial_fit) on the bundled digits data.

ASHA starts every configuration with 1 epoch and promotes the best third to 3, 9 and 27
epochs; a promoted trial resumes from its checkpoint (the pickled model) in whichever
worker process takes it, instead of retraining. Random search trains every configuration
for the full 27 epochs. Both get the same seconds on the same worker processes.

    python examples/digits_asha.py [--seconds S] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import warnings
from functools import cache
from typing import Any

import numpy as np

import paratune as pt

MAX_EPOCHS = 27

SPACE = {
    "hidden": pt.Choice([16, 32, 64, 128]),
    "alpha": pt.Float(1e-6, 1e-1, log=True),
    "learning_rate_init": pt.Float(1e-4, 3e-1, log=True),
    "batch_size": pt.Choice([16, 32, 64, 128, 256]),
}


@cache
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits, scaled to [0, 1], split 75/25 once (cached per worker process)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.25, random_state=0)
    return x_train, x_val, y_train, y_val


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Train from the checkpoint (or from scratch) up to the job's budget in epochs,
    reporting validation accuracy after each epoch."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x_train, x_val, y_train, y_val = data()
    model = ctx.load_checkpoint()  # None on a fresh start; sets ctx.start_step
    if model is None:
        model = MLPClassifier(
            hidden_layer_sizes=(config["hidden"],),
            alpha=config["alpha"],
            learning_rate_init=config["learning_rate_init"],
            batch_size=config["batch_size"],
            random_state=ctx.seed % 2**32,
        )
    budget = int(ctx.budget or MAX_EPOCHS)  # random search runs at the full budget
    accuracy = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(ctx.start_step, budget):
            model.partial_fit(x_train, y_train, classes=np.arange(10))
            accuracy = float(model.score(x_val, y_val))
            ctx.report(epoch + 1, accuracy=accuracy)
    ctx.save_checkpoint(model)
    return {"accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="wall time of each search")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    common: dict[str, Any] = dict(
        metric="accuracy",
        mode="max",
        searcher="random",
        executor="processes",
        workers=args.workers,
        max_time=args.seconds,
        seed=0,
        store=None,
    )
    asha = pt.tune(
        objective,
        SPACE,
        scheduler=pt.schedulers.ASHA(budget="epochs", min_budget=1, max_budget=MAX_EPOCHS, eta=3),
        **common,
    )
    random = pt.tune(objective, SPACE, **common)
    for label, result in (("ASHA  ", asha), ("random", random)):
        trials = result.trial_list
        full = sum(t.budget == MAX_EPOCHS and t.status is pt.Status.DONE for t in trials)
        print(
            f"{label}: best validation accuracy {result.best_value or 0:.4f} "
            f"({len(trials)} configurations, {full} trained to {MAX_EPOCHS} epochs, "
            f"{result.wall_time:.1f} s on {result.workers} workers)"
        )


if __name__ == "__main__":
    main()
