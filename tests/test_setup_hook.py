"""`tune(setup=...)` and a spec's ``setup`` key: called once per worker before its first
trial, its result every trial's ``ctx.prepared``, its time start-up and no trial's, its
failure a `SetupError` before any trial, its name stored so that a resume imports it again."""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Objective, ReportHandler, Serial, takes_setup
from paratune.spec import load_run_spec, resume_arguments
from paratune.store import SQLiteStore

from .conftest import imports_undone
from .executors.test_public import ThreadPerJob

SPACE = {"x": pt.Float(0, 1)}


def counted_setup(folder: str) -> dict[str, Any]:
    """Leaves ``setup-TOKEN`` in ``folder``; returns the token and where it ran."""
    token = uuid.uuid4().hex
    (Path(folder) / f"setup-{token}").touch()
    return {"token": token, "pid": os.getpid(), "thread": threading.get_ident()}


def load() -> dict[str, float]:
    """A setup that prepares a constant."""
    return {"offset": 10.0}


def slow_load() -> dict[str, float]:
    """A setup that takes 0.5 s."""
    time.sleep(0.5)
    return {"offset": 10.0}


def broken_load() -> None:
    """A setup that raises."""
    raise FileNotFoundError("no such data file: digits.npz")


def uses_prepared(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """``x`` plus the prepared offset (or the token and where the setup ran)."""
    prepared = ctx.prepared
    if "token" in prepared:
        return {"value": config["x"], **prepared}
    return {"value": config["x"] + prepared["offset"]}


@pytest.mark.parametrize(
    ("executor", "workers", "setups"),
    [("serial", None, 1), ("simulated", 3, 1), ("threads", 3, 3), ("processes", 3, 3)],
)
def test_setup_runs_once_per_worker_and_every_trial_gets_its_result(
    tmp_path: Path, executor: str, workers: int | None, setups: int
) -> None:
    setup = functools.partial(counted_setup, str(tmp_path))
    result = pt.tune(uses_prepared, SPACE, executor=executor, workers=workers, setup=setup,
                     max_trials=12, store=None)  # fmt: skip
    tokens = {path.name.removeprefix("setup-") for path in tmp_path.glob("setup-*")}
    assert len(tokens) == setups  # every worker's, once, however many trials it ran
    trials = result.trial_list
    assert all(t.status is pt.Status.DONE for t in trials) and len(trials) == 12
    assert {t.metrics["token"] for t in trials} <= tokens
    in_driver = executor in ("serial", "simulated")
    assert all((t.metrics["pid"] == os.getpid()) == (executor != "processes") for t in trials)
    if in_driver:
        assert {t.metrics["thread"] for t in trials} == {threading.get_ident()}


def test_the_setups_time_is_start_up_not_trial_time() -> None:
    started = time.monotonic()
    result = pt.tune(uses_prepared, SPACE, workers=2, setup=slow_load, max_trials=4, store=None)
    assert time.monotonic() - started >= 0.5  # the run waited for it
    assert all(t.value is not None and t.value >= 10.0 for t in result.trial_list)
    assert all(t.duration is not None and t.duration < 0.5 for t in result.trial_list)
    assert result.busy_time < 0.5 * len(result.trial_list)


@pytest.mark.parametrize("executor", ["serial", "threads", "processes", "simulated"])
def test_a_setup_that_raises_stops_the_run_before_any_trial(tmp_path: Path, executor: str) -> None:
    store = tmp_path / "runs.db"
    workers = None if executor == "serial" else 2
    with pytest.raises(pt.SetupError) as raised:
        pt.tune(uses_prepared, SPACE, executor=executor, workers=workers, setup=broken_load,
                max_trials=4, store=store, name="e")  # fmt: skip
    error = raised.value
    assert isinstance(error, pt.ParatuneError)
    assert error.setup == f"{__name__}:broken_load"
    assert error.error == "FileNotFoundError: no such data file: digits.npz"
    assert str(error).startswith(f"setup {__name__}:broken_load failed in ")
    assert "in broken_load" in error.traceback and "in broken_load" in str(error)
    assert pt.load(store, "e").trial_list == []  # not one trial ran


def test_a_setup_must_be_callable() -> None:
    with pytest.raises(pt.SpecError, match="setup must be a function taking no arguments"):
        pt.tune(uses_prepared, SPACE, setup="objective:load", max_trials=1, store=None)  # type: ignore[arg-type]


class WithoutSetup(Serial):
    """An executor of one's own written before there were setups: its start takes none."""

    def start(self, objective: Objective, on_report: ReportHandler | None = None) -> None:  # type: ignore[override]
        super().start(objective, on_report)


def test_an_executor_whose_start_takes_no_setup_refuses_one() -> None:
    assert not takes_setup(WithoutSetup()) and takes_setup(Serial())
    with pytest.raises(pt.SpecError, match=r"setup needs an executor .* WithoutSetup\.start"):
        old: Any = WithoutSetup()  # no Executor to a type checker: its start lacks setup
        pt.tune(uses_prepared, SPACE, executor=old, setup=load, max_trials=1, store=None)
    result = pt.tune(uses_prepared, SPACE, executor=ThreadPerJob(2), setup=load, max_trials=4,
                     store=None)  # fmt: skip
    assert all(t.value is not None and t.value >= 10.0 for t in result.trial_list)


MODULE = """
def load():
    return {"offset": 10.0}

def objective(config, ctx):
    return config["x"] + ctx.prepared["offset"]

NOT_CALLABLE = 3
"""


@pytest.fixture(autouse=True)
def _imports_undone() -> Iterator[None]:
    with imports_undone("setup_objective"):
        yield


def _spec(folder: Path, setup: str, name: str = "setup_objective") -> Path:
    (folder / f"{name}.py").write_text(MODULE)
    spec = folder / "spec.yaml"
    spec.write_text(
        f"objective: {name}:objective\nsetup: {setup}\nspace:\n"
        "  x: {type: float, low: 0.0, high: 1.0}\nmax_trials: 3\n"
    )
    return spec


def test_a_spec_names_its_setup_and_a_resume_imports_it_again(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "setup_objective:load")
    kwargs = load_run_spec(spec)
    assert kwargs["setup"].__name__ == "load" and kwargs["setup"]() == {"offset": 10.0}
    store = tmp_path / "runs.db"
    result = pt.tune(**kwargs, workers=2, store=store, name="e")
    assert all(t.value is not None and t.value >= 10.0 for t in result.trial_list)
    db = SQLiteStore(store, readonly=True)
    try:
        db.select("e")
        experiment = db.experiment()
    finally:
        db.close()
    assert experiment.settings["setup"] == "setup_objective:load"
    assert experiment.settings["setup_folder"] == str(tmp_path.resolve())
    arguments = resume_arguments(experiment, source=str(store))
    assert arguments["setup"] is kwargs["setup"]  # imported again, by its stored name
    resumed = pt.tune(**{**arguments, "max_trials": 5}, store=store, name="e", resume=True)
    assert len(resumed.trial_list) == 5
    assert all(t.value is not None and t.value >= 10.0 for t in resumed.trial_list)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("setup_objective:missing", "key 'setup': module 'setup_objective' has no 'missing'"),
        ("setup_objective:NOT_CALLABLE", "key 'setup': 'setup_objective:NOT_CALLABLE' is not"),
        ("load", "key 'setup' must be 'module:function', got 'load'"),
        ("no_module_like_this:load", "key 'setup': cannot import module 'no_module_like_this'"),
    ],
)
def test_a_spec_setup_that_cannot_be_imported_is_a_spec_error(
    tmp_path: Path, setup: str, message: str
) -> None:
    spec = _spec(tmp_path, setup)
    with pytest.raises(pt.SpecError, match=message) as raised:
        load_run_spec(spec)
    assert str(spec) in str(raised.value)


def test_a_setup_defined_in_a_script_cannot_be_resumed_from_the_command_line(
    tmp_path: Path,
) -> None:
    store = tmp_path / "runs.db"

    def local_load() -> dict[str, float]:
        return {"offset": 10.0}

    pt.tune(uses_prepared, SPACE, setup=local_load, max_trials=2, store=store, name="e")
    db = SQLiteStore(store, readonly=True)
    try:
        db.select("e")
        experiment = db.experiment()
    finally:
        db.close()
    with pytest.raises(pt.SpecError, match=r"ran setup '.*local_load', which cannot be"):
        resume_arguments(experiment, source=str(store))
