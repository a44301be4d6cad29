"""A worker process that freezes, forks or damages its own process costs only its own
trial: the run ends promptly, the trial's error says what happened, the processes it started
end with it, the pool is back to full size and the next trials run in a process as it was.

Real worker processes, real signals, real children. Nothing sleeps hoping to be long enough:
trials wait on files, and the test waits on processes with deadlines.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Processes
from paratune.trial import Event, Job

from ..conftest import wait_for_file
from .test_failure_isolation import _pid_in, _wait_for_events, _write_atomically

TIMEOUT = 2.0  # trial_timeout where a trial has to be ended: ordinary trials take milliseconds
DEADLINE = 60.0  # the longest anything here waits for anything, and how long strays live
PROMPT = 20.0  # a run with one misbehaving trial ends within this (its strays would live on)
FSIZE = resource.RLIMIT_FSIZE  # the limit a trial lowers: a later write past it fails (EFBIG)


# ----------------------------------------------------------------------------- processes


def _gone(pid: int) -> bool:
    """True once process ``pid`` has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _wait_until_gone(pid: int) -> None:
    end = time.monotonic() + DEADLINE
    while not _gone(pid):
        if time.monotonic() > end:
            raise TimeoutError(f"process {pid} was still there after {DEADLINE:g} s")
        time.sleep(0.01)


def _block(what: str) -> None:
    """Do nothing until killed, but give up after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        time.sleep(0.01)
    raise RuntimeError(f"{what}: still running after {DEADLINE:g} s; nobody killed it")


def _stray() -> subprocess.Popen[bytes]:
    """A child process that would outlive the test run if nothing ended it."""
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({DEADLINE})"])


# ----------------------------------------------------------------------------- objectives


def _trap(number: int, frame: object) -> None:
    raise RuntimeError(f"signal {number} reached a handler an earlier trial installed")


def _fork_and_die(folder: Path) -> None:
    if os.fork() == 0:  # the child waits, still holding the worker's pipes
        _write_atomically(folder / "child.pid", str(os.getpid()))
        try:
            _block("the forked child")
        finally:
            os._exit(0)
    wait_for_file(folder / "child.pid", DEADLINE)
    os._exit(3)


def _misbehave(fault: str, folder: Path) -> None:
    """Write this process's pid to ``bad.pid``, then misbehave in the way ``fault`` names."""
    _write_atomically(folder / "bad.pid", str(os.getpid()))
    if fault == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
        _block("SIGCONTed")  # nobody continues it: it is killed stopped
    elif fault == "fork-and-die":
        _fork_and_die(folder)
    elif fault in ("child-and-hang", "child-and-return"):
        _write_atomically(folder / "child.pid", str(_stray().pid))
        if fault == "child-and-hang":
            _block("a trial past its timeout")
    elif fault == "close-fd-1":
        os.close(1)
    elif fault == "close-sys-stdout":
        sys.stdout.close()
    elif fault == "replace-sys-stderr":  # a redirection left in place, its stream closed
        sys.stderr = io.StringIO()
        sys.stderr.close()
    elif fault in ("lower-soft-limit", "lower-hard-limit"):
        _, hard = resource.getrlimit(FSIZE)
        resource.setrlimit(FSIZE, (1024, hard if fault == "lower-soft-limit" else 1024))
    elif fault == "chdir":
        (folder / "elsewhere").mkdir()
        os.chdir(folder / "elsewhere")
    elif fault == "signals":
        signal.signal(signal.SIGTERM, _trap)
        signal.signal(signal.SIGALRM, _trap)
        signal.alarm(int(DEADLINE))
    else:
        raise AssertionError(f"unknown fault {fault!r}")


def _check_as_started(config: dict[str, Any]) -> None:
    """Fail unless this process is as the driver started it: stdout works, the folder and
    the file size limit are the driver's, no handler of a trial waits for a signal."""
    x = int(config["x"])
    os.write(1, f"trial {x} can write on descriptor 1\n".encode())
    print(f"trial {x} can print", flush=True)
    print(f"trial {x} can print on stderr", file=sys.stderr, flush=True)
    (Path(config["folder"]) / f"written-{x}").write_bytes(b"\0" * 4096)
    assert os.getcwd() == config["cwd"], f"in {os.getcwd()}, not in {config['cwd']}"
    assert repr(resource.getrlimit(FSIZE)) == config["fsize"], resource.getrlimit(FSIZE)
    assert signal.getsignal(signal.SIGTERM) is not _trap, "an earlier trial's SIGTERM handler"
    assert signal.getsignal(signal.SIGALRM) is not _trap, "an earlier trial's SIGALRM handler"
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0, "an earlier trial's alarm"


