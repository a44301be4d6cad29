"""Scaling tables from a spec: real runs at each worker count, or the replay of one run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

import paratune as pt
from paratune.errors import SpecError
from paratune.scaling import measure_scaling, simulate_scaling

OBJECTIVE = """
def wait(config, ctx):
    ctx.elapse(1.0 + config["i"] % 3)   # 1, 2 or 3 virtual seconds
    return float(config["i"])
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "waits.py").write_text(OBJECTIVE)
    path = tmp_path / "spec.yaml"
    path.write_text(
        "objective: waits:wait\nspace: {i: {type: int, low: 0, high: 5}}\n"
        "searcher: grid\nexecutor: simulated\nstore: runs.db\n"
    )
    return path


def test_measured_on_the_simulated_executor_is_exact(spec: Path) -> None:
    seen: list[tuple[int, float]] = []
    table = measure_scaling(spec, [1, 2, 3], on_run=lambda n, r: seen.append((n, r.wall_time)))
    # Durations 1, 2, 3, 1, 2, 3: 12 s alone. Two workers: w0 runs 0-1, 1-4, 4-7 and w1
    # 0-2, 2-3, 3-5, so 7 s. Three: w0 0-1, 1-2, 2-4; w1 0-2, 2-5; w2 0-3, so 5 s.
    assert table["time"].tolist() == [12.0, 7.0, 5.0]
    assert table["speedup_vs_sequential"].tolist() == pytest.approx([1.0, 12 / 7, 2.4])
    assert table["efficiency"].tolist() == pytest.approx([1.0, 6 / 7, 0.8])
    assert seen == [(1, 12.0), (2, 7.0), (3, 5.0)]
    assert table["startup"].tolist() == [0.0, 0.0, 0.0]  # a virtual clock needs no warm-up
    assert not (spec.parent / "runs.db").exists()  # measured runs are kept in memory


def test_simulated_replays_one_stored_run(spec: Path) -> None:
    table, run = simulate_scaling(spec, [1, 2, 3], overrides={"workers": 2})
    assert run.workers == 2 and len(run.trial_list) == 6
    assert table["time"].tolist() == [12.0, 7.0, 5.0]
    assert pt.load(spec.parent / "runs.db", "spec").wall_time == 7.0
    again, _ = simulate_scaling(spec, [1, 2], overrides={"workers": 2})  # nothing runs again
    assert again["time"].tolist() == [12.0, 7.0]


