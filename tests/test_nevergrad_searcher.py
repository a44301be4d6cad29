"""NevergradSearcher: Nevergrad's optimisers on paratune's loop. Serially it suggests what
Nevergrad's own loop does; on many workers the trials still running are asked and not told;
a resumed experiment's trials are told to it; failures are told as its worst loss and a
continued trial once; what it cannot take is refused by name."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ng = pytest.importorskip("nevergrad")

import paratune as pt  # noqa: E402
from paratune.nevergrad import NevergradSearcher  # noqa: E402
from paratune.schedulers import ASHA  # noqa: E402

SPACE = {
    "x": pt.Float(-2.0, 2.0),
    "lr": pt.Float(1e-4, 1e-1, log=True),
    "n": pt.Int(1, 64, log=True),
    "kind": pt.Choice(["a", "b", None]),
    "shape": pt.Choice([(1, 2), (3, 4)]),  # told to Nevergrad by position
    "epochs": 5,
}
CONTINUOUS = {"x": pt.Float(-2.0, 2.0), "y": pt.Float(-1.0, 1.0)}  # NGOpt: Cobyla on 1 worker
# scipy's COBYLA warns that the final trust radius Nevergrad gives it is adjusted.
COBYLA_WARNS = pytest.mark.filterwarnings("ignore:COBYLA.*RHOEND:UserWarning")


def loss(config: dict[str, Any]) -> float:
    n, kind = config.get("n", 8), config.get("kind")
    return float((config["x"] - 0.5) ** 2 + abs(n - 8) / 64 + (kind == "b") + config.get("y", 0))


def nevergrad_parameters(space: dict[str, Any]) -> Any:
    """The parametrization a Nevergrad user would write for ``space``, by hand."""
    made = {
        "x": ng.p.Scalar(lower=-2.0, upper=2.0),
        "y": ng.p.Scalar(lower=-1.0, upper=1.0),
        "lr": ng.p.Log(lower=1e-4, upper=1e-1),
        "n": ng.p.Log(lower=1, upper=64).set_integer_casting(),
        "kind": ng.p.Choice(["a", "b", None]),
        "shape": ng.p.Choice([(1, 2), (3, 4)]),
    }
    return ng.p.Dict(**{name: made[name] for name in space if name in made})


@COBYLA_WARNS
@pytest.mark.parametrize("space", [SPACE, CONTINUOUS], ids=["mixed", "continuous"])
def test_serially_it_suggests_what_nevergrads_own_loop_does(space: dict[str, Any]) -> None:
    parametrization = nevergrad_parameters(space)
    parametrization.random_state = np.random.RandomState(3)
    optimizer = ng.optimizers.NGOpt(parametrization, budget=25, num_workers=1)
    theirs: list[dict[str, Any]] = []
    for _ in range(25):  # what optimizer.minimize does on one worker
        candidate = optimizer.ask()
        theirs.append(candidate.value)
        optimizer.tell(candidate, loss(candidate.value))
    ours = pt.tune(loss, space, searcher=NevergradSearcher(), seed=3, max_trials=25, store=None)
    assert [{k: t.config[k] for k in theirs[0]} for t in ours.trial_list] == theirs
    assert ours.best_value == min(loss(config) for config in theirs)


def test_on_many_workers_the_running_trials_are_asked_and_not_told() -> None:
    searcher = NevergradSearcher("TwoPointsDE")
    waiting: list[int] = []

    def objective(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(1.0 + config["x"] ** 2)
        optimizer = searcher._optimizer
        waiting.append(optimizer.num_ask - optimizer.num_tell)
        return loss(config)

    result = pt.tune(objective, SPACE, searcher=searcher, executor="simulated", workers=6,
                     max_trials=30, seed=1, store=None)  # fmt: skip
    optimizer = searcher._optimizer
    assert optimizer.num_workers == 6 and optimizer.budget == 30
    assert optimizer.num_ask == optimizer.num_tell == 30 and optimizer.num_tell_not_asked == 0
    assert max(waiting) == 6  # each trial ran while the other five were asked and not told
    assert {t.config["shape"] for t in result.trial_list} <= {(1, 2), (3, 4)}
    assert all(t.config["epochs"] == 5 for t in result.trial_list)


def test_a_resumed_experiment_replays_the_same_candidates(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    # The same budget: with the default, the run's max_trials, NGOpt could choose otherwise.
    first = pt.tune(loss, SPACE, searcher=NevergradSearcher(budget=10), max_trials=6,
                    store=store, name="e")  # fmt: skip
    searcher = NevergradSearcher(budget=10)
    again = pt.tune(loss, SPACE, searcher=searcher, max_trials=10, store=store, name="e",
                    resume=True)  # fmt: skip
    optimizer = searcher._optimizer
    values = [t.value for t in first.trial_list]
    assert len(again.trial_list) == 10 and [t.value for t in again.trial_list[:6]] == values
    # Same seed, one worker: the optimiser asks again for each stored trial's config, and
    # is told its stored value.
    assert optimizer.num_tell == 10 and optimizer.num_tell_not_asked == 0


@COBYLA_WARNS
@pytest.mark.parametrize("space", [SPACE, CONTINUOUS], ids=["mixed", "continuous"])
def test_stored_trials_it_did_not_ask_for_are_told_as_made_from_their_config(
    tmp_path: Path, space: dict[str, Any]
) -> None:
    store = tmp_path / "s.db"
    pt.tune(loss, space, searcher="random", max_trials=6, store=store, name="e")
    searcher = NevergradSearcher()
    pt.tune(loss, space, searcher=searcher, max_trials=10, store=store, name="e", resume=True)
    optimizer = searcher._optimizer
    if space is SPACE:  # NGOpt's choice here takes any point: the six stored ones are told
        assert optimizer.num_tell_not_asked == 6 and optimizer.num_tell == 10
        archived = [v.parameter.value for v in optimizer.archive.values()]
        assert any(value["shape"] in (0, 1) for value in archived)  # a choice by position
    else:  # Cobyla learns from its own points alone: a new one, for the trials to come
        assert optimizer.num_tell == 4 and optimizer.num_tell_not_asked == 0


def test_failures_are_told_as_the_worst_loss_and_a_continued_trial_once() -> None:
    searcher = NevergradSearcher("OnePlusOne")
    told: list[float] = []

    def train(config: dict[str, Any], ctx: pt.Context) -> float:
        if searcher._optimizer.num_ask == 1 and searcher._optimizer.num_tell == 0:  # first
            searcher._optimizer.register_callback("tell", lambda o, c, value: told.append(value))
        if config["x"] > 1.5:
            raise ValueError("diverged")
        for step in range(ctx.start_step + 1, int(ctx.budget or 4) + 1):
            ctx.report(step, loss=loss(config) + 1 / step)
        return loss(config) + 1 / int(ctx.budget or 4)

    result = pt.tune(train, SPACE, searcher=searcher, metric="loss",
                     scheduler=ASHA(min_budget=1, max_budget=4, eta=2), max_trials=24,
                     store=None)  # fmt: skip
    failed = [t for t in result.trial_list if t.status is pt.Status.FAILED]
    continued = [t for t in result.trial_list if t.budget is not None and t.budget > 1]
    assert failed and continued  # some failed, some were continued past the lowest rung
    assert len(told) == len(result.trial_list) == 24
    assert told.count(5e20) == len(failed)  # inf, clipped to Nevergrad's worst loss


def test_a_space_of_constants_gives_its_one_config() -> None:
    result = pt.tune(lambda c: c["a"], {"a": 1.5}, searcher=NevergradSearcher(), store=None)
    assert [t.config for t in result.trial_list] == [{"a": 1.5}]


def test_a_run_stopped_short_of_the_budget_lets_python_exit(tmp_path: Path) -> None:
    # Cobyla runs in a thread that waits for its next tell: stopped at exit, else it hangs.
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent("""
        import warnings
        warnings.filterwarnings("ignore", "COBYLA")
        import paratune as pt
        from paratune.nevergrad import NevergradSearcher
        pt.tune(lambda c: c["x"] + c["y"], {"x": pt.Float(0, 1), "y": pt.Float(0, 1)},
                searcher=NevergradSearcher(budget=40), max_trials=3, store=None)
        import threading
        print(len(threading.enumerate()))
    """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"  # the main thread, and Cobyla's waiting


def test_conditional_spaces_and_a_missing_budget_are_refused() -> None:
    conditional = {"opt": pt.Choice(["sgd", "adam"]),
                   "momentum": pt.Float(0, 1, when={"opt": "sgd"})}  # fmt: skip
    with pytest.raises(pt.SpaceError, match=r"conditional parameters.*momentum"):
        pt.tune(lambda c: 0.0, conditional, searcher=NevergradSearcher(), max_trials=2,
                store=None)  # fmt: skip
    with pytest.raises(pt.SpecError, match="needs a budget"):
        pt.tune(lambda c: c["x"], SPACE, searcher=NevergradSearcher(), max_time=1, store=None)


def test_an_unknown_name_is_refused_saying_where_the_names_are() -> None:
    with pytest.raises(pt.SpecError, match=r"'NGopt'.*'NGOpt'.*nevergrad.optimizers.registry"):
        NevergradSearcher("NGopt")


@pytest.mark.parametrize("optimizer", [42, ng.p.Scalar, threading.Thread, lambda p: None])
def test_what_is_no_optimizer_is_refused_by_name(optimizer: Any) -> None:
    with pytest.raises(pt.SpecError, match="must be a Nevergrad optimizer's name, class"):
        NevergradSearcher(optimizer)


def test_an_optimizer_already_made_and_a_bad_budget_are_refused() -> None:
    made = ng.optimizers.OnePlusOne(nevergrad_parameters(CONTINUOUS), budget=5)
    with pytest.raises(pt.SpecError, match=r"OnePlusOne.*already made.*give its name"):
        NevergradSearcher(made)
    with pytest.raises(pt.SpecError, match="budget must be an integer >= 1, got 0"):
        NevergradSearcher(budget=0)


def test_an_optimizer_that_runs_one_point_at_a_time_is_refused_on_many_workers() -> None:
    with pytest.raises(pt.SpecError, match=r"Cobyla refuses budget=8, num_workers=4"):
        pt.tune(loss, CONTINUOUS, searcher=NevergradSearcher("Cobyla"), executor="simulated",
                workers=4, max_trials=8, store=None)  # fmt: skip


def test_without_nevergrad_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nevergrad", None)
    with pytest.raises(ImportError, match=r"pip install 'paratune\[nevergrad\]'"):
        NevergradSearcher()
