"""The run's setup on a Dask cluster of its own: every worker runs it when the run starts,
and a worker that joins later runs it when it joins; where it fails there, the run stops with
a `SetupError` as soon as a trial reaches that worker."""

from __future__ import annotations

import functools
import itertools
import os
import time
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.executors import Dask, SetupError
from paratune.trial import Job

from .dask_cluster import Cluster, need_distributed

DEADLINE = 60.0


def loads_unless_flagged(folder: str) -> int:
    """A setup: this worker's pid, unless a file ``fail`` is in ``folder``."""
    if (Path(folder) / "fail").exists():
        raise OSError("the data is not on this machine")
    return os.getpid()


def prepared(config: dict[str, Any], ctx: pt.Context) -> Any:
    """What this worker's setup returned."""
    return ctx.prepared


def test_a_worker_that_joins_later_runs_the_setup_and_its_failure_stops_the_run(
    tmp_path: Path,
) -> None:
    need_distributed()
    own = Cluster(tmp_path, {"first": (1, "CPU=1")})
    executor = Dask(own.address, workers=2)
    try:
        executor.start(prepared, setup=functools.partial(loads_unless_flagged, str(tmp_path)))
        executor.submit(Job(0, 1, {}, seed=0))
        [first] = executor.completed(timeout=DEADLINE)
        assert first.ok and first.result == first.pid  # the setup ran in its worker
        (tmp_path / "fail").touch()
        own.specs["late"] = (1, "CPU=1")
        own.start_worker("late")
        end = time.monotonic() + DEADLINE
        ids = itertools.count(1)
        with pytest.raises(SetupError, match="OSError: the data is not on this machine") as raised:
            while time.monotonic() < end:  # until a trial reaches the late worker
                for trial_id in itertools.islice(ids, executor.free_slots()):
                    executor.submit(Job(trial_id, 1, {}, seed=trial_id))
                executor.completed(timeout=1.0)
        assert raised.value.where.startswith("Dask worker tcp://127.0.0.1:")
        assert "loads_unless_flagged" in raised.value.traceback
        executor.cancel()
    finally:
        executor.close()
        own.close()


def test_a_setup_that_raises_when_the_run_starts_is_a_setup_error(tmp_path: Path) -> None:
    need_distributed()
    (tmp_path / "fail").touch()
    own = Cluster(tmp_path, {"only": (1, "CPU=1")})
    try:
        with pytest.raises(SetupError) as raised:
            pt.tune(prepared, {"x": pt.Float(0, 1)}, address=own.address, max_trials=2,
                    setup=functools.partial(loads_unless_flagged, str(tmp_path)),
                    store=tmp_path / "runs.db", name="e")  # fmt: skip
    finally:
        own.close()
    assert raised.value.error == "OSError: the data is not on this machine"
    assert pt.load(tmp_path / "runs.db", "e").trial_list == []
