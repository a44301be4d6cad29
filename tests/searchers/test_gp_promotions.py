"""GP under multi-fidelity schedulers: a promoted trial's later results replace its earlier
ones and never take another trial's place among the pending suggestions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import paratune as pt
from paratune.schedulers import ASHA, Hyperband, Scheduler
from paratune.searchers import GP
from paratune.space import Float, Space
from paratune.trial import Config, Status, Trial

LINE = Space({"x": Float(0, 1)})
PLANE = {"x": pt.Float(0, 1), "y": pt.Float(0, 1)}


def bowl(config: Config) -> float:
    return float((config["x"] - 0.3) ** 2 + (config.get("y", 0.5) - 0.6) ** 2)


def at(trial_id: int, config: Config, budget: float) -> Trial:
    """Trial ``trial_id`` done at ``budget``: the bowl, better the longer it trained."""
    return Trial(trial_id, config, trial_id, Status.DONE, bowl(config) + 1 / budget, budget=budget)


def design_at_one(size: int, *, seed: int, workers: int) -> tuple[GP, list[Config]]:
    """A GP on LINE whose initial design of ``size`` configs has ended at budget 1."""
    searcher = GP(init_size=size)
    searcher.setup(LINE, seed=seed, workers=workers, max_trials=None)
    design = []
    for trial_id in range(size):
        config = searcher.suggest()
        assert config is not None
        searcher.observe(at(trial_id, config, 1))
        design.append(config)
    return searcher, design


def test_a_promoted_trials_result_keeps_the_running_suggestion_pending() -> None:
    searcher, design = design_at_one(4, seed=0, workers=4)
    running = searcher.suggest()  # trial 4: still running below
    assert running is not None
    # Trial 0, promoted, ends at budget 3 with the same value: the model is as it was.
    searcher.observe(Trial(0, design[0], 0, Status.DONE, bowl(design[0]) + 1, budget=3))
    following = searcher.suggest()
    assert following is not None
    # Without trial 4 among the pending ones, the model proposed it again (1.6e-6 away).
    assert abs(following["x"] - running["x"]) > 1e-3
    assert len(searcher._pending) == 2


def test_a_result_at_a_budget_seen_before_replaces_the_earlier_one() -> None:
    searcher, configs = design_at_one(3, seed=1, workers=1)
    first = configs[0]
    searcher.observe(Trial(0, first, 0, Status.DONE, 5.0, budget=1))  # run again at 1
    searcher._refresh()
    assert searcher._done_y == [5.0] + [bowl(c) + 1 for c in configs[1:]]
    searcher.observe(at(0, first, 9))  # promoted: fitted at the highest budget it reached
    searcher._refresh()
    assert len(searcher._done_y) == 3 and searcher._done_y[0] == bowl(first) + 1 / 9
    # A promotion that failed leaves the earlier result as it was, and marks nothing failed.
    searcher.observe(Trial(0, first, 0, Status.FAILED, error="boom", budget=27))
    searcher._refresh()
    assert searcher._done_y[0] == bowl(first) + 1 / 9
    assert searcher._failed_u == []


def test_a_stored_trial_replayed_after_a_suggestion_still_takes_its_place() -> None:
    # The resume rule stands: a trial observed for the first time that matches no
    # suggestion, right after one, took that suggestion's place.
    searcher = GP(init_size=2)
    searcher.setup(LINE, seed=2, workers=2, max_trials=None)
    suggested = searcher.suggest()
    assert suggested is not None
    searcher.observe(at(0, {"x": 0.123}, 1))
    assert searcher._pending == {}


class _Watch(GP):
    """A GP that measures how close each suggestion comes to a config still running (its
    trial suggested, not yet observed: a trial is observed first when its first job ends)."""

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        super().setup(space, seed=seed, workers=workers, max_trials=max_trials)
        self.running: list[Config] = []
        self.closest = math.inf
        self.model_suggestions = 0
        self.dropped = 0  # running configs missing from the pending ones, after an observe

    def suggest(self) -> Config | None:
        config = super().suggest()
        if config is not None:
            if self.running:
                gaps = [max(abs(config[k] - other[k]) for k in config) for other in self.running]
                self.closest = min(self.closest, min(gaps))
            self.running.append(config)
            self.model_suggestions += len(self._done_y) >= 2
        return config

    def observe(self, trial: Trial) -> None:
        if trial.config in self.running:
            self.running.remove(trial.config)
        super().observe(trial)
        keys = [tuple(self._layout.encode(config).tolist()) for config in self.running]
        self.dropped += sum(key not in self._pending for key in keys)


def trains(config: dict[str, Any], ctx: pt.Context) -> float:
    """An epoch takes a virtual second; the bowl, the same at every budget, so that a
    promotion's result leaves the model as it was (where a dropped pending trial shows)."""
    assert ctx.budget is not None
    ctx.elapse(float(ctx.budget))
    return bowl(config)


@pytest.mark.parametrize(
    "scheduler",
    [
        ASHA(budget="epochs", min_budget=1, max_budget=27, eta=3),
        Hyperband(budget="epochs", min_budget=1, max_budget=27, eta=3),
    ],
    ids=["asha", "hyperband"],
)
def test_no_suggestion_lands_on_a_running_trial_under_promotions(scheduler: Scheduler) -> None:
    searcher = _Watch(init_size=6)
    result = pt.tune(
        trains,
        PLANE,
        scheduler=scheduler,
        searcher=searcher,
        executor="simulated",
        workers=4,
        max_trials=40,
        seed=0,
        store=None,
    )
    promoted = [t for t in result.trial_list if t.budget is not None and t.budget > 1]
    assert promoted, "the run promoted no trial: the test shows nothing"
    assert searcher.model_suggestions > 10
    # With promotions taking pending trials' places, 11 (ASHA) and 28 (Hyperband) running
    # configs went missing, and a suggestion came 8e-6 from a running one (Hyperband).
    assert searcher.dropped == 0
    assert searcher.closest > 2e-5
    best = result.best_config
    assert best is not None and bowl(best) < 0.01


def test_running_trials_stay_pending_however_many_promotions_end() -> None:
    searcher, design = design_at_one(4, seed=3, workers=3)
    running = [searcher.suggest(), searcher.suggest()]
    for budget in (3, 9, 27):
        searcher.observe(at(0, design[0], budget))
    keys = {tuple(LINE.encode(c).tolist()) for c in running if c is not None}
    assert set(searcher._pending) == keys
    third = searcher.suggest()
    assert third is not None
    points = np.array([c["x"] for c in running if c is not None])
    assert np.abs(points - third["x"]).min() > 1e-3
