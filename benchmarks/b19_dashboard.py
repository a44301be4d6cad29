"""B19 dashboard, the server's side: what a dashboard watching a run costs the run, and how
fast it answers for a large store.

(a) A run of 15,000 short trials (1 ms each; about 10 s, so each tab polls about ten
times) on the process executor (2 workers) writing to its store, alone and with
``paratune dashboard`` serving that store from its own process to two open tabs (two
threads polling the experiment's API with their cursors, as the page does, once a second
each, and the experiments list as well): its wall time and trials/s, repetitions going
round the two. Goal: within 2% of the run alone.

(b) A store of 100,000 trials (a trivial objective on the serial executor, built once and
kept under the temporary folder for later runs): the experiment API's first full answer
from a fresh server (the data of the experiment page's first load; goal: well under 2 s),
the same for a second tab (kept), the experiments list, and a poll with a cursor when
nothing changed and when 100 trials changed (a driver's session writing to a copy of the
store), under FIFO and under a multi-fidelity scheduler (whose trials may run again: the
server then scans their submission times).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_int,
    fmt_pct,
    fmt_s,
    interleaved,
    main_for,
    median,
    scratch_file,
    timed,
)

import paratune as pt
from paratune.store import SQLiteStore
from paratune.trial import Status, Trial

TITLE = "B19 dashboard"
RUN_GOAL = 0.02  # the run with two tabs open: at most 2% slower
FIRST_LOAD_GOAL = 2.0  # seconds: the experiment page's data, 100,000 trials
SPACE = {"x": pt.Float(-5, 5), "y": pt.Float(-5, 5)}
CACHE = Path(tempfile.gettempdir()) / "paratune-bench-b19"


def objective(config: dict[str, float]) -> float:
    """A short trial: 1 ms."""
    time.sleep(0.001)
    return config["x"] ** 2 + config["y"]


def trivial(config: dict[str, float]) -> float:
    return config["x"] ** 2 + config["y"]


def get(url: str) -> tuple[float, bytes]:
    """Seconds to GET ``url`` and read its whole body, and the body."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as answer:
        body: bytes = answer.read()
    return time.perf_counter() - start, body


# ---- (a) a run watched by two tabs ----------------------------------------------------------


class Tab(threading.Thread):
    """An open page: once a second, the experiments list and the experiment's changes since
    its cursor (404 until the run has made its experiment).

    Attributes:
        answers: the answers it got (the list's and the experiment's).
        polls: the experiment's answers among them.
    """

    def __init__(self, url: str, name: str) -> None:
        super().__init__(daemon=True)
        self.url, self.name, self.cursor = url.rstrip("/"), name, ""
        self.answers = self.polls = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            get(f"{self.url}/api/experiments")
            self.answers += 1
            try:
                _, body = get(f"{self.url}/api/experiments/{self.name}?since={self.cursor}")
                self.cursor = json.loads(body)["cursor"]
                self.polls += 1
                self.answers += 1
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
            self.done.wait(1.0)


def dashboard_process(store: str) -> tuple[subprocess.Popen[str], str]:
    """``paratune dashboard STORE`` in a process of its own, and its URL."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    server = subprocess.Popen([sys.executable, "-m", "paratune", "dashboard", store],
                              stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    if " at http" not in line:
        server.kill()
        server.communicate()
        raise RuntimeError(f"paratune dashboard did not start: {line!r}")
    url = line.split(" at ")[1].split()[0]
    get(f"{url}api/experiments")  # answering: its start-up is not counted in the run's
    return server, url


def cpu_seconds(pid: int) -> float:
    """CPU seconds process ``pid`` used so far (NaN where /proc cannot tell)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def watched_run(n: int, *, tabs: int) -> dict[str, float]:
    """One run of ``n`` trials, watched by ``tabs`` open pages (0: no dashboard): its wall
    time, the tabs' polls and the dashboard's CPU seconds meanwhile."""
    with scratch_file("runs.db") as store:
        SQLiteStore(store).close()  # an empty store, for the dashboard to open first
        server, opened = None, []
        if tabs:
            server, url = dashboard_process(store)
            opened = [Tab(url, "watched") for _ in range(tabs)]
        try:
            cpu = cpu_seconds(server.pid) if server else 0.0
            for tab in opened:
                tab.start()
            wall, result = timed(lambda: pt.tune(
                objective, SPACE, executor="processes", workers=2, max_trials=n, seed=0,
                store=store, name="watched", progress=False))  # fmt: skip
            cpu = cpu_seconds(server.pid) - cpu if server else 0.0
        finally:
            for tab in opened:
                tab.done.set()
                tab.join()
            if server is not None:
                server.terminate()
                server.communicate()  # waits, and closes its pipe
    if len(result.trial_list) != n:
        raise RuntimeError(f"the run made {len(result.trial_list)} trials, expected {n}")
    if tabs and min(tab.answers for tab in opened) == 0:
        raise RuntimeError("a tab never got an answer")
    return {"wall": wall, "polls": sum(tab.polls for tab in opened), "cpu": cpu}


