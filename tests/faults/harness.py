"""The kill-and-resume loop: start ``python -m paratune`` on a scenario, wait for a seeded
random point of its progress, send it a signal, wait for it and its workers to go, take a
snapshot of the store, resume; at the end, judge everything (`checks.verify`).

Kill points are measured in progress, never in seconds: first some committed trials (or
reports) in the store, then some lines of the objective's progress log, so a loaded
machine only makes the run slower, never the test different.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .._wait import poll
from .checks import COMPLETE, compare_with_reference, verify
from .scenarios import EVALUATIONS_LOG, PROGRESS_LOG, Scenario, fails_on_purpose, write_run
from .store_view import Snapshot, Watch, count_lines, read_evaluations, snapshot

KINDS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGINT-group")
"""How a driver is stopped: a signal to its process, or (``-group``) to its whole process
group, as a terminal's Ctrl-C does."""
CLEAN = ("SIGTERM", "SIGINT", "SIGINT-group")
"""The kinds after which the driver must stop cleanly (its session recorded as ended, the
trials in flight as interrupted)."""
DEADLINE = 60.0
"""Seconds a driver gets to reach a kill point, to exit once signalled, or to finish."""


MARK = "PARATUNE_FAULTS_SESSION"
"""An environment variable every process of a session inherits (the driver, its workers,
their replacements), holding a token of that session: how its processes are found once
workers sit in sessions of their own, or were orphaned by a killed driver."""


