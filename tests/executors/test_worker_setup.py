"""The run's setup on real workers: a process that replaces a dead worker runs it again, its
time is never a trial's (not even against ``trial_timeout``), and a setup that raises or
kills its worker stops the run with a `SetupError`, never a hang."""

from __future__ import annotations

import functools
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from paratune.context import Context
from paratune.executors import Executor, Processes, SetupError, Threads
from paratune.trial import Event, Job

DEADLINE = 60.0


def counted_setup(folder: str, slow_after_a_death: float = 0.0) -> str:
    """Leaves ``setup-TOKEN-PID`` in ``folder`` and returns the token; takes
    ``slow_after_a_death`` seconds once a trial has died (file ``died``)."""
    if (Path(folder) / "died").exists():
        time.sleep(slow_after_a_death)
    token = uuid.uuid4().hex
    (Path(folder) / f"setup-{token}-{os.getpid()}").touch()
    return token


def fails_after_a_death(folder: str) -> str:
    """A setup that raises once a trial has died."""
    if (Path(folder) / "died").exists():
        raise OSError("the data went away")
    return "loaded"


def dies_in_setup() -> None:
    """A setup that kills its process."""
    os._exit(7)


def exits_in_setup() -> None:
    """A setup that calls ``sys.exit``."""
    sys.exit(5)


def prepared_or_dies(config: dict[str, Any], ctx: Context) -> Any:
    """Dies (leaving a file ``died``) when ``config["die"]``; else returns ``ctx.prepared``."""
    if config["die"]:
        (Path(config["folder"]) / "died").touch()
        os._exit(3)
    return ctx.prepared


def _drain(executor: Executor, count: int) -> list[Event]:
    events: list[Event] = []
    end = time.monotonic() + DEADLINE
    while len(events) < count:
        assert time.monotonic() < end, "jobs still in flight"
        events += executor.completed(timeout=1.0)
    return events


def _job(trial_id: int, folder: Path, die: bool = False) -> Job:
    return Job(trial_id, 1, {"die": die, "folder": str(folder)}, seed=trial_id)


def test_a_worker_that_replaces_a_dead_one_runs_the_setup_again(tmp_path: Path) -> None:
    executor = Processes(1)
    executor.start(prepared_or_dies, setup=functools.partial(counted_setup, str(tmp_path)))
    try:
        executor.submit(_job(0, tmp_path))
        [first] = _drain(executor, 1)
        executor.submit(_job(1, tmp_path, die=True))
        [dead] = _drain(executor, 1)
        executor.submit(_job(2, tmp_path))
        [after] = _drain(executor, 1)
    finally:
        executor.close()
    setups = sorted(tmp_path.glob("setup-*"), key=lambda path: path.stat().st_mtime_ns)
    assert len(setups) == 2  # the first worker's, and its replacement's
    assert not dead.ok and "exit code 3" in (dead.error or "")
    assert first.result == setups[0].name.split("-")[1]
    assert after.result == setups[1].name.split("-")[1] != first.result
    assert after.pid == int(setups[1].name.split("-")[2]) != first.pid


def test_a_replacements_setup_does_not_count_against_trial_timeout(tmp_path: Path) -> None:
    # The replacement's setup takes 1.5 s, longer than the 1 s a trial may run: the trial
    # sent to it at once must not be timed out for it.
    setup = functools.partial(counted_setup, str(tmp_path), slow_after_a_death=1.5)
    executor = Processes(1, trial_timeout=1.0)
    executor.start(prepared_or_dies, setup=setup)
    try:
        executor.submit(_job(0, tmp_path, die=True))
        executor.submit(_job(1, tmp_path))  # waits behind it; goes to the replacement
        events = {event.trial_id: event for event in _drain(executor, 2)}
    finally:
        executor.close()
    assert not events[0].ok and "exit code 3" in (events[0].error or "")
    assert events[1].ok, events[1].error
    assert events[1].finished - events[1].started < 1.0


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (dies_in_setup, "the worker died while it ran (exit code 7)"),
        (exits_in_setup, "SystemExit: 5"),
    ],
)
def test_a_setup_that_ends_its_worker_is_a_setup_error(setup: Any, reason: str) -> None:
    executor = Processes(2)
    started = time.monotonic()
    with pytest.raises(SetupError) as raised:
        executor.start(prepared_or_dies, setup=setup)
    executor.close()  # safe after a failed start
    assert raised.value.error == reason
    assert raised.value.where.startswith("worker process ")
    assert raised.value.setup == f"{__name__}:{setup.__name__}"
    assert time.monotonic() - started < DEADLINE


def test_a_replacements_failing_setup_stops_the_run(tmp_path: Path) -> None:
    executor = Processes(2)
    executor.start(prepared_or_dies, setup=functools.partial(fails_after_a_death, str(tmp_path)))
    try:
        executor.submit(_job(0, tmp_path, die=True))
        executor.submit(_job(1, tmp_path))
        events = {event.trial_id: event for event in _drain(executor, 2)}
        executor.submit(_job(2, tmp_path))  # to the idle replacement, whose setup failed
        with pytest.raises(SetupError, match="OSError: the data went away") as raised:
            _drain(executor, 1)
        assert "fails_after_a_death" in raised.value.traceback
        left = executor.cancel()  # what is still in flight ends, reported, at once
    finally:
        executor.close()
    assert (events[0].ok, events[1].ok) == (False, True)
    assert [(event.trial_id, event.cancelled) for event in left] == [(2, True)]


def test_a_thread_whose_setup_exits_is_a_setup_error_not_a_hang() -> None:
    executor = Threads(3)
    with pytest.raises(SetupError, match=r"in worker thread \d: SystemExit: 5"):
        executor.start(prepared_or_dies, setup=exits_in_setup)
    executor.close()
