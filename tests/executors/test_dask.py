"""The Dask executor against a real scheduler and real workers on 127.0.0.1: results,
per-trial resources, a worker killed mid-trial, a scheduler lost mid-run, a local cluster.
test_dask_faults.py has the local cluster's own faults and what it leaves behind."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Dask, Executor, Pacing
from paratune.testing.executors import ExecutorContract
from paratune.trial import Job

from ..conftest import wait_for_file
from .dask_cluster import Cluster, need_distributed

distributed = need_distributed()

# The shared cluster's workers: name -> (threads, resources).
WORKERS = {
    "small": (1, "CPU=1"),
    "gpu": (2, "CPU=2,GPU=1"),
    "wide": (2, "CPU=2"),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("dask"), WORKERS)
    yield running
    running.close()


# ---- objectives (imported by name on the workers) ------------------------------------------


def where(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Where the trial ran, and the worker resources it held while running."""
    worker = distributed.get_worker()
    state = worker.state
    return {
        "value": config["x"] ** 2,
        "worker": worker.name,
        "pid": os.getpid(),
        "held": {k: v - state.available_resources[k] for k, v in state.total_resources.items()},
    }


def hold(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trial 0's first attempt names its process; every trial then waits for a "go" file."""
    folder = Path(config["folder"])
    name = "victim" if (ctx.trial_id, ctx.attempt) == (0, 1) else f"running-{ctx.trial_id}"
    (folder / f"{name}.tmp").write_text(str(os.getpid()))
    (folder / f"{name}.tmp").rename(folder / name)  # whole, or not at all
    wait_for_file(folder / "go", deadline=90)
    return float(ctx.trial_id)


def first_quick(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trial 0 returns at once; the others wait for a "go" file."""
    folder = Path(config["folder"])
    if ctx.trial_id > 0:
        (folder / f"running-{ctx.trial_id}").touch()
        wait_for_file(folder / "go", deadline=90)
    return float(ctx.trial_id)


# ---- a running cluster, through its address -------------------------------------------------


def test_runs_an_experiment_through_the_address(cluster: Cluster, tmp_path: Path) -> None:
    store = tmp_path / "trials.db"
    result = pt.tune(where, {"x": pt.Float(-1, 1)}, executor="dask", address=cluster.address,
                     max_trials=12, seed=3, store=store, name="remote")  # fmt: skip
    assert result.workers == sum(threads for threads, _ in WORKERS.values())
    trials = result.trial_list
    assert [t.status for t in trials] == [pt.Status.DONE] * 12
    assert all(t.value == pytest.approx(t.config["x"] ** 2) for t in trials)
    pids = {p.pid for p in cluster.workers.values()}
    assert {t.metrics["pid"] for t in trials} <= pids
    assert all(t.pid == t.metrics["pid"] and t.host for t in trials)
    assert all(t.metrics["held"] == {} or set(t.metrics["held"].values()) == {0} for t in trials)
    assert all(0 <= t.started <= t.finished <= result.wall_time for t in trials)  # type: ignore[operator]
    assert pt.load(store, "remote").trial_list == trials


def test_trials_hold_the_worker_resources_they_ask_for(cluster: Cluster) -> None:
    executor = Dask(cluster.address)
    result = pt.tune(where, {"x": pt.Float(-1, 1)}, executor=executor, resources={"cpus": 2},
                     max_trials=6, store=None)  # fmt: skip
    assert result.workers == 2  # one such trial at a time on "gpu" and on "wide", none on "small"
    assert {t.metrics["worker"] for t in result.trial_list} <= {"gpu", "wide"}
    assert all(t.metrics["held"]["CPU"] == 2 for t in result.trial_list)

    result = pt.tune(where, {"x": pt.Float(-1, 1)}, executor=Dask(cluster.address),
                     resources={"gpus": 1, "cpus": 1}, max_trials=3, store=None)  # fmt: skip
    assert result.workers == 1
    assert {t.metrics["worker"] for t in result.trial_list} == {"gpu"}
    assert all(t.metrics["held"] == {"CPU": 1, "GPU": 1} for t in result.trial_list)


@pytest.mark.parametrize(
    ("resources", "spelled"), [({"cpus": 4}, "CPU=4"), ({"gpus": 2, "cpus": 1}, "CPU=1,GPU=2")]
)
def test_refuses_a_trial_no_worker_could_run(
    cluster: Cluster, resources: dict[str, float], spelled: str
) -> None:
    with pytest.raises(
        pt.SpecError, match=rf"resources: no worker .* needs {spelled}: its workers offer CPU=1; "
    ):
        pt.tune(where, {"x": pt.Float(-1, 1)}, executor="dask", address=cluster.address,
                resources=resources, max_trials=2, store=None)  # fmt: skip


def large(config: dict[str, Any]) -> dict[str, Any]:
    return {"value": config["x"], "blob": "x" * 100_000}  # too large to push: fetched


def test_a_large_result_is_fetched_from_its_worker(cluster: Cluster) -> None:
    result = pt.tune(large, {"x": pt.Float(0, 1)}, executor=Dask(cluster.address),
                     max_trials=3, store=None)  # fmt: skip
    assert all(len(t.metrics["blob"]) == 100_000 for t in result.trial_list)
    assert all(t.worker is not None and t.worker >= 0 for t in result.trial_list)


def test_workers_caps_the_trials_at_once(cluster: Cluster) -> None:
    result = pt.tune(where, {"x": pt.Float(-1, 1)}, executor="dask", address=cluster.address,
                     workers=2, max_trials=4, store=None)  # fmt: skip
    assert result.workers == 2
    assert len(result.trial_list) == 4


def sleep_10ms(config: dict[str, Any], ctx: pt.Context) -> float:
    ctx.elapse(0.01)
    return float(config["x"])


def run_one(executor: Dask, trial_id: int = 0) -> None:
    """Submit one job and wait for its event (which also teaches the executor its length)."""
    executor.submit(Job(trial_id, 1, {"x": 0.5}, seed=trial_id))
    events: list[Any] = []
    while not events:
        events = executor.completed(timeout=30)
    assert events[0].ok, events[0].error


@pytest.mark.parametrize(
    ("workers", "pacing", "after"),
    [
        (None, None, 2),  # 10 ms trials, every thread ours: two tasks per thread
        (None, Pacing(queue_ahead_below=0.005), 1),  # 10 ms is long: one task per thread
        (2, None, 1),  # 2 of the cluster's threads: a queued task could run on a third
    ],
    ids=["all-threads", "10ms-is-long", "some-threads"],
)
def test_short_trials_are_queued_ahead_only_when_every_thread_is_ours(
    cluster: Cluster, workers: int | None, pacing: Pacing | None, after: int
) -> None:
    threads = sum(count for count, _ in WORKERS.values()) if workers is None else workers
    executor = Dask(cluster.address, workers=workers, pacing=pacing)
    executor.start(sleep_10ms)
    try:
        assert executor.free_slots() == threads  # length unknown: one task per thread
        run_one(executor)
        run_one(executor)  # two alike: their run times are steady
        assert executor.free_slots() == after * threads
    finally:
        executor.close()


def test_very_short_trials_go_several_to_a_task(cluster: Cluster) -> None:
    executor = Dask(cluster.address, workers=1)
    executor.start(trivial_pid)
    sizes: list[int] = []
    try:
        begun = 0
        while (free := executor.free_slots()) < 64:  # one thread: each task's jobs at once
            sizes.append(free)
            for trial_id in range(begun, begun + free):
                executor.submit(Job(trial_id, 1, {"x": trial_id}, seed=trial_id))
            ended: list[Any] = []
            while len(ended) < free:
                ended += executor.completed(timeout=30)
            begun += free
        for trial_id in range(100, 164):
            executor.submit(Job(trial_id, 1, {"x": trial_id / 100}, seed=trial_id))
        events: list[Any] = []
        while len(events) < 64:
            events += executor.completed(timeout=30)
    finally:
        executor.close()
    assert sizes == [1, 1, 2, 4, 8, 16, 32]  # no more at once than were short in a row
    assert sorted(e.trial_id for e in events) == list(range(100, 164))
    assert all(e.ok and e.result == {"x": e.trial_id / 100} for e in events)
    assert len({e.pid for e in events}) == 1  # one task ran them all, one after the other
    ordered = sorted(events, key=lambda e: e.trial_id)
    assert all(a.finished <= b.started for a, b in itertools.pairwise(ordered))


def trivial_pid(config: dict[str, Any]) -> dict[str, Any]:
    return dict(config)


def connected_clients(cluster: Cluster) -> int:
    def count(dask_scheduler: Any) -> int:
        return len(dask_scheduler.clients)

    return int(cluster.client.run_on_scheduler(count))


def test_the_connection_is_kept_for_the_next_run_until_disconnect(cluster: Cluster) -> None:
    Dask.disconnect()
    before = connected_clients(cluster)
    for _ in range(2):
        pt.tune(trivial_pid, {"x": pt.Float(0, 1)}, executor=Dask(cluster.address),
                max_trials=2, store=None)  # fmt: skip
        assert connected_clients(cluster) == before + 1  # one connection, kept and reused
    Dask.disconnect()
    assert connected_clients(cluster) == before


def until_cancelled(config: dict[str, Any], ctx: pt.Context) -> float:
    """Says it started, then runs for up to a minute in small steps; says when it stops."""
    folder = Path(config["folder"])
    (folder / f"started-{ctx.trial_id}").touch()
    try:
        for _ in range(6000):
            ctx.elapse(0.01)  # raises TrialCancelled once cancelled
    finally:
        (folder / f"stopped-{ctx.trial_id}").touch()
    return 0.0


def test_cancel_reaches_running_objectives_through_their_context(
    cluster: Cluster, tmp_path: Path
) -> None:
    executor = Dask(cluster.address, workers=2)
    executor.start(until_cancelled)
    try:
        assert executor.free_slots() == 2
        for trial_id in (0, 1):
            executor.submit(Job(trial_id, 1, {"folder": str(tmp_path)}, seed=trial_id))
        executor.completed(timeout=0)  # sends them
        for trial_id in (0, 1):
            wait_for_file(tmp_path / f"started-{trial_id}", deadline=60)
        events = executor.cancel()
    finally:
        executor.close()
    assert sorted(e.trial_id for e in events) == [0, 1] and all(e.cancelled for e in events)
    for trial_id in (0, 1):  # stopped well before their minute
        wait_for_file(tmp_path / f"stopped-{trial_id}", deadline=30)


def test_a_killed_worker_moves_only_its_trial_to_another_worker(
    cluster: Cluster, tmp_path: Path
) -> None:
    # This scheduler reruns a task whose worker died (Dask's allowed-failures, 3); paratune
    # pins each task to a worker, so the move is paratune's, counted against
    # worker_loss_retries and not against retries.
    store = tmp_path / "trials.db"
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            outcome["result"] = pt.tune(
                hold, {"folder": str(tmp_path), "x": pt.Float(0, 1)}, resources={"cpus": 2},
                executor=Dask(cluster.address), retries=0, max_trials=3, store=store, name="kill",
            )  # fmt: skip
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            outcome["error"] = exc

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        wait_for_file(tmp_path / "victim", deadline=60)
        wait_for_file(tmp_path / "running-1", deadline=60)  # both trials run, on two workers
        victim = int((tmp_path / "victim").read_text())
        killed = cluster.named(victim)
        cluster.kill(killed)
    finally:
        (tmp_path / "go").touch()
        driver.join(timeout=90)
    assert "error" not in outcome, outcome.get("error")
    trials = outcome["result"].trial_list
    assert [t.status for t in trials] == [pt.Status.DONE] * 3
    # Trial 0 moved, as the same attempt; trial 2 waited behind it there: sent again.
    assert [t.attempts for t in trials] == [1, 1, 1]
    assert trials[0].pid != victim and trials[0].value == 0.0
    assert pt.load(store, "kill").trial_list == trials  # the store agrees with the run
    cluster.start_worker(killed)  # as it was, for the tests that follow


def wait_for_done(store: Path, name: str, trial_id: int, deadline: float = 60) -> None:
    """Poll the store until the trial is done there."""
    end = time.monotonic() + deadline
    while not any(
        t.trial_id == trial_id and t.status is pt.Status.DONE
        for t in pt.load(store, name).trial_list
    ):
        if time.monotonic() > end:
            raise TimeoutError(f"trial {trial_id} never finished")
        time.sleep(0.01)


def test_a_lost_scheduler_stops_the_run_and_it_resumes(tmp_path: Path) -> None:
    own = Cluster(tmp_path, {"only": (2, "CPU=2")})
    store = tmp_path / "trials.db"
    space = {"folder": str(tmp_path), "x": pt.Float(0, 1)}
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            pt.tune(first_quick, space, executor="dask", address=own.address, max_trials=4,
                    store=store, name="lost")  # fmt: skip
        except BaseException as exc:
            errors.append(exc)

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        wait_for_file(tmp_path / "running-1", deadline=60)
        wait_for_file(tmp_path / "running-2", deadline=60)
        wait_for_done(store, "lost", 0)  # its result may travel after trial 2 started
        own.scheduler.send_signal(signal.SIGKILL)
        driver.join(timeout=60)
    finally:
        (tmp_path / "go").touch()
        own.close()
    assert not driver.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], pt.ParatuneError), errors
    assert "unreachable" in str(errors[0])
    stored = pt.load(store, "lost")
    statuses = {t.trial_id: t.status for t in stored.trial_list}
    # Trials 0 and 1 were sent first, one per thread; once trial 0 had ended (quickly),
    # trial 2 took its thread (one run time says nothing of how steady they are: nothing is
    # queued behind a running trial yet).
    running = pt.Status.RUNNING
    assert statuses == {0: pt.Status.DONE, 1: running, 2: running}

    with warnings.catch_warnings():
        # The run that raised left its lease; how the store words taking it over is its own.
        warnings.filterwarnings("ignore", message=".*taking over from its driver")
        resumed = pt.tune(first_quick, space, executor="threads", workers=2, max_trials=4,
                          store=store, name="lost", resume=True)  # fmt: skip
    assert [t.status for t in resumed.trial_list] == [pt.Status.DONE] * 4
    assert resumed.trial_list[0] == stored.trial_list[0]  # kept, not run again


class StopOddTrialsAtTwo(pt.schedulers.FIFO):
    """Every trial runs; odd ones are told to stop at their step 2 report."""

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        return not (trial_id % 2 and step >= 2)


def epochs(config: dict[str, Any], ctx: pt.Context) -> float:
    for step in range(1, 5):
        ctx.report(step, value=config["x"] + 1 / step)
    return float(config["x"])


def test_reports_reach_the_driver_and_its_answers_stop_trials(cluster: Cluster) -> None:
    result = pt.tune(epochs, {"x": pt.Float(0, 1)}, executor=Dask(cluster.address),
                     scheduler=StopOddTrialsAtTwo(), max_trials=4, store=None)  # fmt: skip
    status = {t.trial_id: t.status for t in result.trial_list}
    assert status == {0: pt.Status.DONE, 1: pt.Status.PRUNED, 2: pt.Status.DONE,
                      3: pt.Status.PRUNED}  # fmt: skip
    steps = result.reports.groupby("trial_id")["step"].apply(list).to_dict()
    assert steps == {0: [1, 2, 3, 4], 1: [1, 2], 2: [1, 2, 3, 4], 3: [1, 2]}
    pruned = result.trial_list[1]
    assert pruned.value == pytest.approx(pruned.config["x"] + 1 / 2)  # its last report


OBJECTIVE = """
import os

def loss(config):
    return (config["x"] - 0.25) ** 2
"""


def test_the_command_line_runs_a_spec_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    # The objective's module sits beside the spec, not on the workers: it travels by value.
    (tmp_path / "beside.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(
        "objective: beside:loss\nspace:\n  x: {type: float, low: 0, high: 1}\n"
        "max_trials: 6\nresources: {cpus: 2}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "paratune", "run", "spec.yaml", "--executor", "dask",
         "--address", cluster.address, "--json", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["trials"] == 6 and summary["best_value"] < 0.25
    stored = pt.load(tmp_path / "paratune.db", "spec")
    assert {t.host for t in stored.trial_list} and stored.workers == 2


# ---- the executor contract -----------------------------------------------------------------


class TestContract(ExecutorContract):
    """On the shared cluster; 2 of its 5 threads, on two of its workers (a setup runs on
    every worker of the cluster)."""

    address = ""
    set_up_workers = len(WORKERS)

    @pytest.fixture(autouse=True)
    def _on_the_cluster(self, cluster: Cluster) -> None:
        self.address = cluster.address

    def make_executor(self, workers: int) -> Executor:
        return Dask(self.address, workers=workers)
