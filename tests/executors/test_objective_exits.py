"""An objective that calls ``sys.exit`` or raises `KeyboardInterrupt` (or another
`BaseException`) in a worker fails its own trial, with the traceback of where it happened,
and the worker lives on to run the next trial; the driver's own stop is untouched."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Executor, Processes, Serial, Threads, run_job
from paratune.trial import Event, Job


class Unusual(BaseException):
    """Neither an `Exception` nor an exit."""


def leaves(config: dict[str, Any]) -> dict[str, Any]:
    """Leaves its worker as ``config["how"]`` says, or returns who ran it."""
    how = config["how"]
    if how == "exit":
        sys.exit(3)
    if how == "interrupt":
        raise KeyboardInterrupt("pressed in the objective")
    if how == "unusual":
        raise Unusual("neither")
    return {"value": 0.0, "pid": os.getpid(), "thread": threading.get_ident()}


_ERRORS = {
    "exit": "SystemExit: 3",
    "interrupt": "KeyboardInterrupt: pressed in the objective",
    "unusual": "Unusual: neither",
}


def _run_in_order(executor: Executor, configs: list[dict[str, Any]]) -> list[Event]:
    """Run the jobs one at a time, so that each runs on the worker the one before ran on."""
    events = []
    executor.start(leaves)
    try:
        for trial_id, config in enumerate(configs):
            executor.submit(Job(trial_id, 1, config, seed=trial_id))
            [event] = executor.completed(timeout=60)
            events.append(event)
    finally:
        executor.close()
    return events


@pytest.mark.parametrize("how", list(_ERRORS))
@pytest.mark.parametrize("kind", ["processes", "threads"])
def test_an_exit_in_the_objective_fails_its_trial_with_its_traceback(kind: str, how: str) -> None:
    executor: Executor = Processes(1) if kind == "processes" else Threads(1)
    before, bad, after = _run_in_order(executor, [{"how": "ok"}, {"how": how}, {"how": "ok"}])
    assert (bad.ok, bad.cancelled, bad.result) == (False, False, None)
    assert bad.error == _ERRORS[how]
    assert bad.traceback is not None and "in leaves" in bad.traceback
    assert bad.traceback.rstrip().endswith(_ERRORS[how])
    # The worker lived on: the trial after ran in the same process (and thread).
    assert before.ok and after.ok and after.result == before.result
    assert after.pid == bad.pid == before.pid


def test_the_run_goes_on_and_stores_the_traceback() -> None:
    configs = [{"how": how} for how in ("ok", "exit", "interrupt", "ok")]
    space = {"how": pt.Choice(["ok", "exit", "interrupt"])}
    result = pt.tune(leaves, space, executor="processes", workers=1,
                     points_to_evaluate=configs, max_trials=4, store=None)  # fmt: skip
    trials = result.trial_list
    assert [t.status for t in trials] == [pt.Status.DONE, pt.Status.FAILED,
                                          pt.Status.FAILED, pt.Status.DONE]  # fmt: skip
    assert [t.error for t in trials[1:3]] == [_ERRORS["exit"], _ERRORS["interrupt"]]
    assert all(t.traceback and "in leaves" in t.traceback for t in trials[1:3])
    assert len({t.pid for t in trials}) == 1  # one worker ran them all


def test_in_the_driver_an_interrupt_still_stops_the_run() -> None:
    # Serial runs the objective in the driver, where KeyboardInterrupt is the user's Ctrl-C.
    executor = Serial()
    executor.start(leaves)
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.submit(Job(0, 1, {"how": "interrupt"}, seed=0))
    finally:
        executor.close()


def test_run_job_contains_only_where_asked() -> None:
    job = Job(0, 1, {"how": "exit"}, seed=0)
    with pytest.raises(SystemExit):
        run_job(leaves, job, None, worker=0, now=float)
    event = run_job(leaves, job, None, worker=0, now=float, contained=True)
    assert (event.ok, event.error) == (False, "SystemExit: 3")
