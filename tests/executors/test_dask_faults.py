"""The Dask executor's local cluster and its faults, with real processes: what a run leaves
behind and where the cluster listens, addresses refused before anything starts, and trials
whose worker dies moving to another worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.analysis import efficiency_summary
from paratune.executors import Dask, _dask_cluster, make_executor
from paratune.trial import Event, Job

from .._wait import poll
from . import dask_census
from .dask_cluster import need_distributed

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# ---- what a run leaves behind, where the cluster listens ----------------------------------------


@linux_only
def test_a_local_cluster_listens_on_loopback_and_leaves_nothing_behind(tmp_path: Path) -> None:
    need_distributed()
    # A fresh process, so that "before" is before any Dask: see dask_census.py.
    done = subprocess.run(
        [sys.executable, str(Path(dask_census.__file__))],
        cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["workers"] == 2
    assert found["statuses"] == ["done", "done"]
    for trial in found["trials"]:
        assert trial["pid"] != found["driver"]  # ran in the cluster's worker processes
        assert trial["scheduler"].startswith("tcp://127.0.0.1:")
        # Scheduler, nannies, workers and their HTTP servers: every one on loopback.
        assert len(trial["listening"]) >= 5
        assert all(address.startswith("127.0.0.1:") for address in trial["listening"]), trial
    # After a run: only what a first cluster leaves to the process for its lifetime, and
    # nothing of the cluster (its worker processes, their watcher threads, its sockets).
    assert dask_census.process_wide(found["after_run"]), found["after_run"]
    # After a run that Ctrl-C interrupted: not one more process, thread or open file.
    assert dask_census.nothing(found["after_interrupt"]), found["after_interrupt"]


# ---- arguments and addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_workers": 0}, "n_workers must be a positive integer"),
        ({"workers": True}, "workers must be a positive integer"),
        ({"threads_per_worker": 0}, "threads_per_worker must be >= 1"),
        ({"address": "tcp://127.0.0.1:1", "n_workers": 2}, "describe a local cluster"),
        ({"address": 8786}, "address must be a scheduler address"),
        ({"address": "tcp://head:8786x"}, "address must be a Dask scheduler address"),
        ({"worker_loss_retries": -1}, "worker_loss_retries must be an integer >= 0"),
        ({"worker_loss_retries": 1.5}, "worker_loss_retries must be an integer >= 0"),
        ({"resources": {"cores": 2}}, "unknown resource 'cores'"),
        ({"timeout": 0}, "timeout must be seconds > 0"),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Dask(**kwargs)


def test_address_needs_the_dask_executor() -> None:
    with pytest.raises(ValueError, match=r"address .* needs executor='dask'"):
        make_executor("processes", 2, None, "tcp://127.0.0.1:8786")


def test_without_distributed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # an import of it now fails
    with pytest.raises(pt.ParatuneError, match=r"pip install 'paratune\[dask\]'"):
        _ = Dask().workers


def test_a_trial_no_local_worker_could_run_is_refused_without_starting_the_cluster() -> None:
    need_distributed()  # the local cluster's size is Dask's count of the CPUs
    started = time.monotonic()
    with pytest.raises(pt.SpecError, match=r"no worker of the Dask cluster \(a local cluster\) "
                       r"can run a trial that needs GPU=1: its workers offer CPU=1;"):  # fmt: skip
        pt.tune(dask_census.where_it_listens, {"x": pt.Float(0, 1)}, executor="dask",
                workers=2, resources={"gpus": 1}, max_trials=1, store=None)  # fmt: skip
    assert time.monotonic() - started < 1  # a cluster takes seconds to start


@pytest.mark.parametrize("address", ["not a url", "tcp://", "tcp://host:99999", "garbage",
                                     "http://head:8786", "tcp://head"])  # fmt: skip
def test_a_malformed_address_is_refused_before_anything_starts(address: str) -> None:
    started = time.monotonic()
    with pytest.raises(pt.SpecError, match=r"address must be a Dask scheduler address, "
                       r"PROTOCOL://HOST:PORT such as 'tcp://head:8786'"):  # fmt: skip
        pt.tune(dask_census.where_it_listens, {"x": pt.Float(0, 1)}, executor="dask",
                address=address, max_trials=1, store=None)  # fmt: skip
    assert time.monotonic() - started < 1  # refused, not tried


def test_an_address_that_is_not_text_is_refused() -> None:
    with pytest.raises(pt.SpecError, match=r"address must be a scheduler address or a "
                       r"distributed\.Client, got 123"):  # fmt: skip
        pt.tune(dask_census.where_it_listens, {"x": pt.Float(0, 1)}, executor="dask",
                address=123, max_trials=1, store=None)  # type: ignore[arg-type]  # fmt: skip


def test_the_command_line_refuses_a_malformed_address(tmp_path: Path) -> None:
    (tmp_path / "beside.py").write_text("def loss(config):\n    return config['x']\n")
    (tmp_path / "spec.yaml").write_text(
        "objective: beside:loss\nspace:\n  x: {type: float, low: 0, high: 1}\nmax_trials: 1\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "paratune", "run", "spec.yaml", "--executor", "dask",
         "--address", "garbage"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "address must be a Dask scheduler address" in done.stderr
    assert not (tmp_path / "paratune.db").exists()  # refused before the store was opened


def test_an_address_where_nothing_listens_fails_after_the_timeout() -> None:
    need_distributed()
    started = time.monotonic()
    with pytest.raises(pt.ParatuneError, match=r"cannot use the Dask cluster at "
                       r"tcp://127\.0\.0\.1:1: OSError: Timed out"):  # fmt: skip
        pt.tune(dask_census.where_it_listens, {"x": pt.Float(0, 1)}, max_trials=1, store=None,
                executor=Dask("tcp://127.0.0.1:1", timeout=1))  # fmt: skip
    assert time.monotonic() - started < 10


# ---- the local cluster's scheduler; a worker lost while it runs a trial -------------------------


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[Any, Any]]:
    """A local cluster of two one-thread workers and its client, started as `Dask()` starts
    one (nannies restart a killed worker; the scheduler reruns nothing by itself)."""
    need_distributed()
    cluster, client = _dask_cluster.start_local(2, 1, {"CPU": 1}, None)
    yield cluster, client
    _dask_cluster.close_local(cluster, client)


@pytest.fixture
def local(started: tuple[Any, Any]) -> Any:
    """The client of the shared local cluster."""
    return started[1]


def test_the_local_scheduler_serves_a_health_check_and_nothing_more(
    started: tuple[Any, Any],
) -> None:
    cluster, _ = started
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    server = cluster.scheduler.services["dashboard"]  # Dask's name for its HTTP server
    assert server.address == "127.0.0.1"
    base = f"http://127.0.0.1:{server.port}"
    with urllib.request.urlopen(f"{base}/health", timeout=10) as answer:
        assert answer.read() == b"ok"
    # Dask's pages: workers, logs, call stacks, the dashboard, metrics.
    for page in ("/info/main/workers.html", "/info/logs/", "/status", "/metrics"):
        with pytest.raises(urllib.error.HTTPError, match="404") as refused:
            urllib.request.urlopen(f"{base}{page}", timeout=10)
        refused.value.close()


def dies(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Kills its own worker process (as the kernel's OOM killer would) for its first
    ``config["deaths"]`` runs, counted by files; then returns where it ran."""
    folder = Path(config["folder"])
    deaths = len(list(folder.glob(f"died-{ctx.trial_id}-*")))
    if deaths < config["deaths"]:
        (folder / f"died-{ctx.trial_id}-{deaths}").write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"value": 0.0, "pid": os.getpid()}


