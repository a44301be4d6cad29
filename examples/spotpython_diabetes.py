"""A small residual network regressor (PyTorch, CPU) on scikit-learn's bundled diabetes data,
tuned with a 10-point initial design evaluated in parallel, then the Gaussian-process
surrogate: the scenario of spotpython's parallel appendix. Runs the same search sequentially
and on every core, and prints the times, the rate of work and the speedup in wall time. Each
worker imports PyTorch and loads the data once, in the run's setup (`prepare`), not once per
trial.

    pip install torch==2.13.0      # the CPU build; the 'torch' extra asks only for torch>=2
    python examples/spotpython_diabetes.py [--trials N] [--init N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import paratune as pt


def prepare() -> dict[str, Any]:
    """The run's setup, once per worker: import PyTorch (one thread per worker: one trial per
    core, no oversubscription) and load the data, split and standardised, as tensors."""
    import torch
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    torch.set_num_threads(1)
    features, target = load_diabetes(return_X_y=True, scaled=True)
    target = (target - target.mean()) / target.std()
    split = train_test_split(features, target, test_size=0.25, random_state=0)
    names = ("x_train", "x_val", "y_train", "y_val")
    tensors = [torch.tensor(part, dtype=torch.float32) for part in split]
    return dict(zip(names, tensors, strict=True))


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Validation mean squared error of the network after early-stopped training."""
    import torch  # imported by the setup already: this only names it
    from torch import nn

    # What `prepare` returned in this worker (prepared here for a run without the setup).
    data = ctx.prepared if ctx.prepared is not None else prepare()
    x_train, x_val, y_train, y_val = (data[k] for k in ("x_train", "x_val", "y_train", "y_val"))
    torch.manual_seed(ctx.seed % 2**63)
    width = 2 ** config["l1"]

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Sequential(
                nn.Linear(width, width), nn.ReLU(), nn.Dropout(config["dropout_prob"])
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            change: torch.Tensor = self.layer(x)
            return x + change

    model = nn.Sequential(
        nn.Linear(x_train.shape[1], width), nn.ReLU(), Residual(), Residual(), nn.Linear(width, 1)
    )
    optimizers = {
        "Adadelta": (torch.optim.Adadelta, 1.0),
        "Adam": (torch.optim.Adam, 1e-3),
        "Adamax": (torch.optim.Adamax, 2e-3),
    }
    kind, base_lr = optimizers[config["optimizer"]]
    optimizer = kind(model.parameters(), lr=base_lr * config["lr_mult"])
    loss = nn.MSELoss()
    batch = 2 ** config["batch_size"]
    best, since_best = float("inf"), 0
    for _ in range(2 ** config["epochs"]):
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            loss(model(x_train[rows]).squeeze(1), y_train[rows]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val = float(loss(model(x_val).squeeze(1), y_val))
        if val < best:
            best, since_best = val, 0
        else:
            since_best += 1
            if since_best > config["patience"]:
                break  # early stopping
    return {"val_mse": best}


def space(max_epochs_exp: int) -> dict[str, Any]:
    return {
        "optimizer": pt.Choice(["Adadelta", "Adam", "Adamax"]),
        "l1": pt.Int(2, 5),  # 2**2 to 2**5 units
        "epochs": pt.Int(min(5, max_epochs_exp - 1), max_epochs_exp),  # 2**5.. epochs
        "batch_size": pt.Int(5, 8),  # 2**5 to 2**8
        "dropout_prob": pt.Float(0.0, 0.5),
        "patience": pt.Int(2, 8),
        "lr_mult": pt.Float(0.1, 10.0, log=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--init", type=int, default=10, help="initial design size")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--max-epochs-exp",
        type=int,
        default=6,
        help="epochs up to 2**N (spotpython uses 8; 6 keeps this under a minute)",
    )
    args = parser.parse_args()
    # Import torch once before either run, so that neither run's start-up (the setup, in
    # the driver or in each forked worker) pays the one-off import of a few seconds.
    import torch  # noqa: F401

    runs: dict[str, pt.TuneResult] = {}
    for label, executor, workers in (
        ("sequential", "serial", None),
        ("parallel", "processes", args.workers),
    ):
        result = pt.tune(
            objective,
            space(args.max_epochs_exp),
            metric="val_mse",
            mode="min",
            searcher=pt.searchers.GP(init_size=args.init),
            executor=executor,
            workers=workers,
            setup=prepare,
            max_trials=args.trials,
            seed=0,
            store=None,
        )
        runs[label] = result
        print(
            f"{label:>10}: {result.wall_time:6.2f} s, {result.busy_time:6.2f} s in trials, "
            f"best val_mse {result.best_value:.4f}, utilisation {result.utilisation:.3f}"
        )
    sequential, parallel = runs["sequential"], runs["parallel"]
    # The two runs train different networks after the design (the GP sees results in a
    # different order, and early stopping cuts trials short), so their wall times alone do
    # not compare like with like. Compare their rates of work too: seconds in trials per
    # wall second (workers busy on average), which is not a speedup.
    rate = parallel.concurrency / sequential.concurrency
    print(
        f"work rate {rate:.2f}x on {args.workers} workers, {rate / args.workers:.2f} per worker "
        f"(seconds in trials per wall second, parallel over sequential; "
        f"speedup in wall time {sequential.wall_time / parallel.wall_time:.2f}x)"
    )
    print(f"best config: {parallel.best_config}")


if __name__ == "__main__":
    main()