def run_table(options: Options) -> Table:
    n = options.size(15_000, 400)
    runs = interleaved([
        ("alone", lambda: watched_run(n, tabs=0), options.reps(10.0)),
        ("watched", lambda: watched_run(n, tabs=2), options.reps(10.0)),
    ])  # fmt: skip
    wall = {key: median(run["wall"] for run in found) for key, found in runs.items()}
    table = Table(
        f"{TITLE} (a): a run of {n:,} trials of 1 ms on 2 processes, with and without "
        f"two tabs open on its dashboard; {options.describe()}",
        ["wall s", "trials/s", "tab polls", "dashboard CPU s"],
        ratio_label="run / alone",
    )
    table.add(Row("run alone", [fmt_s(wall["alone"]), fmt_int(n / wall["alone"]), "-", "-"]))
    slower = wall["watched"] / wall["alone"] - 1
    watched = runs["watched"]
    table.add(Row(
        "run, dashboard serving 2 tabs",
        [fmt_s(wall["watched"]), fmt_int(n / wall["watched"]),
         fmt_int(median(r["polls"] for r in watched)), fmt_s(median(r["cpu"] for r in watched))],
        goal=f"<= +{RUN_GOAL:.0%} wall", passed=slower <= RUN_GOAL,
        ratio=wall["watched"] / wall["alone"], achieved=f"{fmt_pct(slower)} wall",
    ))  # fmt: skip
    table.notes += [
        "The dashboard is `paratune dashboard STORE` in its own process (started before the "
        "timed run); each tab polls /api/experiments/NAME?since=CURSOR and /api/experiments "
        "once a second. tab polls: the experiment answers both tabs got in the run.",
        "dashboard CPU s: the server process's CPU time during the run (Linux /proc).",
    ]
    return table


# ---- (b) a store of 100,000 trials ---------------------------------------------------------


def big_store(n: int) -> Path:
    """A store of one ended experiment ("big") of ``n`` trials, built once and kept."""
    path = CACHE / f"store-{n}-v1.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for stale in CACHE.glob(f"{building.name}*"):
        stale.unlink()
    pt.tune(trivial, SPACE, executor="serial", max_trials=n, seed=0, store=str(building),
            name="big", progress=False, checkpoint_dir=str(CACHE / "checkpoints"))  # fmt: skip
    building.rename(path)
    return path


def first_loads(path: Path) -> dict[str, float]:
    """A fresh server's first full answer for the experiment, a second tab's, and the
    experiments list's; and the first answer's size in MB."""
    from paratune.dashboard import start

    board = start(path)
    try:
        first, body = get(f"{board.url}api/experiments/big")
        second, _ = get(f"{board.url}api/experiments/big")
        listed, _ = get(f"{board.url}api/experiments")
    finally:
        board.stop()
    return {"first": first, "second": second, "list": listed, "mb": len(body) / 2**20}


