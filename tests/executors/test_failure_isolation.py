"""A trial that dies, hangs or returns garbage fails alone: the other trials finish, it is
retried when retries are asked for (and when a retry can help), and the process pool is back
to full size afterwards.

Real worker processes throughout. Nothing sleeps hoping to be long enough: trials wait on
files and on processes with deadlines, so the tests hold on a loaded two-core machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import math
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Executor, Pacing, Processes, Threads
from paratune.trial import Event, Job

from ..conftest import wait_for_file

N_TRIALS = 8  # x = 0 .. 7; the grid runs them in order, so trial_id == x
BAD = 2  # the trial that misbehaves
TIMEOUT = 2.0  # trial_timeout for the hanging trial: ordinary trials take milliseconds
DEADLINE = 60.0  # the longest anything here waits for anything


# ----------------------------------------------------------------------------- objectives


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _pid_in(path: Path) -> int:
    wait_for_file(path, DEADLINE)
    return int(path.read_text())


def _wait_until_gone(pid_file: Path) -> None:
    """Wait until the process whose pid ``pid_file`` holds is dead and reaped."""
    pid = _pid_in(pid_file)
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.005)
    raise TimeoutError(f"process {pid} was still there after {DEADLINE:g} s")


def _block(what: str) -> None:
    """Do nothing until killed, but give up after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        time.sleep(0.01)
    raise RuntimeError(f"{what}: still running after {DEADLINE:g} s; nobody killed it")


def _misbehave(how: str, pid_file: Path) -> None:
    """Write this process's pid to ``pid_file``, then fail in the way ``how`` names."""
    _write_atomically(pid_file, str(os.getpid()))
    if how == "raise":
        raise RuntimeError("the bad trial raised on purpose")
    if how == "exit":
        os._exit(3)
    if how == "segfault":
        faulthandler.disable()  # no traceback dump from a forked pytest's handler
        _, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))  # and no core file
        ctypes.string_at(0)
    if how in ("sigkill", "hang"):
        _block(how)  # until SIGKILLed from outside, or killed for running past trial_timeout
    raise AssertionError(f"asked to misbehave as {how!r}, and still alive")


def misbehaving(config: dict[str, Any], ctx: pt.Context) -> float:
    """``x * x``, except that trial ``x == config["bad"]`` misbehaves as ``config["how"]``
    says: on its first attempt only, or on every attempt when ``config["always"]``.

    With ``config["gate"]``, trials after the bad one wait until its (first) worker process
    is dead and reaped, so that some of them must run on the worker that replaces it.
    With ``config["meet"]`` (the partner's x), the trial waits until its partner is running
    too: two of them end only if two workers run at once.
    """
    x = int(config["x"])
    folder = Path(config["folder"])
    if x == config["bad"] and (ctx.attempt == 1 or config["always"]):
        _misbehave(config["how"], folder / f"bad-{ctx.attempt}.pid")
    if config.get("gate") and x > config["bad"]:
        _wait_until_gone(folder / "bad-1.pid")
    if "meet" in config:
        (folder / f"meet-{x}").touch()
        wait_for_file(folder / f"meet-{config['meet']}", DEADLINE)
    return float(x * x)


def _restore_fails() -> None:
    raise ValueError("this object refuses to be unpickled")


class Unrestorable:
    """Pickles fine in the worker; unpickling it in the driver raises ValueError."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_restore_fails, ())


class Unpicklable:
    """Pickling it raises ValueError (not the TypeError of a lock)."""

    def __reduce__(self) -> tuple[Any, ...]:
        raise ValueError("this object refuses to be pickled")


def _bad_result(kind: str) -> object:
    if kind == "nan":
        return math.nan
    if kind == "inf":
        return math.inf
    if kind == "-inf":
        return -math.inf
    if kind == "none":
        return None
    if kind == "str":
        return "0.5"
    if kind == "bool":
        return True
    if kind == "dict":
        return {"loss": 1.0}
    if kind == "nan-in-dict":
        return {"value": math.nan, "loss": 1.0}
    if kind == "lock":
        return threading.Lock()
    if kind == "unpicklable":
        return Unpicklable()
    if kind == "unrestorable":
        return Unrestorable()
    raise AssertionError(f"unknown bad result: {kind!r}")


def returns_garbage(config: dict[str, Any]) -> object:
    """``x * x``, except that trial ``x == BAD`` returns the bad result ``config["returns"]``."""
    x = int(config["x"])
    return _bad_result(config["returns"]) if x == BAD else float(x * x)


# ----------------------------------------------------------------------------- helpers


def _space(folder: Path, **constants: Any) -> dict[str, Any]:
    return {"x": pt.Int(0, N_TRIALS - 1), "bad": BAD, "folder": str(folder), **constants}


def _tune(objective: Any, space: dict[str, Any], **kwargs: Any) -> pt.TuneResult:
    settings: dict[str, Any] = {"executor": "processes", "workers": 2, **kwargs}
    return pt.tune(objective, space, searcher="grid", store=None, **settings)


def _by_x(result: pt.TuneResult) -> dict[int, pt.Trial]:
    trials = {int(t.config["x"]): t for t in result.trial_list}
    assert sorted(trials) == list(range(N_TRIALS))
    assert all(trial.trial_id == x for x, trial in trials.items())
    return trials


def _assert_the_others_are_done(trials: dict[int, pt.Trial]) -> None:
    for x, trial in trials.items():
        if x != BAD:
            assert trial.status is pt.Status.DONE, (x, trial.error)
            assert trial.value == float(x * x)
            assert trial.attempts == 1
            assert trial.error is None


_KILLER = """
import os, signal, sys, time
path, end = sys.argv[1], time.monotonic() + float(sys.argv[2])
while not os.path.exists(path):
    if time.monotonic() > end:
        sys.exit("the trial never wrote its pid")
    time.sleep(0.005)