def faulty(config: dict[str, Any]) -> float:
    """``x * x``, except that trial ``x == config["bad"]`` misbehaves as ``config["fault"]``
    says. Every other trial checks that its process is as it started; with ``meet`` (the
    partner's x), it waits until its partner runs too: both end only on two live workers."""
    x = int(config["x"])
    folder = Path(config["folder"])
    if x == config["bad"]:
        _misbehave(config["fault"], folder)
        return float(x * x)
    if "meet" in config:
        (folder / f"meet-{x}").touch()
        wait_for_file(folder / f"meet-{config['meet']}", DEADLINE)
    _check_as_started(config)
    return float(x * x)


def _config(folder: Path, fault: str, **more: Any) -> dict[str, Any]:
    return {
        "bad": 0,
        "fault": fault,
        "folder": str(folder),
        "cwd": os.getcwd(),
        "fsize": repr(resource.getrlimit(FSIZE)),  # not a list: a list in a space is a choice
        **more,
    }


# ----------------------------------------------------------------------------- the pool


def _fault_then_meet(
    folder: Path, fault: str, trial_timeout: float | None = None
) -> tuple[Event, list[Event], float]:
    """On a pool of two: one job (on worker 0) that misbehaves as ``fault``, then two that
    check their process and end only if both workers run at once, the first on worker 0.
    Returns the first job's event, the other two's, and the seconds it all took."""
    started = time.monotonic()
    ex = Processes(2, trial_timeout=trial_timeout)
    ex.start(faulty)
    try:
        ex.submit(Job(0, 1, _config(folder, fault, x=0), seed=0))
        [bad] = _wait_for_events(ex, 1)
        ex.submit(Job(1, 1, _config(folder, fault, x=1, meet=2), seed=1))
        ex.submit(Job(2, 1, _config(folder, fault, x=2, meet=1), seed=2))
        met = sorted(_wait_for_events(ex, 2), key=lambda e: e.trial_id)
    finally:
        ex.close()
    assert [(e.trial_id, e.ok, e.result, e.error) for e in met] == [
        (1, True, 1.0, None),
        (2, True, 4.0, None),
    ], met
    assert met[0].worker == 0  # the slot of the misbehaving job
    assert len({e.pid for e in met}) == 2
    return bad, met, time.monotonic() - started


def test_a_worker_stopped_past_trial_timeout_is_killed(tmp_path: Path) -> None:
    bad, met, took = _fault_then_meet(tmp_path, "stop", trial_timeout=TIMEOUT)
    pid = int((tmp_path / "bad.pid").read_text())
    assert (bad.ok, bad.pid) == (False, pid)
    assert bad.error == (
        f"timed out: worker process {pid} stopped responding past trial_timeout=2 s "
        "(it was stopped by a signal) and was killed"
    )
    assert pid not in {e.pid for e in met}
    assert _gone(pid)
    assert took < PROMPT


def test_a_worker_that_forks_and_dies_is_seen_dead_at_once(tmp_path: Path) -> None:
    # Its forked child holds the worker's pipes open for a minute; a trial_timeout far
    # longer than the test may take shows that the death is not taken for a time-out.
    bad, met, took = _fault_then_meet(tmp_path, "fork-and-die", trial_timeout=DEADLINE)
    pid = int((tmp_path / "bad.pid").read_text())
    assert (bad.ok, bad.pid) == (False, pid)
    assert bad.error == f"worker process {pid} died (exit code 3)"
    assert pid not in {e.pid for e in met}
    _wait_until_gone(_pid_in(tmp_path / "child.pid"))  # the group was killed with it
    assert took < PROMPT


def test_the_children_of_a_trial_killed_for_its_timeout_die_with_it(tmp_path: Path) -> None:
    bad, _, took = _fault_then_meet(tmp_path, "child-and-hang", trial_timeout=TIMEOUT)
    assert bad.error == "timed out: ran past trial_timeout=2 s"
    _wait_until_gone(_pid_in(tmp_path / "child.pid"))
    assert took < PROMPT


