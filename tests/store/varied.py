"""Trials of every kind, for tests that compare readings of a store: each status, configs
with conditional and nested values and keys in differing orders, several metrics, whole
and fractional budgets, errors and tracebacks, and ids with a gap."""

from __future__ import annotations

from pathlib import Path

from paratune.store import Experiment, SQLiteStore
from paratune.trial import Report, Status, Trial

EXPERIMENT = Experiment("varied", {"x": {"type": "float", "low": 0, "high": 1}}, "loss", "min", 0)


def varied_trials() -> list[Trial]:
    """Nine trials, ids 0 to 9 without 7, that differ in every way a trial can."""
    done = Trial(0, {"x": 0.5, "opt": "sgd", "mom": 0.9}, 2**62 + 5, Status.DONE, 0.25,
                 {"loss": 0.25, "acc": 0.75}, 1, 4, 0.0, 0.1, 1.1, 1.0, 0, "a", 11, None, None,
                 None, 0.9, 2**60 + 1)  # fmt: skip
    return [
        done,
        Trial(1, {"opt": "adam", "x": 0.1, "layers": 3}, 7, Status.FAILED, attempts=3,
              submitted=1.0, started=1.2, finished=1.3, worker_time=0.5, worker=1, host="b",
              pid=12, error="ValueError: too big", traceback="Traceback\nValueError", moved=1),
        Trial(2, {"x": 0.2, "opt": "sgd", "mom": None, "tags": [1, "a"], "n": 2**62}, 8,
              Status.PRUNED, 0.0, {"loss": float("nan"), "note": "n", "n": 3}, budget=1.5,
              submitted=2.0, started=2.0, finished=2.5, worker_time=0.5, worker=0,
              checkpoint_step=2),
        Trial(3, {"x": 0.3, "opt": "adam", "layers": 1, "flag": True}, 9, Status.CANCELLED,
              submitted=3.0, started=3.1, finished=3.2, worker_time=0.1, worker=1, host="a"),
        Trial(4, {"x": 0.4, "opt": "sgd", "mom": 0.5}, 10, Status.RUNNING, submitted=4.0),
        Trial(5, {"x": 0.6, "opt": "sgd", "mom": 0.1, "ü": "é"}, 11, Status.INTERRUPTED,
              submitted=5.0, started=5.5, worker=3),
        done._replace(trial_id=6, config={"x": 0.7, "opt": "sgd", "mom": 0.2}, seed=12),
        done._replace(trial_id=8, value=0.125, metrics={"loss": 0.125}, budget=None,
                      cpu_time=None, peak_memory=None, worker=None, host=None, pid=None),
        Trial(9, {"x": 0.9, "opt": "adam", "layers": 2}, 14, Status.DONE, 0.5,
              {"loss": 0.5, "acc": 0.5, "extra": {"a": [1, 2]}}, submitted=9.0, started=9.0,
              finished=9.25, worker_time=0.25, worker=2, pid=13),
    ]  # fmt: skip


def varied_reports() -> list[Report]:
    """Reports of two trials, at two steps each."""
    return [
        Report(trial_id, 1, step, {"loss": 1.0 / (step + 1), "acc": 0.1 * step}, float(step))
        for trial_id in (0, 2)
        for step in (0, 1)
    ]


def varied_store(path: Path) -> Path:
    """A store at ``path`` holding `varied_trials` and `varied_reports` in an ended
    experiment named ``varied``."""
    from paratune.store import RunTotals

    store = SQLiteStore(path)
    store.open(EXPERIMENT, resume=False, overwrite=False)
    store.save(varied_trials(), varied_reports())
    store.finish(RunTotals(10.0, 4.0, 0.1, 4, "max_trials"))
    store.close()
    return path
