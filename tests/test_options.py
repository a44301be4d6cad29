"""`TuneOptions`: the one table of `tune`'s options, from which the spec keys, the stored
settings and resume are derived."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune._options import TuneOptions, option_names, resumed_options, spec_types
from paratune.spec import resume_arguments, spec_keys
from paratune.store import SQLiteStore


def test_tune_takes_exactly_the_options_with_their_defaults() -> None:
    parameters = inspect.signature(pt.tune).parameters
    given = [name for name in parameters if name not in ("objective", "space")]
    assert given == option_names()
    for option in dataclasses.fields(TuneOptions):
        assert parameters[option.name].default == option.default, option.name
        assert parameters[option.name].kind is inspect.Parameter.KEYWORD_ONLY


def test_spec_keys_are_the_objective_the_space_and_the_spec_options() -> None:
    assert spec_keys() == ["objective", "space", *spec_types()]
    # Options that only make sense in a call (a callback) or on the command line are no keys.
    assert {"progress", "resume", "overwrite"}.isdisjoint(spec_keys())
    assert spec_types()["scheduler"] == (str, dict)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metric": ""}, "metric must be a non-empty string or a list of them, got ''"),
        ({"mode": "best"}, "mode must be 'min' or 'max', got 'best'"),
        ({"max_trials": 0}, "max_trials must be an integer >= 1, got 0"),
        ({"retries": True}, "retries must be an integer >= 0, got True"),
        ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*63\), got -1"),
        ({"max_time": float("inf")}, "max_time must be a finite number of seconds > 0"),
        ({"target": float("nan")}, "target must be a finite number, got nan"),
        ({"checkpoint_dir": " "}, "checkpoint_dir must name a folder, got ' '"),
        ({"name": "a\nb"}, "name must not hold control characters"),
        ({"resume": True}, "resume=True needs the name of the experiment to continue"),
        ({"resume": True, "overwrite": True, "name": "a"}, "resume and overwrite exclude"),
    ],
)
def test_a_bad_option_is_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(pt.SpecError, match=message):
        TuneOptions(**options)


def test_stored_settings_keep_every_stored_option_as_json_does() -> None:
    options = TuneOptions(
        searcher=pt.searchers.Random(),
        scheduler={"type": "asha", "max_budget": 4},
        points_to_evaluate=({"x": 1},),
        checkpoint_dir=Path("folder"),
        max_trials=3,
    )
    stored = options.stored(workers=2, objective_folder="here")
    assert stored["searcher"] == repr(options.searcher)
    assert stored["scheduler"] == {"type": "asha", "max_budget": 4}
    assert stored["points_to_evaluate"] == [{"x": 1}]
    assert stored["checkpoint_dir"] == "folder"
    assert stored["workers"] == 2  # what the run made of it wins
    assert stored["objective_folder"] == "here"
    assert "metric" not in stored and "store" not in stored  # kept elsewhere, or not at all


def test_resume_gives_back_what_was_stored_and_refuses_objects() -> None:
    options = TuneOptions(executor="threads", workers=2, max_trials=5, retries=1)
    given = resumed_options(options.stored(), refuse=_raise)
    assert given == {
        "searcher": "random",
        "scheduler": "fifo",
        "executor": "threads",
        "workers": 2,
        "max_trials": 5,
        "retries": 1,
        "synchronous": False,
    }
    with pytest.raises(ValueError, match="ran searcher Random"):
        resumed_options(TuneOptions(searcher=pt.searchers.Random()).stored(), refuse=_raise)


def _raise(what: str) -> None:
    raise ValueError(what)


def objective(config: dict[str, Any]) -> float:
    return float(config["x"]) ** 2


def test_a_stored_run_resumes_with_the_options_it_ran_with(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    pt.tune(objective, {"x": pt.Int(0, 9)}, executor="threads", workers=2, max_trials=4,
            retries=1, seed=3, store=store, name="e", target=-1.0)  # fmt: skip
    db = SQLiteStore(store, readonly=True)
    try:
        db.select("e")
        experiment = db.experiment()
    finally:
        db.close()
    arguments = resume_arguments(experiment, source=str(store))
    assert arguments["objective"].__name__ == "objective"
    assert {key: arguments[key] for key in ("executor", "workers", "max_trials", "retries")} == {
        "executor": "threads",
        "workers": 2,
        "max_trials": 4,
        "retries": 1,
    }
    assert arguments["seed"] == 3 and arguments["target"] == -1.0
    result = pt.tune(**arguments, store=store, name="e", resume=True)
    assert len(result.trials) == 4