def test_the_children_a_trial_leaves_behind_end_when_the_pool_closes(tmp_path: Path) -> None:
    bad, met, _ = _fault_then_meet(tmp_path, "child-and-return")
    assert (bad.ok, bad.error) == (True, None)
    assert met[0].pid == bad.pid  # the worker lived on
    _wait_until_gone(_pid_in(tmp_path / "child.pid"))


@pytest.mark.parametrize(
    "fault",
    [
        "close-fd-1",
        "close-sys-stdout",
        "replace-sys-stderr",
        "lower-soft-limit",
        "chdir",
        "signals",
    ],
)
def test_the_next_trial_finds_its_worker_as_it_started(fault: str, tmp_path: Path) -> None:
    bad, met, took = _fault_then_meet(tmp_path, fault)
    assert (bad.ok, bad.error) == (True, None)
    assert met[0].pid == bad.pid  # put back in place: the same worker ran the next trial
    assert took < PROMPT


def test_a_lowered_hard_limit_is_put_back_or_its_worker_replaced(tmp_path: Path) -> None:
    # With CAP_SYS_RESOURCE the limit goes back up in place; without, the worker is
    # replaced. Either way the next trial on that slot finds the limit the driver has.
    bad, _, took = _fault_then_meet(tmp_path, "lower-hard-limit")
    assert (bad.ok, bad.error) == (True, None)
    assert took < PROMPT


_UNPRIVILEGED_RUN = """
import json, resource, sys
import paratune as pt
sys.path.insert(0, sys.argv[2])
from tests.executors.test_worker_faults import faulty, _config
from pathlib import Path
folder = Path(sys.argv[1])
space = {"x": pt.Int(0, 3), **_config(folder, "lower-hard-limit")}
result = pt.tune(faulty, space, searcher="grid", executor="processes", workers=1, store=None)
trials = sorted(result.trial_list, key=lambda t: t.trial_id)
print(json.dumps([[t.status.value, t.error, t.pid] for t in trials]))
"""


def test_a_worker_whose_hard_limit_cannot_rise_again_is_replaced(tmp_path: Path) -> None:
    # Raising a hard limit takes CAP_SYS_RESOURCE, which root may have: as root, the run
    # goes without it.
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, and setpriv (to drop CAP_SYS_RESOURCE) is missing")
        prefix = ["setpriv", "--bounding-set=-sys_resource"]
    root = str(Path(__file__).resolve().parents[2])
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, sys.executable, "-c", _UNPRIVILEGED_RUN, str(tmp_path), root],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr
    trials = json.loads(done.stdout.splitlines()[-1])
    assert [(status, error) for status, error, _ in trials] == [("done", None)] * 4
    pids = [pid for _, _, pid in trials]
    # One worker: the trial that lowered the limit ran in one process, every later trial
    # in the one that replaced it.
    assert pids[0] not in pids[1:] and len(set(pids[1:])) == 1
    assert time.monotonic() - started < PROMPT


# ----------------------------------------------------------------------------- pt.tune


@pytest.mark.parametrize("fault", ["stop", "fork-and-die"])
def test_a_run_with_a_frozen_or_forking_trial_ends_promptly(fault: str, tmp_path: Path) -> None:
    space = {"x": pt.Int(0, 5), **_config(tmp_path, fault, bad=2)}
    started = time.monotonic()
    timeout = TIMEOUT if fault == "stop" else DEADLINE
    result = pt.tune(faulty, space, searcher="grid", executor="processes", workers=2,
                     trial_timeout=timeout, store=None)  # fmt: skip
    assert time.monotonic() - started < PROMPT
    trials = {t.trial_id: t for t in result.trial_list}
    pid = int((tmp_path / "bad.pid").read_text())
    assert trials[2].status is pt.Status.FAILED and trials[2].pid == pid
    expected = {
        "stop": rf"timed out: worker process {pid} stopped responding past .* and was killed",
        "fork-and-die": rf"worker process {pid} died \(exit code 3\)",
    }[fault]
    assert trials[2].error is not None and re.fullmatch(expected, trials[2].error)
    assert all(trials[x].status is pt.Status.DONE for x in (0, 1, 3, 4, 5))
    assert all(trials[x].pid != pid for x in (3, 4, 5))


# ----------------------------------------------------------------------------- the driver


_DRIVER = """
import os, subprocess, sys, time
from pathlib import Path
import paratune as pt

folder = Path(sys.argv[1])

def publish(name, pid):
    (folder / (name + ".partial")).write_text(str(pid))
    os.replace(folder / (name + ".partial"), folder / name)

def objective(config):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    publish("child.pid", child.pid)
    publish("worker.pid", os.getpid())
    time.sleep(60)
    return 0.0

pt.tune(objective, {"x": pt.Float(0, 1)}, executor="processes", workers=1, max_trials=1,
        store=None)
"""