def env(token: str) -> dict[str, str]:
    """The environment of a driver: this interpreter's module path, and the session mark."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), MARK: token}


def marked(token: str) -> list[int]:
    """The live processes (zombies aside) whose environment carries session ``token``;
    none where there is no ``/proc`` to look in."""
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # it ended while we looked, or is not ours to read
        if state != "Z":
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """Let a driver started in the block receive SIGINT as a terminal's process does.

    A process started in the background by a shell script (``cmd &``) ignores SIGINT, and
    what it starts inherits that, so its drivers would never see a Ctrl-C. A handled
    signal, unlike an ignored one, is reset to its default in the new program.
    """
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        yield


class Driver:
    """One ``python -m paratune`` process in a session (and process group) of its own, its
    output in files of ``folder``. As a context manager, it kills whatever of its processes
    is left on the way out, so no test leaves processes behind.

    Args:
        folder: where it runs and where its output goes.
        args: the arguments after ``python -m paratune``.
        index: the session's number, for the names of its output files.
    """

    def __init__(self, folder: Path, args: Sequence[str], index: int) -> None:
        self.out = folder / f"session-{index}.out"
        self.err = folder / f"session-{index}.err"
        self.token = uuid.uuid4().hex
        with self.out.open("w") as out, self.err.open("w") as err, _sigint_not_ignored():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "paratune", *args],
                cwd=folder,
                env=env(self.token),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def __enter__(self) -> Driver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pid in marked(self.token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        poll(lambda: not marked(self.token), DEADLINE)

    def running(self) -> bool:
        """True until the driver process exits."""
        return self.process.poll() is None

    def send(self, kind: str) -> None:
        """Stop the driver the ``kind`` way (one of `KINDS`)."""
        if kind.endswith("-group"):
            os.killpg(self.pid, signal.Signals[kind.removesuffix("-group")])
        else:
            self.process.send_signal(signal.Signals[kind])

    def wait(self, deadline: float = DEADLINE) -> int | None:
        """The exit status, once the driver and every process it started have gone; None if
        that takes over ``deadline`` seconds."""
        try:
            code = self.process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            return None
        if not poll(lambda: not marked(self.token), deadline):
            return None
        return code

    def stdout(self) -> str:
        """What it printed on standard output."""
        return self.out.read_text()

    def stderr(self) -> str:
        """What it printed on standard error."""
        return self.err.read_text()


@dataclass
class Outcome:
    """What one scenario's kill-and-resume run went through and what the checks found.

    Attributes:
        scenario: the scenario's name.
        injected: kill points by kind (`KINDS`).
        survived: kill points after which the driver and its workers exited in time, the
            store passed its integrity check and (SIGINT, SIGTERM) the stop was clean.
        missed: planned kill points the run finished before.
        cut_short: trials in flight at a kill (running or interrupted in the snapshot).
        sessions: drivers started.
        lost: trials lost (see `checks.Verdict.lost`).
        twice: evaluations repeated after their commit (see `checks.Verdict.twice`).
        integrity: ``PRAGMA integrity_check`` answers, counted, over every snapshot.
        problems: one line per thing found.
        seconds: how long it took.
    """

    scenario: str
    injected: Counter[str] = field(default_factory=Counter)
    survived: int = 0
    missed: int = 0
    cut_short: int = 0
    sessions: int = 0
    lost: int = 0
    twice: int = 0
    integrity: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plan_kills(rng: random.Random, kinds: Sequence[str], kills: int) -> list[str]:
    """``kills`` kinds drawn from ``kinds``, each kind at least once when there is room."""
    plan = list(kinds[:kills]) + [rng.choice(kinds) for _ in range(kills - len(kinds))]
    rng.shuffle(plan)
    return plan


class _Run:
    """The state of one scenario's run: its folder, store, snapshots and session ends."""

    def __init__(self, scenario: Scenario, folder: Path, rng: random.Random) -> None:
        self.scenario, self.folder, self.rng = scenario, folder, rng
        self.seed = rng.randrange(1000)  # the experiment's
        self.spec = write_run(folder, scenario, self.seed)
        self.store = folder / "runs.db"
        self.snapshots: list[Snapshot] = []
        self.boundaries = [0]  # lines of the evaluations log where each session ended
        self.outcome = Outcome(scenario.name)

    def args(self, first: bool) -> list[str]:
        """``run SPEC`` the first time, then ``run`` or ``resume NAME`` at random."""
        store = ["--store", str(self.store), "-q", "--json"]
        if first or self.rng.random() < 0.5:
            return ["run", str(self.spec), *store]
        return ["resume", self.scenario.name, *store]

    def start(self) -> Driver:
        """Start the next session's driver."""
        self.outcome.sessions += 1
        return Driver(self.folder, self.args(self.outcome.sessions == 1), self.outcome.sessions)

    def take_snapshot(self) -> Snapshot:
        """Read the store and note where the evaluations log stands."""
        evaluations = count_lines(self.folder / EVALUATIONS_LOG)
        self.boundaries.append(evaluations)
        snap = snapshot(self.store, self.scenario.name, evaluations)
        self.outcome.integrity[snap.integrity] += 1
        return snap

    def reach_kill_point(self, driver: Driver, base: int, room: int) -> str | None:
        """Wait until the session has committed some progress beyond ``base`` (at most
        ``room``) and the objective has logged some more; None if the driver exits first,
        else where the kill point fell (for the kills log)."""
        unit = self.scenario.unit
        commits = min(self.rng.randrange(*self.scenario.commits), max(1, room))
        lines = self.rng.randrange(0, 3)
        watch = Watch(self.store, self.scenario.name)
        progress = self.folder / PROGRESS_LOG
        try:
            if not poll(
                lambda: watch.progress(unit) >= base + commits or not driver.running(), DEADLINE
            ):
                raise TimeoutError(f"no progress in {DEADLINE} s: {driver.stderr()[-2000:]}")
            logged = count_lines(progress) + lines
            poll(lambda: count_lines(progress) >= logged or not driver.running(), DEADLINE)
            where = f"{unit} {watch.progress(unit)} (from {base}, aimed at {base + commits}"
        finally:
            watch.close()
        return f"{where}, then {lines} progress lines)" if driver.running() else None

    def kill_once(self, kind: str, kills_left: int) -> bool:
        """One session killed the ``kind`` way at a random point, leaving room for
        ``kills_left`` more; False when the run ended before the kill point."""
        watch = Watch(self.store, self.scenario.name)
        base = watch.progress(self.scenario.unit)
        watch.close()
        room = (self.scenario.units - base) // (kills_left + 2)
        with self.start() as driver:
            where = self.reach_kill_point(driver, base, room)
            if where is not None:
                driver.send(kind)
            code = driver.wait()
        snap = self.take_snapshot()
        self.snapshots.append(snap)
        session = self.outcome.sessions
        if where is None or (snap.finished and snap.stop_reason in COMPLETE):
            self.outcome.missed += 1
            self._log(f"session {session}: the run ended before its kill point, exit {code}")
            if where is None and code != 0:  # not a run that simply finished first
                self.outcome.problems.append(
                    f"session {session} exited with {code} before its kill point: "
                    f"{driver.stderr()[-2000:]}"
                )
            return False
        self.outcome.injected[kind] += 1
        in_flight = sum(row.status in ("running", "interrupted") for row in snap.trials.values())
        self.outcome.cut_short += in_flight
        self._log(
            f"session {session}: {kind} at {where}; exit {code}, stop reason "
            f"{snap.stop_reason!r}, {in_flight} trials in flight"
        )
        before = self.snapshots[-2] if len(self.snapshots) > 1 else Snapshot()
        problems = self._kill_problems(kind, code, driver.stderr(), before, snap)
        if problems:
            number = sum(self.outcome.injected.values())
            self.outcome.problems += [f"kill {number} ({kind}): {p}" for p in problems]
        else:
            self.outcome.survived += 1
        return True

    def _log(self, line: str) -> None:
        """A line of ``kills.log``: where each kill fell and what it left, for a person
        reading a kept run."""
        with (self.folder / "kills.log").open("a") as log:
            log.write(line + "\n")

    @staticmethod
    def _kill_problems(
        kind: str, code: int | None, stderr: str, before: Snapshot, snap: Snapshot
    ) -> list[str]:
        """What went wrong with one kill: the driver or a worker outlived the deadline, the
        store is damaged, a trial failed that should not have, or a SIGINT or SIGTERM did
        not stop the driver cleanly."""
        problems = []
        if code is None:
            problems.append(f"the driver or a worker was still running {DEADLINE} s later")
        if snap.integrity != "ok":
            problems.append(f"integrity_check says {snap.integrity}")
        was_failed = {t for t, row in before.trials.items() if row.status == "failed"}
        failed = {
            t: row.error
            for t, row in snap.trials.items()
            if row.status == "failed" and not fails_on_purpose(row.config) and t not in was_failed
        }
        if failed:
            problems.append(f"trials failed that do not fail on purpose: {failed}")
        if kind in CLEAN:
            if code is not None and code < 0:
                problems.append(f"the driver died of {signal.Signals(-code).name} unhandled")
            problems += _unclean_stop(stderr, snap)
        return problems

    def finish(self) -> Snapshot:
        """A last session, left to run to its end; its result is checked as a user sees it."""
        with self.start() as driver:
            code = driver.wait(DEADLINE * 2)
            if code != 0:
                self.outcome.problems.append(
                    f"the last session exited with {code}: {driver.stderr()[-2000:]}"
                )
            else:
                summary = json.loads(driver.stdout().splitlines()[-1])
                if (summary["trials"], summary["stop_reason"]) not in {
                    (self.scenario.max_trials, reason) for reason in COMPLETE
                }:
                    self.outcome.problems.append(f"the last session's summary: {summary}")
        return self.take_snapshot()


