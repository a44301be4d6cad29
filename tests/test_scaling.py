"""Scaling tables from a spec: real runs at each worker count, or the replay of one run."""

from __future__ import annotations

from pathlib import Path

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
