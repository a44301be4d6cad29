"""Per-trial resources: checking them, splitting a machine into slots, and the process
executor pinning each trial to its own cores and GPUs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Processes, Resources, parse_resources
from paratune.executors._resources import Placement, plan_slots, visible_gpus

from ..conftest import wait_for_file


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([2], "resources must be a mapping"),
        ({"cores": 2}, "unknown resource 'cores'; expected 'cpus' and/or 'gpus'"),
        ({"cpus": 0}, r"resources\['cpus'\] must be a finite number > 0, got 0"),
        ({"gpus": -1}, r"resources\['gpus'\] must be a finite number > 0"),
        ({"cpus": True}, r"resources\['cpus'\] must be a finite number > 0, got True"),
        ({"cpus": "2"}, r"resources\['cpus'\] must be a finite number > 0, got '2'"),
        ({"cpus": float("inf")}, r"resources\['cpus'\] must be a finite number > 0"),
        ({"gpus": 2**1100}, r"resources\['gpus'\] must be a finite number > 0"),
    ],
)
def test_bad_resources_name_the_entry(value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_resources(value)


def test_resources_parse_to_numbers() -> None:
    assert parse_resources({"cpus": 2, "gpus": 0.5}) == Resources(2.0, 0.5)
    assert parse_resources({}) is None and parse_resources(None) is None
    assert Resources(cpus=2).as_dict() == {"cpus": 2}


CPUS = [0, 1, 2, 3]
GPUS = ["0", "1"]


@pytest.mark.parametrize(
    ("need", "workers", "placements"),
    [
        (Resources(cpus=1), None, [((0,), ()), ((1,), ()), ((2,), ()), ((3,), ())]),
        (Resources(cpus=2), None, [((0, 1), ()), ((2, 3), ())]),
        (Resources(cpus=3), None, [((0, 1, 2), ())]),
        (Resources(cpus=1), 2, [((0,), ()), ((1,), ())]),
        (Resources(cpus=1, gpus=1), None, [((0,), ("0",)), ((1,), ("1",))]),
        (Resources(gpus=0.5), None, [((), ("0",)), ((), ("0",)), ((), ("1",)), ((), ("1",))]),
        (Resources(cpus=1.5), None, [((0, 1), ()), ((1, 2), ())]),  # fractions share
    ],
)
def test_slots_split_the_machine(
    need: Resources, workers: int | None, placements: list[tuple[tuple[int, ...], tuple[str, ...]]]
) -> None:
    assert plan_slots(need, cpus=CPUS, gpus=GPUS, workers=workers) == [
        Placement(*p) for p in placements
    ]


@pytest.mark.parametrize(
    ("need", "match"),
    [
        (Resources(cpus=5), r"asks for 5 cpus but this machine has 4 \(0, 1, 2, 3\)"),
        (Resources(gpus=3), r"asks for 3 gpus but this machine has 2 \(0, 1\)"),
    ],
)
def test_a_trial_that_cannot_fit_is_refused(need: Resources, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        plan_slots(need, cpus=CPUS, gpus=GPUS, workers=None)
    with pytest.raises(ValueError, match="but this machine has none"):
        plan_slots(Resources(gpus=1), cpus=CPUS, gpus=[], workers=None)


def test_visible_gpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 5")
    assert visible_gpus() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: A (UUID: GPU-a)'\necho 'GPU 1: B (UUID: GPU-b)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert visible_gpus() == ["0", "1"]
    fake.unlink()
    assert visible_gpus() == []


def test_the_process_executor_runs_only_as_many_trials_as_fit() -> None:
    executor = Processes(8, cpus=[0, 1], gpus=[])
    executor.use_resources(Resources(cpus=1))
    assert executor.workers == 2
    executor = Processes(None, cpus=[0, 1], gpus=[0, 1, 2, 3])
    executor.use_resources(Resources(gpus=1))
    assert executor.workers == 4  # no cpus asked: the GPUs are the limit


# ---- pinning, seen from inside the objective -------------------------------------------------


def pinned(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Report this process's cores and GPUs once every trial of the batch is running."""
    folder = Path(config["folder"])
    (folder / f"arrived-{ctx.trial_id}").touch()
    for other in range(config["together"]):
        wait_for_file(folder / f"arrived-{other}", deadline=60)
    return {
        "value": 0.0,
        "cores": sorted(os.sched_getaffinity(0)),
        "gpus": os.environ["CUDA_VISIBLE_DEVICES"],
        "pid": os.getpid(),
    }


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_trials_running_together_never_share_a_core(tmp_path: Path) -> None:
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        pytest.skip("needs 2 cores")
    space = {"folder": str(tmp_path), "together": 2, "x": pt.Float(0, 1)}
    result = pt.tune(pinned, space, executor=Processes(cpus=cores), resources={"cpus": 1},
                     max_trials=2, store=None)  # fmt: skip
    assert result.workers == 2
    seen = [t.metrics for t in result.trial_list]
    assert all(len(s["cores"]) == 1 for s in seen)
    assert {s["cores"][0] for s in seen} == set(cores)  # both running at once, one core each
    assert all(s["gpus"] == "" for s in seen)  # no GPU asked for: none visible


def test_trials_running_together_never_share_a_gpu(tmp_path: Path) -> None:
    space = {"folder": str(tmp_path), "together": 4, "x": pt.Float(0, 1)}
    executor = Processes(gpus=[0, 1, 2, 3])
    result = pt.tune(pinned, space, executor=executor, resources={"gpus": 1}, max_trials=4,
                     store=None)  # fmt: skip
    assert result.workers == 4
    seen = [t.metrics["gpus"] for t in result.trial_list]
    assert sorted(seen) == ["0", "1", "2", "3"]  # four at once, one GPU each


def test_tune_refuses_resources_it_cannot_honour() -> None:
    with pytest.raises(pt.SpecError, match="resources need executor='processes' or 'dask'"):
        pt.tune(pinned, {"x": 1}, executor="threads", resources={"cpus": 1}, store=None)
    with pytest.raises(pt.SpecError, match=r"resources: a trial asks for 1e\+06 cpus"):
        pt.tune(pinned, {"x": 1}, executor="processes", resources={"cpus": 10**6}, store=None)
    with pytest.raises(pt.SpecError, match="resources: unknown resource 'ram'"):
        pt.tune(pinned, {"x": 1}, executor="processes", resources={"ram": 1}, store=None)


def test_a_spec_with_bad_resources_names_the_file_and_key(tmp_path: Path) -> None:
    from paratune.spec import resolve_run_spec

    data = {"objective": "x:y", "space": {"x": 1}, "resources": {"cpus": -2}}
    with pytest.raises(pt.SpecError, match=r"spec.yaml: key 'resources': resources\['cpus'\]"):
        resolve_run_spec(data, source=tmp_path / "spec.yaml")
