"""OptunaSearcher: Optuna's samplers on paratune's loop. Serially it suggests what Optuna's
own loop does; on many workers the trials still running are RUNNING in the study; a
resumed experiment's trials are added to it; conditional spaces are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import paratune as pt  # noqa: E402
from paratune.optuna import OptunaSearcher  # noqa: E402

SPACE = {
    "x": pt.Float(-2.0, 2.0),
    "lr": pt.Float(1e-4, 1e-1, log=True),
    "n": pt.Int(1, 64, log=True),
    "kind": pt.Choice(["a", "b", None]),
    "shape": pt.Choice([(1, 2), (3, 4)]),  # not an Optuna category: told by position
    "epochs": 5,
}


def loss(config: dict[str, Any]) -> float:
    return float((config["x"] - 0.5) ** 2 + abs(config["n"] - 8) / 64 + (config["kind"] == "b"))


def test_serially_it_suggests_what_optunas_own_loop_does() -> None:
    def optuna_objective(trial: Any) -> float:
        config = {
            "x": trial.suggest_float("x", -2.0, 2.0),
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "n": trial.suggest_int("n", 1, 64, log=True),
            "kind": trial.suggest_categorical("kind", ["a", "b", None]),
        }
        return loss(config)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3))
    study.optimize(optuna_objective, n_trials=30)
    space = {name: domain for name, domain in SPACE.items() if name != "shape"}
    searcher = OptunaSearcher(lambda seed: optuna.samplers.TPESampler(seed=seed))
    ours = pt.tune(loss, space, searcher=searcher, seed=3, max_trials=30, store=None)
    theirs = [trial.params for trial in study.trials]
    assert [{k: t.config[k] for k in theirs[0]} for t in ours.trial_list] == theirs
    assert ours.best_value == study.best_value


def test_on_many_workers_the_running_trials_are_running_in_the_study() -> None:
    searcher = OptunaSearcher()
    seen: list[int] = []

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(1.0 + config["x"] ** 2)
        running = searcher._study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        seen.append(len(running))
        return loss(config)

    result = pt.tune(objective, SPACE, searcher=searcher, executor="simulated", workers=8,
                     max_trials=40, seed=1, store=None)  # fmt: skip
    states = [trial.state for trial in searcher._study.trials]
    assert len(states) == 40 and set(states) == {optuna.trial.TrialState.COMPLETE}
    assert max(seen) == 8  # each trial ran while the other seven were asked and not told
    assert {t.config["shape"] for t in result.trial_list} <= {(1, 2), (3, 4)}
    assert all(t.config["epochs"] == 5 for t in result.trial_list)


def test_a_resumed_experiment_adds_its_stored_trials_to_the_study(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    pt.tune(loss, SPACE, searcher=OptunaSearcher(), max_trials=6, store=store, name="e")
    searcher = OptunaSearcher()
    pt.tune(loss, SPACE, searcher=searcher, max_trials=10, store=store, name="e", resume=True)
    trials = searcher._study.trials
    assert len(trials) == 10 and all(t.state.name == "COMPLETE" for t in trials)
    assert trials[0].params["shape"] in (0, 1)  # stored (1, 2) told by its position


def test_failures_are_told_as_failed_and_conditional_spaces_are_refused() -> None:
    searcher = OptunaSearcher(optuna.samplers.RandomSampler(seed=0))
    pt.tune(lambda c: 1 / 0 if c["x"] > 0 else c["x"], SPACE, searcher=searcher,
            max_trials=12, store=None)  # fmt: skip
    states = {t.state.name for t in searcher._study.trials}
    assert states == {"COMPLETE", "FAIL"}
    conditional = {"opt": pt.Choice(["sgd", "adam"]),
                   "momentum": pt.Float(0, 1, when={"opt": "sgd"})}  # fmt: skip
    with pytest.raises(pt.SpaceError, match=r"conditional parameters.*momentum"):
        pt.tune(lambda c: 0.0, conditional, searcher=OptunaSearcher(), max_trials=2, store=None)


@pytest.mark.parametrize("sampler", ["tpe", 42, lambda seed: "nope"])
def test_what_is_no_sampler_is_refused_by_name(sampler: Any) -> None:
    with pytest.raises(pt.SpecError, match="must be an Optuna sampler"):
        pt.tune(lambda c: c["x"], SPACE, searcher=OptunaSearcher(sampler), max_trials=2,
                store=None)  # fmt: skip