def polls(path: Path, n: int, reps: int, *, scheduler: str) -> dict[str, float]:
    """Polls with a cursor when nothing changed and after 100 trials changed, on a copy of
    the store a driver's session writes to (``scheduler``: the experiment's, as stored)."""
    from paratune.dashboard import start

    with scratch_file("copy.db") as copy:
        shutil.copyfile(path, copy)
        with sqlite_connection(copy) as db:
            db.execute("UPDATE experiments SET settings = json_set(settings, '$.scheduler', ?)",
                       (scheduler,))  # fmt: skip
        writer = SQLiteStore(copy)
        reader = SQLiteStore(copy, readonly=True)
        reader.select("big")
        writer.open(reader.experiment(), resume=True, overwrite=False)
        reader.close()
        next_id = n
        board = start(copy)
        try:
            url = f"{board.url}api/experiments/big"
            cursor = json.loads(get(url)[1])["cursor"]
            still, changed = [], []
            for _ in range(reps):
                still.append(get(f"{url}?since={cursor}")[0])
                writer.save(made(next_id, 100))
                next_id += 100
                seconds, answer = changes(f"{url}?since={cursor}")
                if len(answer["trials"]) != 100 or answer["reset"]:
                    raise RuntimeError(f"{len(answer['trials'])} trials came, not 100")
                changed.append(seconds)
                cursor = answer["cursor"]
        finally:
            board.stop()
            writer.close()
    return {"still": median(still), "changed": median(changed)}


def changes(url: str, deadline: float = 30.0) -> tuple[float, dict[str, Any]]:
    """The first poll of ``url`` that brings changes (the server reads the store at most
    every half second): its seconds and its answer."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        time.sleep(0.25)
        seconds, body = get(url)
        answer: dict[str, Any] = json.loads(body)
        if answer["trials"]:
            return seconds, answer
    raise RuntimeError(f"no change came in {deadline:g} s")


def made(first: int, count: int) -> list[Trial]:
    """``count`` trials from id ``first`` on, as a driver saves them when they end."""
    done = Trial(0, {"x": 0.5, "y": 0.5}, 0, Status.DONE, 0.75, submitted=1e4, started=1e4,
                 finished=1e4 + 0.001, worker_time=0.001, worker=0)  # fmt: skip
    return [done._replace(trial_id=i, seed=i) for i in range(first, first + count)]


def sqlite_connection(path: str) -> Any:
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(path, isolation_level=None))


def store_table(options: Options) -> Table:
    n = options.size(100_000, 10_000)
    path = big_store(n)
    reps = options.reps(1.0)
    loads = [first_loads(path) for _ in range(reps)]
    fifo = polls(path, n, reps, scheduler="fifo")
    mf = polls(path, n, reps, scheduler="asha")
    first = median(load["first"] for load in loads)
    table = Table(
        f"{TITLE} (b): the API on a store of {n:,} trials; {options.describe()}",
        ["seconds", "MB"],
    )
    table.add(Row(
        "experiment, first full answer (fresh server)",
        [fmt_s(first), f"{median(load['mb'] for load in loads):.1f}"],
        goal=f"< {FIRST_LOAD_GOAL:g} s", passed=first < FIRST_LOAD_GOAL,
        achieved=f"{first:.2f} s",
    ))  # fmt: skip
    table.add(Row("experiment, full answer to a second tab",
                  [fmt_s(median(load["second"] for load in loads), 4), "-"]))  # fmt: skip
    table.add(Row("experiments list", [fmt_s(median(load["list"] for load in loads), 4), "-"]))
    for label, found in (("FIFO", fifo), ("multi-fidelity", mf)):
        table.add(Row(f"poll, nothing changed ({label})", [fmt_s(found["still"], 4), "-"]))
        table.add(Row(f"poll, 100 trials changed ({label})", [fmt_s(found["changed"], 4), "-"]))
    table.notes += [
        "Times are from this process's request to the last byte of the answer (urllib, "
        "127.0.0.1), the server in a thread of this process (`paratune.dashboard.start`).",
        "A first full answer reads every trial and formats it as JSON; later tabs get the "
        "kept text. A poll after changes reads the new trials and those that were running; "
        "under a multi-fidelity scheduler also scans every trial's submission time, as an "
        "ended trial may run again at a higher budget.",
    ]
    return table


def run(options: Options) -> list[Table]:
    return [run_table(options), store_table(options)]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