def run_to_end(executor: Dask, job: Job) -> Event:
    """Submit one job and wait (a minute at most) for its event."""
    executor.submit(job)
    deadline = time.monotonic() + 60
    events: list[Event] = []
    while not events:
        assert time.monotonic() < deadline, "the job never ended"
        events = executor.completed(timeout=1)
    return events[0]


def test_a_trial_whose_worker_dies_moves_to_another_worker(local: Any, tmp_path: Path) -> None:
    executor = Dask(local)  # worker_loss_retries=3 by default
    executor.start(dies)
    try:
        event = run_to_end(executor, Job(0, 1, {"folder": str(tmp_path), "deaths": 1}, seed=0))
    finally:
        executor.close()
    assert event.ok, event.error
    assert (event.attempt, event.moved) == (1, 1)  # the same attempt, moved once
    killed = int((tmp_path / "died-0-0").read_text())
    assert event.pid == event.result["pid"] != killed


def test_moves_are_bounded_by_worker_loss_retries(local: Any, tmp_path: Path) -> None:
    executor = Dask(local, worker_loss_retries=1)
    executor.start(dies)
    try:
        event = run_to_end(executor, Job(0, 1, {"folder": str(tmp_path), "deaths": 9}, seed=0))
    finally:
        executor.close()
    assert not event.ok and event.moved == 1
    assert len(list(tmp_path.glob("died-0-*"))) == 2  # it ran twice, and no more
    assert event.error is not None
    assert event.error.startswith("Dask worker tcp://127.0.0.1:")
    assert event.error.endswith(
        "was lost while it ran the trial, after 1 earlier loss (worker_loss_retries=1)"
    )