@pytest.mark.parametrize(("workers", "message"), [([2, 4], "include 1"), ([], "positive")])
def test_bad_worker_counts(spec: Path, workers: list[int], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        measure_scaling(spec, workers)
    with pytest.raises(SpecError, match=message):
        simulate_scaling(spec, workers)


# A one-off cost paid by the first call in each process (as an import, a library's first
# call, or a cache filled on first use is), then 0.15 s per trial.
LAZY = """
import time

_cache = None
calls = []


def trial(config):
    global _cache
    calls.append(config["i"])
    if _cache is None:
        time.sleep(0.6)
        _cache = {}
    time.sleep(0.15)
    return float(config["i"])
"""


def lazy_spec(folder: Path, executor: str, *more: str) -> Path:
    """8 trials of the lazy objective, in a module of its own (a module imported once per
    driver process keeps its cache: each test needs a fresh one)."""
    module = lazy_module(folder, executor)
    (folder / f"{module}.py").write_text(LAZY)
    path = folder / "lazy.yaml"
    path.write_text(
        f"objective: {module}:trial\nspace: {{i: {{type: int, low: 0, high: 7}}}}\n"
        f"searcher: grid\nexecutor: {executor}\n" + "".join(f"{line}\n" for line in more)
    )
    return path


def lazy_module(folder: Path, executor: str) -> str:
    return f"lazy_{executor}_{folder.name}".replace("-", "_")


def speedup_at_two(table: pd.DataFrame) -> float:
    speedups = table.set_index("number_of_workers")["speedup_vs_sequential"]
    return float(speedups[2])


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_the_order_of_the_counts_does_not_matter(tmp_path: Path, executor: str) -> None:
    spec = lazy_spec(tmp_path, executor)
    forward = measure_scaling(spec, [1, 2])
    backward = measure_scaling(spec, [2, 1])
    # 8 x 0.15 s on one worker, 4 x 0.15 s on two: the one-off cost is paid while warming up.
    for table in (forward, backward):
        timed = table.set_index("number_of_workers")["time"]
        assert 1.2 <= timed[1] < 1.2 + 0.3 and 0.6 <= timed[2] < 0.6 + 0.3, table
        assert 1.6 < speedup_at_two(table) < 2.1, table
    assert abs(speedup_at_two(forward) - speedup_at_two(backward)) < 0.25, (forward, backward)
    # Processes pay the one-off cost in every worker, threads once per driver process.
    paid = forward.set_index("number_of_workers")["startup"]
    assert paid[1] >= 0.6 and (paid[2] >= 0.6 if executor == "processes" else paid[2] > 0)


def test_a_cold_start_is_what_the_warm_up_takes_out(tmp_path: Path) -> None:
    spec = lazy_spec(tmp_path, "threads")
    forward = measure_scaling(spec, [1, 2], warm_up=False)  # the 1-worker run pays 0.6 s
    backward = measure_scaling(spec, [2, 1], warm_up=False)  # already paid in this process
    assert speedup_at_two(forward) > 2.4 and speedup_at_two(backward) < 2.1
    assert forward["startup"].tolist() == [0.0, 0.0]  # inside the times


REPORTS = """
import os


def trial(config, ctx):
    for step in (1, 2):
        ctx.report(step, value=float(step))
    return float(os.getpid())
"""


def test_a_spec_without_an_executor_runs_each_count_on_processes(tmp_path: Path) -> None:
    (tmp_path / "reporting.py").write_text(REPORTS)
    spec = tmp_path / "spec.yaml"
    spec.write_text("objective: reporting:trial\nspace: {x: {type: float, low: 0, high: 1}}\n"
                    "max_trials: 3\n")  # fmt: skip
    runs: dict[int, pt.TuneResult] = {}
    measure_scaling(spec, [1, 2], on_run=runs.__setitem__)
    for result in runs.values():
        assert len(result.trial_list) == 3
        assert all(t.value != os.getpid() for t in result.trial_list)  # not in the driver
        # The timed run hears its own reports, not the warm-up's.
        assert sorted((r.trial_id, r.step) for r in result.report_list) == [
            (i, step) for i in range(3) for step in (1, 2)
        ]


def test_a_serial_spec_is_refused_before_anything_runs(spec: Path) -> None:
    spec.write_text(spec.read_text().replace("executor: simulated", "executor: serial"))
    ran: list[int] = []
    with pytest.raises(SpecError, match="executor 'serial' runs one trial at a time"):
        measure_scaling(spec, [1, 2], on_run=lambda n, r: ran.append(n))
    assert ran == []


def test_simulated_runs_its_trials_on_a_warm_pool_once(tmp_path: Path) -> None:
    spec = lazy_spec(tmp_path, "threads", "workers: 2", "store: runs.db")
    table, run = simulate_scaling(spec, [1, 2])
    # The one-off 0.6 s went into the warm-up, not into a replayed duration.
    assert len(run.trial_list) == 8
    assert all(0.15 <= t.worker_time < 0.15 + 0.1 for t in run.trial_list), run.trials
    assert 1.2 <= table["time"].iloc[0] < 1.2 + 0.4, table
    stored = pt.load(tmp_path / "runs.db", "lazy")
    assert len(stored.trial_list) == 8  # the warm-up trials are kept nowhere
    assert stored_setting(tmp_path / "runs.db", "lazy", "executor") == "threads"
    module = sys.modules[lazy_module(tmp_path, "threads")]
    ran = len(module.calls)
    assert ran == 8 + 2  # the trials, and one warm-up trial per worker
    again, _ = simulate_scaling(spec, [1, 2])  # nothing left to run: no warm-up either
    assert len(module.calls) == ran and again["time"].tolist() == table["time"].tolist()


def stored_setting(store: Path, name: str, key: str) -> object:
    from paratune.store import SQLiteStore

    db = SQLiteStore(store, readonly=True)
    try:
        db.select(name)
        return db.experiment().settings[key]
    finally:
        db.close()


SETUP = """
prepared = []


def prepare():
    prepared.append(1)
    return 7.0


def trial(config, ctx):
    return ctx.prepared
"""


def test_the_setup_runs_in_the_warm_up_once_per_worker(tmp_path: Path) -> None:
    module = f"setup_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{module}.py").write_text(SETUP)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"objective: {module}:trial\nsetup: {module}:prepare\n"
                    "space: {x: {type: float, low: 0, high: 1}}\nexecutor: threads\n"
                    "max_trials: 6\n")  # fmt: skip
    runs: dict[int, pt.TuneResult] = {}
    measure_scaling(spec, [1, 2], on_run=runs.__setitem__)
    assert all(t.value == 7.0 for r in runs.values() for t in r.trial_list)
    # Once per worker of each pool (1, then 2), all before the timed runs.
    assert len(sys.modules[module].prepared) == 1 + 2
