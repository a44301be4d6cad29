"""Tune a scikit-learn model on a bundled dataset with the process executor.

python examples/sklearn_digits.py [--workers N] [--trials N]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import paratune as pt


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Cross-validated accuracy of a random forest on the digits data."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    features, labels = load_digits(return_X_y=True)
    model = RandomForestClassifier(
        n_estimators=config["n_estimators"],
        max_depth=config["max_depth"],
        max_features=config["max_features"],
        random_state=ctx.seed % 2**32,  # the trial's own seed: same result on every run
        n_jobs=1,
    )
    scores = cross_val_score(model, features, labels, cv=3)
    return {"accuracy": float(scores.mean())}


SPACE = {
    "n_estimators": pt.Int(10, 200, log=True),
    "max_depth": pt.Int(2, 20),
    "max_features": pt.Choice(["sqrt", "log2"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--trials", type=int, default=24)
    args = parser.parse_args()
    result = pt.tune(
        objective,
        SPACE,
        metric="accuracy",
        mode="max",
        searcher="random",
        executor="processes",
        workers=args.workers,
        max_trials=args.trials,
        seed=0,
    )
    print(result.trials[["trial_id", "value", "duration", "worker"]].head(10).to_string())
    print(f"best accuracy {result.best_value:.4f} with {result.best_config}")
    print(f"wall time {result.wall_time:.2f} s, utilisation {result.utilisation:.3f}")


if __name__ == "__main__":
    main()