def test_without_worker_loss_retries_the_trial_fails_saying_its_worker_was_lost(
    local: Any, tmp_path: Path
) -> None:
    result = pt.tune(dies, {"folder": str(tmp_path), "deaths": 1}, max_trials=1, store=None,
                     executor=Dask(local, worker_loss_retries=0))  # fmt: skip
    trial = result.trial_list[0]
    assert (trial.status, trial.attempts) == (pt.Status.FAILED, 1)
    assert trial.error is not None
    assert "was lost while it ran the trial (worker_loss_retries=0)" in trial.error


def test_a_moved_trial_is_done_at_its_first_attempt(local: Any, tmp_path: Path) -> None:
    store = tmp_path / "trials.db"
    result = pt.tune(dies, {"folder": str(tmp_path), "deaths": 1}, max_trials=1, store=store,
                     name="moved", executor=Dask(local))  # fmt: skip
    trial = result.trial_list[0]
    assert (trial.status, trial.attempts, trial.error, trial.moved) == (pt.Status.DONE, 1, None, 1)
    assert trial.pid != int((tmp_path / "died-0-0").read_text())
    assert pt.load(store, "moved").trial_list == [trial]


# ---- a worker that leaves and is not replaced ---------------------------------------------------


def waits_for_the_gate(config: dict[str, Any]) -> float:
    """From trial 2 on, wait (a minute at most) for the test to open the gate."""
    if config["x"] >= 2:
        poll(lambda: Path(config["gate"]).exists(), 60)
    return float(config["x"])


def test_progress_counts_a_worker_lost_and_not_replaced(tmp_path: Path) -> None:
    need_distributed()
    cluster, client = _dask_cluster.start_local(2, 1, {"CPU": 1}, None)
    gate = tmp_path / "gate"
    seen: list[pt.Progress] = []

    def watch(progress: pt.Progress) -> None:
        seen.append(progress)
        if len(seen) == 1:  # retired: closed with its nanny, so nothing takes its place
            address = sorted(client.scheduler_info()["workers"])[0]
            client.retire_workers(workers=[address], close_workers=True, remove=True)
        if progress.lost:
            gate.touch()

    try:
        space = {"x": pt.Int(0, 5), "gate": str(gate)}
        result = pt.tune(waits_for_the_gate, space, searcher=pt.searchers.Grid(order="given"),
                         executor=Dask(client), store=tmp_path / "runs.db", name="lost",
                         progress=watch)  # fmt: skip
    finally:
        _dask_cluster.close_local(cluster, client)
    assert [t.status for t in result.trial_list] == [pt.Status.DONE] * 6
    # The lost worker's absence is neither busy nor idle time, and it is kept with the run.
    assert 0 < result.lost_time < result.wall_time
    assert pt.load(tmp_path / "runs.db", "lost").lost_time == result.lost_time
    summary = efficiency_summary(result)
    # A retired worker may end its job after the run counted it gone: that time is busy.
    assert summary.lost_time == min(result.lost_time, summary.capacity - summary.busy_time)
    assert summary.idle_time == pytest.approx(
        summary.capacity - summary.busy_time - summary.lost_time
    )
    table = summary.breakdown().set_index("part")["seconds"]
    assert table["lost workers (absent)"] == summary.lost_time
    assert table.sum() == pytest.approx(summary.capacity)
    assert seen[0].lost == 0 and seen[0].workers == 2
    lost = [p for p in seen if p.lost]
    assert lost, "no progress showed the lost worker"
    assert all(p.workers == 2 and p.lost == 1 and p.running <= 1 for p in lost)