def test_a_worker_and_its_trial_s_children_end_when_the_driver_is_killed(
    tmp_path: Path,
) -> None:
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(tmp_path)])
    try:
        worker = _pid_in(tmp_path / "worker.pid")
        child = _pid_in(tmp_path / "child.pid")
        assert os.getpgid(worker) == worker  # a process group of its own
        assert os.getpgid(child) == worker
        driver.kill()
        driver.wait(timeout=DEADLINE)
        _wait_until_gone(worker)
        _wait_until_gone(child)
    finally:
        driver.kill()
        driver.wait()


# ----------------------------------------------------------------------------- frozen


_FREEZER = Path("/sys/fs/cgroup/freezer")


@pytest.fixture
def freezer() -> Iterator[Path]:
    """A cgroup (v1) freezer of its own; thawed and removed afterwards. Skips where there
    is none to make (not Linux, cgroup v2 only, not root)."""
    cgroup = _FREEZER / f"paratune-test-{os.getpid()}"
    try:
        cgroup.mkdir()
    except OSError as exc:
        pytest.skip(f"no cgroup v1 freezer to use: {exc}")
    try:
        yield cgroup
    finally:
        frozen = [int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()]
        for pid in frozen:
            os.kill(pid, signal.SIGKILL)  # it dies once thawed
        (cgroup / "freezer.state").write_text("THAWED")
        for pid in frozen:
            _reap(pid)  # a worker left behind is reaped by nobody else
        _remove(cgroup)


def _reap(pid: int) -> None:
    """Reap ``pid`` once it has ended, if it is a child of this process."""
    end = time.monotonic() + DEADLINE
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return
        except ChildProcessError:  # not a child of this process, or reaped already
            return
        if time.monotonic() > end:
            raise TimeoutError(f"process {pid} was still there after {DEADLINE:g} s")
        time.sleep(0.01)


def _remove(cgroup: Path) -> None:
    """Remove ``cgroup`` once its last process has left it."""
    end = time.monotonic() + DEADLINE
    while True:
        try:
            cgroup.rmdir()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.01)


def frozen(config: dict[str, Any]) -> float:
    """Trial 0 freezes its own process in ``config["cgroup"]``; the others return x."""
    if int(config["x"]) == 0:
        cgroup = Path(config["cgroup"])
        _write_atomically(Path(config["folder"]) / "bad.pid", str(os.getpid()))
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        (cgroup / "freezer.state").write_text("FROZEN")
        _block("thawed")
    return float(config["x"])


def test_a_frozen_worker_that_cannot_be_killed_is_left_behind(
    freezer: Path, tmp_path: Path
) -> None:
    space = {"x": pt.Int(0, 3), "cgroup": str(freezer), "folder": str(tmp_path)}
    started = time.monotonic()
    result = pt.tune(frozen, space, searcher="grid", executor="processes", workers=2,
                     trial_timeout=TIMEOUT, store=None)  # fmt: skip
    assert time.monotonic() - started < PROMPT
    trials = {t.trial_id: t for t in result.trial_list}
    pid = int((tmp_path / "bad.pid").read_text())
    assert trials[0].error == (
        f"timed out: ran past trial_timeout=2 s; worker process {pid} could not be killed "
        "and was left behind"
    )
    assert all(trials[x].status is pt.Status.DONE for x in (1, 2, 3))


def test_cancel_and_close_return_with_a_frozen_worker(freezer: Path, tmp_path: Path) -> None:
    ex = Processes(1)
    ex.start(frozen)
    started = time.monotonic()
    try:
        ex.submit(Job(0, 1, {"x": 0, "cgroup": str(freezer), "folder": str(tmp_path)}, seed=0))
        ex.completed(timeout=0)  # sends the job
        wait_for_file(tmp_path / "bad.pid", DEADLINE)
        end = time.monotonic() + DEADLINE
        while (freezer / "freezer.state").read_text().strip() != "FROZEN":
            assert time.monotonic() < end, "the trial never froze"
            time.sleep(0.01)
        [cancelled] = ex.cancel()
    finally:
        ex.close()
    assert (cancelled.trial_id, cancelled.cancelled) == (0, True)
    assert time.monotonic() - started < PROMPT