def _unclean_stop(stderr: str, snap: Snapshot) -> list[str]:
    """What is wrong with a stop that SIGINT or SIGTERM should have made clean: the session
    recorded as ended (interrupted), no trial left running or cancelled, no traceback."""
    problems = []
    if "Traceback" in stderr:
        problems.append(f"a traceback on standard error: {stderr[-1500:]}")
    if not snap.finished or snap.stop_reason not in ("interrupted", *COMPLETE):
        problems.append(
            f"the session's end was not recorded as an interruption (finished={snap.finished},"
            f" stop_reason={snap.stop_reason!r})"
        )
    left = {
        t: row.status for t, row in snap.trials.items() if row.status in ("running", "cancelled")
    }
    if left:
        problems.append(f"trials left running or cancelled, not interrupted: {left}")
    return problems


def run_with_faults(
    scenario: Scenario, folder: Path, *, seed: int, kinds: Sequence[str], kills: int
) -> Outcome:
    """Run ``scenario`` in ``folder``, killing its driver at ``kills`` seeded random points
    (the kind of each drawn from ``kinds``) and resuming each time, then let it finish and
    check everything."""
    start = time.monotonic()
    rng = random.Random(seed)
    run = _Run(scenario, folder, rng)
    plan = plan_kills(rng, kinds, kills)
    for index, kind in enumerate(plan):
        if not run.kill_once(kind, len(plan) - index - 1):
            break
    final = run.finish()
    evaluations = read_evaluations(folder / EVALUATIONS_LOG)
    verdict = verify(scenario, run.snapshots, final, evaluations, run.boundaries)
    outcome = run.outcome
    outcome.lost, outcome.twice = len(verdict.lost), len(verdict.twice)
    outcome.problems += verdict.problems
    if scenario.order_free and not outcome.problems:
        try:
            reference = reference_run(scenario, folder / "reference", run.seed)
        except RuntimeError as exc:
            outcome.problems.append(str(exc))
        else:
            outcome.problems += compare_with_reference(final, reference)
    outcome.seconds = time.monotonic() - start
    return outcome


def reference_run(scenario: Scenario, folder: Path, seed: int) -> Snapshot:
    """The same experiment (``seed``) never interrupted, in ``folder``: on the simulated
    executor, where the objective's sleeps cost nothing."""
    spec = write_run(folder, scenario, seed)
    store = folder / "runs.db"
    args = ["run", str(spec), "--store", str(store), "-q", "--executor", "simulated"]
    with Driver(folder, args, 0) as driver:
        code = driver.wait(DEADLINE)
        if code != 0:
            raise RuntimeError(f"the uninterrupted run failed ({code}): {driver.stderr()[-2000:]}")
    return snapshot(store, scenario.name)
