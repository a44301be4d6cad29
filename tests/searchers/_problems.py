"""Test problems shared by the model-based searchers' tests: Branin, and a mixed space of a
log float, a float, an int, a choice and a constant."""

from __future__ import annotations

import math

from paratune.space import Choice, Float, Int, Space
from paratune.trial import Config


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