with open(path) as file:
    os.kill(int(file.read()), signal.SIGKILL)
"""


@contextlib.contextmanager
def _kills_from_outside(pid_file: Path) -> Iterator[None]:
    """A separate process that SIGKILLs the process whose pid appears in ``pid_file``.

    (A process, not a thread: the driver forks its workers, and forking a process that runs
    other threads is unsafe.)"""
    killer = subprocess.Popen([sys.executable, "-c", _KILLER, str(pid_file), str(DEADLINE)])
    try:
        yield
    finally:
        try:
            killer.wait(timeout=DEADLINE)
        finally:
            if killer.poll() is None:
                killer.kill()
                killer.wait()
    assert killer.returncode == 0


_ERRORS = {
    "raise": r"^RuntimeError: the bad trial raised on purpose$",
    "exit": r"^worker process {pid} died \(exit code 3\)$",
    "segfault": r"^worker process {pid} died \(killed by SIGSEGV\)$",
    "sigkill": r"^worker process {pid} died \(killed by SIGKILL\)$",
    "hang": r"^timed out: ran past trial_timeout=2 s$",
}
_DIES = ("exit", "segfault", "sigkill", "hang")


# ----------------------------------------------------------------------------- pt.tune


@pytest.mark.parametrize("retries", [0, 1])
@pytest.mark.parametrize("how", list(_ERRORS))
def test_a_trial_that_dies_fails_alone(how: str, retries: int, tmp_path: Path) -> None:
    # Trials after the bad one wait for its worker to be gone (except when it hangs: they
    # would be timed out too), so they show who took over.
    gate = how in ("exit", "segfault", "sigkill")
    space = _space(tmp_path, how=how, always=False, gate=gate)
    pid_file = tmp_path / "bad-1.pid"
    kills: contextlib.AbstractContextManager[None] = (
        _kills_from_outside(pid_file) if how == "sigkill" else contextlib.nullcontext()
    )
    # One job a message: short trials otherwise go two or more to a message, and a death in
    # one does not say which job it was (each then runs again alone: one death more).
    timeout = TIMEOUT if how == "hang" else None
    alone = Processes(2, trial_timeout=timeout, pacing=Pacing(max_chunk=1))
    with kills:
        result = _tune(misbehaving, space, retries=retries, executor=alone)
    trials = _by_x(result)
    _assert_the_others_are_done(trials)
    bad = trials[BAD]
    first_pid = int(pid_file.read_text())  # the process that ran the bad trial's attempt 1
    assert all(t.host == socket.gethostname() and isinstance(t.pid, int) for t in trials.values())
    if retries:
        assert bad.status is pt.Status.DONE
        assert bad.value == float(BAD * BAD)
        assert bad.attempts == 2
        assert bad.error is None
        assert not (tmp_path / "bad-2.pid").exists()  # attempt 2 behaved
        if how in _DIES:
            assert bad.pid != first_pid  # the retry ran in a live worker
    else:
        assert bad.status is pt.Status.FAILED
        assert bad.value is None
        assert bad.attempts == 1
        assert bad.error is not None
        assert re.fullmatch(_ERRORS[how].format(pid=first_pid), bad.error), bad.error
        assert bad.pid == first_pid
        if how == "raise":
            assert bad.traceback is not None and "_misbehave" in bad.traceback
    assert result.stop_reason is pt.StopReason.EXHAUSTED

    done_pids = {t.pid for t in trials.values() if t.status is pt.Status.DONE}
    if how == "raise":
        # No process died: the same two workers ran everything, the bad trial included.
        assert len(done_pids) == 2 and first_pid in done_pids
    elif gate:
        # The two first workers each ran a trial; then one died and one new process took
        # its place, and no trial after the bad one ran in the dead one.
        assert len(done_pids) == 3 and first_pid in done_pids
        assert all(trials[x].pid != first_pid for x in range(BAD + 1, N_TRIALS))
    else:  # hang: the survivor may have run every other trial before the kill
        later = [t for t in trials.values() if t.started is not None and t.started > TIMEOUT]
        assert all(t.pid != first_pid for t in later)


def test_a_retry_that_dies_again_fails_after_its_last_attempt(tmp_path: Path) -> None:
    result = _tune(misbehaving, _space(tmp_path, how="exit", always=True), retries=1)
    trials = _by_x(result)
    _assert_the_others_are_done(trials)
    bad = trials[BAD]
    second_pid = int((tmp_path / "bad-2.pid").read_text())
    assert second_pid != int((tmp_path / "bad-1.pid").read_text())  # a new worker, a new death
    assert bad.status is pt.Status.FAILED
    assert bad.attempts == 2
    assert bad.error == f"worker process {second_pid} died (exit code 3)"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("nan", "the objective returned nan for 'value'"),
        ("inf", "the objective returned inf for 'value'"),
        ("-inf", "the objective returned -inf for 'value'"),
        ("none", "the objective returned None for 'value'; expected a number"),
        ("str", "the objective returned str for 'value'; expected a number"),
        ("bool", "the objective returned bool for 'value'; expected a number"),
        ("dict", "the objective's result has no 'value' (keys: 'loss')"),
        ("nan-in-dict", "the objective returned nan for 'value'"),
    ],
)
def test_an_invalid_result_fails_its_trial_without_a_retry(kind: str, reason: str) -> None:
    space = {"x": pt.Int(0, N_TRIALS - 1), "returns": kind}
    trials = _by_x(_tune(returns_garbage, space, retries=1))
    _assert_the_others_are_done(trials)
    bad = trials[BAD]
    assert bad.status is pt.Status.FAILED
    assert bad.attempts == 1  # it would come back the same: not retried
    assert bad.value is None
    assert bad.error is not None and reason in bad.error


def test_a_result_that_cannot_be_pickled_fails_only_its_trial() -> None:
    space = {"x": pt.Int(0, N_TRIALS - 1), "returns": "lock"}
    trials = _by_x(_tune(returns_garbage, space))
    _assert_the_others_are_done(trials)
    bad = trials[BAD]
    assert bad.status is pt.Status.FAILED
    assert bad.error is not None and "cannot be pickled" in bad.error
    assert "lock" in bad.error
    # The worker did not die for it: the same two processes ran every other trial.
    assert len({t.pid for t in trials.values() if t.status is pt.Status.DONE}) == 2


def test_a_result_that_cannot_be_pickled_still_records_host_and_pid() -> None:
    space = {"x": pt.Int(0, N_TRIALS - 1), "returns": "lock"}
    trials = _by_x(_tune(returns_garbage, space))
    bad = trials[BAD]
    assert bad.status is pt.Status.FAILED
    assert bad.host == socket.gethostname()
    assert bad.pid in {t.pid for t in trials.values() if t.status is pt.Status.DONE}


def test_a_result_whose_pickling_raises_fails_only_its_trial() -> None:
    # Pickling raises ValueError, which _send does not catch: the worker dies of it. The trial
    # still fails alone, and a new worker takes over.
    space = {"x": pt.Int(0, N_TRIALS - 1), "returns": "unpicklable"}
    trials = _by_x(_tune(returns_garbage, space))
    _assert_the_others_are_done(trials)
    assert trials[BAD].status is pt.Status.FAILED
    assert trials[BAD].error is not None


def test_a_result_that_cannot_be_unpickled_in_the_driver_fails_only_its_trial() -> None:
    space = {"x": pt.Int(0, N_TRIALS - 1), "returns": "unrestorable"}
    trials = _by_x(_tune(returns_garbage, space))
    _assert_the_others_are_done(trials)
    assert trials[BAD].status is pt.Status.FAILED


# ----------------------------------------------------------------------------- the pool


def _wait_for_events(ex: Processes, count: int) -> list[Event]:
    events: list[Event] = []
    end = time.monotonic() + DEADLINE
    while len(events) < count:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{len(events)} of {count} jobs ended in {DEADLINE:g} s")
        events.extend(ex.completed(timeout=left))
    return events


@pytest.mark.parametrize("how", _DIES)
def test_the_pool_is_back_to_full_size_after_a_worker_dies(how: str, tmp_path: Path) -> None:
    ex = Processes(2, trial_timeout=TIMEOUT if how == "hang" else None)
    ex.start(misbehaving)
    base = {"bad": 0, "folder": str(tmp_path), "always": False}
    try:
        ex.submit(Job(0, 1, {**base, "x": 0, "how": how}, seed=0))
        if how == "sigkill":
            events = ex.completed(timeout=0)  # sends the job
            dead = _pid_in(tmp_path / "bad-1.pid")
            os.kill(dead, signal.SIGKILL)
            events += _wait_for_events(ex, 1 - len(events))
        else:
            events = _wait_for_events(ex, 1)
            dead = int((tmp_path / "bad-1.pid").read_text())
        [failed] = events
        assert (failed.trial_id, failed.ok, failed.pid) == (0, False, dead)
        assert failed.error is not None
        assert re.fullmatch(_ERRORS[how].format(pid=dead), failed.error), failed.error
        assert ex.free_slots() == 2

        # Two jobs that end only when both run at the same time: two live workers.
        ex.submit(Job(1, 1, {**base, "x": 1, "how": how, "meet": 2}, seed=1))
        ex.submit(Job(2, 1, {**base, "x": 2, "how": how, "meet": 1}, seed=2))
        met = sorted(_wait_for_events(ex, 2), key=lambda e: e.trial_id)
    finally:
        ex.close()
    assert [(e.trial_id, e.ok, e.result) for e in met] == [(1, True, 1.0), (2, True, 4.0)]
    pids = {e.pid for e in met}
    assert len(pids) == 2 and dead not in pids


# ----------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("executor", ["threads", "serial"])
def test_trial_timeout_is_refused_where_a_trial_cannot_be_stopped(executor: str) -> None:
    with pytest.raises(pt.SpecError, match="trial_timeout"):
        pt.tune(
            misbehaving,
            {"x": pt.Int(0, 3)},
            executor=executor,
            trial_timeout=1.0,
            max_trials=2,
            store=None,
        )


# Virtual seconds each trial spends, step by step, with ``ctx.elapse``.
_STEPS: dict[int, tuple[float, ...]] = {
    0: (2.0, 2.0),  # 4 s
    1: (4.0, 4.0, 4.0),  # 12 s: past a trial_timeout of 10
    2: (10.0,),  # 10 s: exactly the limit, which is allowed
    3: (0.5, 0.5),  # 1 s
}


def elapses(config: dict[str, Any], ctx: pt.Context) -> float:
    for step in _STEPS[int(config["x"])]:
        ctx.elapse(step)
    return float(config["x"])


def test_a_simulated_trial_times_out_at_exactly_its_start_plus_the_timeout() -> None:
    # On two virtual workers:
    #   t=0: 0 and 1 start; t=4: 0 ends, 2 starts;
    #   t=10: 1 times out (10 s after its start, not 12), its retry starts;
    #   t=14: 2 ends, 3 starts; t=15: 3 ends; t=20: the retry of 1 times out too.
    result = pt.tune(
        elapses,
        {"x": pt.Int(0, 3)},
        searcher="grid",
        executor="simulated",
        workers=2,
        trial_timeout=10.0,
        retries=1,
        store=None,
    )
    trials = {t.trial_id: t for t in result.trial_list}
    ends = {i: (t.status, t.started, t.finished, t.attempts) for i, t in trials.items()}
    done, failed = pt.Status.DONE, pt.Status.FAILED
    assert ends == {
        0: (done, 0.0, 4.0, 1),
        1: (failed, 10.0, 20.0, 2),  # its latest attempt: from 10 to exactly 10 + 10
        2: (done, 4.0, 14.0, 1),
        3: (done, 14.0, 15.0, 1),
    }
    assert [trials[i].value for i in (0, 2, 3)] == [0.0, 2.0, 3.0]
    assert trials[1].value is None
    assert trials[1].error == "timed out: ran past trial_timeout=10 s"
    assert trials[1].worker_time == 20.0  # two attempts cut at 10 virtual seconds each
    assert result.wall_time == 20.0
    assert result.busy_time == 4.0 + 10.0 + 10.0 + 10.0 + 1.0


def square(config: dict[str, Any]) -> float:
    return float(config["x"]) ** 2


_THIRTY_DAYS = 30 * 24 * 3600.0  # over 2**31 milliseconds


@pytest.mark.parametrize(
    ("make", "timeout"),
    [
        (lambda: Processes(1), _THIRTY_DAYS),
        (lambda: Processes(1, trial_timeout=_THIRTY_DAYS), None),
        (lambda: Threads(1), math.inf),
    ],
    ids=["processes-timeout", "processes-trial_timeout", "threads-timeout-inf"],
)
def test_a_long_wait_is_no_error(make: Callable[[], Executor], timeout: float | None) -> None:
    ex = make()
    ex.start(square)
    try:
        ex.submit(Job(0, 1, {"x": 3}, seed=0))
        events = ex.completed(timeout=timeout)  # waits until the job ends
    finally:
        ex.close()
    assert [(e.trial_id, e.ok, e.result) for e in events] == [(0, True, 9.0)]
