"""GP under multi-fidelity schedulers: results kept by budget, and the model fitted at the
highest budget that enough configs reached."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.schedulers import ASHA
from paratune.searchers import GP
from paratune.searchers._gpdata import Observations
from paratune.space import Space
from paratune.trial import Config, Status, Trial


def seen(
    observations: Observations, x: float, budget: float | None, value: float | None, **kw: Any
) -> None:
    point = np.array([x])
    status = kw.pop("status", Status.DONE)
    trial = Trial(0, {"x": x}, 0, status, value, budget=budget, **kw)
    observations.add((x,), point, trial)


def fitted(
    observations: Observations, enough: int
) -> tuple[float | None, list[float], list[float]]:
    fidelity, points, values, below = observations.training_set(enough)
    # Every config with a result is fitted or below the fidelity, once.
    xs = sorted(float(point[0]) for point in points + below)
    assert xs == sorted({float(point[0]) for point in points + below})
    assert len(xs) == len(observations._results)
    under = [float(point[0]) for point in below]
    assert fidelity is not None or not under
    assert all(max(observations._results[(x,)]) < (fidelity or 0) for x in under)
    return fidelity, [float(point[0]) for point in points], values


def test_the_fitted_budget_is_the_highest_that_enough_configs_reached() -> None:
    observations = Observations()
    assert fitted(observations, 3) == (None, [], [])
    for x in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5):
        seen(observations, x, 1, 10 + x)
    for x in (0.0, 0.1, 0.2):
        seen(observations, x, 3, 5 + x)
    seen(observations, 0.0, 9, 1.0)
    assert fitted(observations, 3) == (3.0, [0.0, 0.1, 0.2], [5.0, 5.1, 5.2])
    assert fitted(observations, 1) == (9.0, [0.0], [1.0])
    xs = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert fitted(observations, 7) == (1.0, xs, [10 + x for x in xs])
    # Seen only above 3 (stopped at 27 by its last report): its result there stands in.
    seen(observations, 0.6, 27, 0.5, status=Status.PRUNED)
    assert fitted(observations, 4) == (3.0, [0.0, 0.1, 0.2, 0.6], [5.0, 5.1, 5.2, 0.5])
    # Again at a budget seen before: the later result replaces the earlier one.
    seen(observations, 0.1, 3, 4.0)
    assert fitted(observations, 4)[2] == [5.0, 4.0, 5.2, 0.5]


def test_failures_and_cancellations() -> None:
    observations = Observations()
    seen(observations, 0.1, 1, 2.0)
    seen(observations, 0.1, 3, None, status=Status.FAILED, error="boom")  # its promotion
    seen(observations, 0.2, 1, None, status=Status.FAILED, error="boom")
    seen(observations, 0.3, 1, None, status=Status.CANCELLED)
    seen(observations, 0.4, 1, math.inf)  # not a number to fit: failed
    assert [float(point[0]) for point in observations.failed] == [0.2, 0.4]
    assert fitted(observations, 1) == (1.0, [0.1], [2.0])


def test_by_default_every_config_is_fitted_at_the_highest_budget_it_reached() -> None:
    observations = Observations()
    for x, budget, value in [(0.1, 1, 3.0), (0.2, 1, 2.0), (0.1, 3, 1.0), (0.3, 9, 0.5)]:
        seen(observations, x, budget, value)
    fidelity, points, values, below = observations.training_set(None)
    assert fidelity is None and below == []
    assert [float(point[0]) for point in points] == [0.1, 0.2, 0.3]
    assert values == [1.0, 2.0, 0.5]
    assert GP().fidelity == "latest"
    with pytest.raises(SpecError, match="fidelity must be 'latest' or 'highest', got 'top'"):
        GP(fidelity="top")


def test_without_budgets_every_result_is_fitted_in_order() -> None:
    observations = Observations()
    for x in (0.3, 0.1, 0.2):
        seen(observations, x, None, x)
    seen(observations, 0.1, None, 9.0)
    assert fitted(observations, 10) == (math.inf, [0.3, 0.1, 0.2], [0.3, 9.0, 0.2])


def crossing(config: dict[str, Any], ctx: pt.Context) -> float:
    """A learning curve whose early losses favour x near 0.2 and late ones x near 0.8."""
    assert ctx.budget is not None
    ctx.elapse(float(ctx.budget))
    x, y = config["x"], config["y"]
    return float((x - 0.8) ** 2 + (y - 0.5) ** 2 + 2 * (x - 0.2) ** 2 / ctx.budget)


class _Fidelities(GP):
    """A GP that records the budget its model fitted at each model-made suggestion."""

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        super().setup(space, seed=seed, workers=workers, max_trials=max_trials)
        self.fidelities: list[float] = []
        self.made: list[Config] = []

    def suggest(self) -> Config | None:
        design = bool(self._design)
        config = super().suggest()
        if not design and config is not None and self._fidelity is not None:
            self.fidelities.append(self._fidelity)
            self.made.append(config)
        return config


def test_under_asha_the_model_moves_up_the_rungs() -> None:
    searcher = _Fidelities(init_size=6, fidelity="highest")
    result = pt.tune(
        crossing,
        {"x": pt.Float(0, 1), "y": pt.Float(0, 1)},
        scheduler=ASHA(budget="epochs", min_budget=1, max_budget=27, eta=3),
        searcher=searcher,
        executor="simulated",
        workers=3,
        max_trials=60,
        seed=0,
        store=None,
    )
    assert searcher.fidelities[0] == 1
    assert searcher.fidelities == sorted(searcher.fidelities)  # rungs only fill up
    assert searcher.fidelities[-1] >= 9
    # Configs seen only below the budget fitted are in the model as believed values: no
    # suggestion comes back to one of them.
    points = np.array([[trial.config["x"], trial.config["y"]] for trial in result.trial_list])
    gaps = [np.abs(points[:i] - point).max(axis=1).min() for i, point in enumerate(points) if i]
    # Without them, 21 of these 59 configs came within 1e-3 of an earlier one, some
    # within 1e-16; with them, the nearest pair is 7e-4 apart.
    assert min(gaps) > 1e-4
