"""What the model-based searchers' tests share: test problems (Branin, and a mixed space of
a log float, a float, an int, a choice and a constant), trials made by hand, and a loop that
drives a searcher as a one-worker tuner would."""

from __future__ import annotations

import math
from collections.abc import Callable

from paratune.searchers import Searcher
from paratune.space import Choice, Float, Int, Space
from paratune.trial import Config, Status, Trial


def branin(config: Config) -> float:
    x1, x2 = config["x1"], config["x2"]
    return float(
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
    )


BRANIN = {"x1": Float(-5, 10), "x2": Float(0, 15)}
BRANIN_MIN = 0.397887

MIXED = Space(
    {
        "lr": Float(1e-4, 1e-1, log=True),
        "x": Float(-1.0, 1.0),
        "n": Int(1, 16),
        "kind": Choice(["bad", "good", "ugly"]),
        "epochs": 10,
    }
)


def mixed_loss(config: Config) -> float:
    """Best at lr=1e-2, x=0.3, n=4 and kind='good'; 'good' is worth far more than the rest."""
    return float(
        (math.log10(config["lr"]) + 2) ** 2 / 4
        + (config["x"] - 0.3) ** 2
        + ((config["n"] - 4) / 16) ** 2
        + (0.0 if config["kind"] == "good" else 2.0)
    )


def done(trial_id: int, config: Config, value: float, budget: float | None = None) -> Trial:
    return Trial(trial_id, config, trial_id, Status.DONE, value=value, budget=budget)


def failed(trial_id: int, config: Config) -> Trial:
    return Trial(trial_id, config, trial_id, Status.FAILED, error="RuntimeError: boom")


def drive(
    searcher: Searcher,
    space: Space,
    objective: Callable[[Config], float],
    n: int,
    *,
    seed: int = 0,
    workers: int = 1,
) -> list[Config]:
    """Suggest and observe ``n`` trials one at a time, as a one-worker tuner would."""
    searcher.setup(space, seed=seed, workers=workers, max_trials=n)
    configs = []
    for trial_id in range(n):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(done(trial_id, config, objective(config)))
        configs.append(config)
    return configs


def branches() -> Space:
    """An optimizer with its own parameters, a learning rate for all, and a third layer's
    width that exists only with three layers or more."""
    return Space(
        {
            "optimizer": Choice(
                ["sgd", "adam", "none"],
                branches={
                    "sgd": {"momentum": Float(0.0, 0.99)},
                    "adam": {"beta": Float(0.8, 0.999)},
                },
            ),
            "lr": Float(1e-4, 1.0, log=True),
            "layers": Int(1, 4),
            "units_3": Int(16, 256, when={"layers": {">=": 3}}),
        }
    )


def branch_loss(config: Config) -> float:
    """0 at adam, lr=1e-3, beta=0.95, three layers of which the third has 128 units."""
    optimizer, lr = config["optimizer"], math.log10(config["lr"])
    if optimizer == "adam":
        value = (lr + 3) ** 2 + ((config["beta"] - 0.95) / 0.1) ** 2
    elif optimizer == "sgd":
        value = 0.5 + (lr + 1) ** 2 + (config["momentum"] - 0.9) ** 2
    else:
        value = 1.0 + (lr + 2) ** 2
    value += 0.1 * (config["layers"] - 3) ** 2
    value += ((config["units_3"] - 128) / 128) ** 2 if config["layers"] >= 3 else 0.5
    return float(value)
