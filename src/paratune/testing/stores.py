"""`StoreContract`: the behaviour every store owes the tuner, as pytest tests.

Subclass it to check a store of your own::

    from paratune.testing.stores import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self, tmp_path):
            return MyStore(tmp_path / "runs")
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import pytest

from ..errors import StoreError
from ..space import Choice, Float, Int, Space
from ..store import Experiment, RunTotals, Store
from ..trial import Report, Status, Trial

__all__ = ["TOTALS", "StoreContract", "sample_reports", "sample_trials"]

_SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "units": Int(8, 64), "act": Choice(["a", "b"])})

TOTALS = RunTotals(wall_time=12.5, busy_time=40.25, cancelled_time=1.5, workers=4,
                   stop_reason="max_trials")  # fmt: skip
"""The totals `StoreContract.filled` records."""


def sample_trials(offset: int = 0) -> list[Trial]:
    """Four trials that fill every field a trial has: one done, one failed, one pruned,
    one running; ids from ``offset``."""
    config = {"lr": 0.01, "units": 32, "act": "a"}
    done = Trial(offset, config, 11 + offset, Status.DONE, 0.25, {"loss": 0.25, "acc": 0.9},
                 attempts=2, budget=4.0, submitted=0.5, started=0.75, finished=2.5,
                 worker_time=3.25, worker=1, host="node1", pid=4242, checkpoint_step=4,
                 cpu_time=1.5, peak_memory=2**20, moved=1)  # fmt: skip
    error = "ValueError: bad lr"
    failed = Trial(offset + 1, {**config, "act": "b"}, 12 + offset, Status.FAILED,
                   attempts=3, budget=1.0, submitted=1.0, started=1.25, finished=1.5,
                   worker_time=0.75, worker=0, host="node2", pid=7,
                   error=error, traceback=f"Traceback ...\n{error}")  # fmt: skip
    pruned = done._replace(trial_id=offset + 2, seed=13 + offset, status=Status.PRUNED,
                           value=0.5, metrics={"loss": 0.5}, budget=2.0,
                           checkpoint_step=2)  # fmt: skip
    running = Trial(offset + 3, config, 14 + offset, Status.RUNNING, budget=8.0, submitted=3.0)
    return [done, failed, pruned, running]


def sample_reports(offset: int = 0) -> list[Report]:
    """Reports of the first and third sample trials, in no particular order."""
    return [
        Report(offset + 2, 1, 2, {"loss": 0.5}, 2.25),
        Report(offset, 1, 1, {"loss": 0.75, "acc": 0.5}, 1.0),
        Report(offset, 2, 4, {"loss": 0.25}, 2.5),
        Report(offset + 2, 1, 1, {"loss": 0.875}, 1.75),
    ]


def by_trial_and_step(reports: list[Report]) -> list[Report]:
    """``reports`` in the order a store reads them back."""
    return sorted(reports, key=lambda r: (r.trial_id, r.step))


class StoreContract(ABC):
    """Tests every store must pass (see `paratune.store.Store`). Subclass it in a test
    module, in a class whose name starts with ``Test``, and implement `make_store`; override
    `reopen` for a store that keeps nothing beyond the object itself."""

    @abstractmethod
    def make_store(self, tmp_path: Path) -> Store:
        """Return a store kept under ``tmp_path`` (a new, empty folder for each test); a
        second call with the same folder must open the same store again."""

    def reopen(self, store: Store, tmp_path: Path) -> Store:
        """``store`` closed and opened again, as by a later process: by default, a new
        store made with `make_store` on the same folder."""
        store.close()
        return self.make_store(tmp_path)

    def make_experiment(self, name: str = "e", **changes: Any) -> Experiment:
        """An experiment with a real space; ``changes`` replace its fields."""
        fields: dict[str, Any] = {
            "space": _SPACE.to_dict(),
            "metric": "loss",
            "mode": "min",
            "seed": 1,
            "objective": "my_objective:loss",
            "settings": {"searcher": "random", "workers": 4},
        }
        return Experiment(name, **{**fields, **changes})

    def filled(self, tmp_path: Path) -> Store:
        """A store whose experiment ``e`` holds the sample trials and reports, and whose
        session ended with totals `TOTALS`."""
        store = self.make_store(tmp_path)
        assert store.open(self.make_experiment(), resume=False, overwrite=False) == []
        store.save(sample_trials(), sample_reports())
        store.finish(TOTALS)
        return store

    def test_a_new_experiment_holds_nothing(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        assert store.open(self.make_experiment(), resume=False, overwrite=False) == []
        assert store.trials() == [] and store.reports() == []
        assert store.totals() == RunTotals()
        store.close()

    def test_saved_trials_and_reports_read_back_whole_and_in_order(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        store.open(self.make_experiment(), resume=False, overwrite=False)
        trials = sample_trials()
        store.save(trials[2:], sample_reports()[:2])
        store.save([trials[1]])
        store.save([], sample_reports()[2:])
        store.save([trials[0]])
        store.save([])
        assert store.trials() == trials
        assert store.reports() == by_trial_and_step(sample_reports())
        store.close()

    def test_the_latest_state_of_a_trial_is_kept(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        store.open(self.make_experiment(), resume=False, overwrite=False)
        done, _, _, running = sample_trials()
        store.save([running])
        store.save([running._replace(budget=16.0), running._replace(status=Status.DONE)])
        store.save([done._replace(value=9.0), done])
        first = Report(0, 1, 1, {"loss": 0.9}, 1.0)
        store.save([], [first, first._replace(attempt=2, metrics={"loss": 0.8}, time=2.0)])
        assert store.trials() == [done, running._replace(status=Status.DONE)]
        assert store.reports() == [Report(0, 2, 1, {"loss": 0.8}, 2.0)]
        store.close()

    def test_an_existing_name_is_refused_without_resume_or_overwrite(self, tmp_path: Path) -> None:
        store = self.filled(tmp_path)
        with pytest.raises(StoreError, match="'e'"):
            store.open(self.make_experiment(), resume=False, overwrite=False)
        store = self.reopen(store, tmp_path)
        with pytest.raises(StoreError, match="'e'"):
            store.open(self.make_experiment(), resume=False, overwrite=False)
        assert store.open(self.make_experiment(), resume=True, overwrite=False) == sample_trials()
        store.close()

    def test_resume_returns_what_the_experiment_holds(self, tmp_path: Path) -> None:
        store = self.reopen(self.filled(tmp_path), tmp_path)
        again = self.make_experiment(settings={"workers": 8})  # settings may change
        assert store.open(again, resume=True, overwrite=False) == sample_trials()
        assert store.trials() == sample_trials()
        assert store.reports() == by_trial_and_step(sample_reports())
        assert store.totals() == TOTALS  # what earlier sessions recorded
        more = sample_trials(offset=4)
        store.save(more, sample_reports(offset=4))
        store.finish(RunTotals(20.0, 70.0, 0.0, 8, "exhausted"))
        store = self.reopen(store, tmp_path)
        assert store.open(again, resume=True, overwrite=False) == sample_trials() + more
        assert store.totals() == RunTotals(20.0, 70.0, 0.0, 8, "exhausted")
        assert len(store.reports()) == 2 * len(sample_reports())
        store.close()

    def test_what_save_returned_from_outlives_the_store_without_finish(
        self, tmp_path: Path
    ) -> None:
        """A driver killed mid-run never calls `finish`: each `save` must hold on its own."""
        store = self.make_store(tmp_path)
        store.open(self.make_experiment(), resume=False, overwrite=False)
        store.save(sample_trials(), sample_reports())
        store = self.reopen(store, tmp_path)
        with warnings.catch_warnings():
            # A store may say that it takes over from a driver that stopped without ending.
            warnings.simplefilter("ignore", UserWarning)
            stored = store.open(self.make_experiment(), resume=True, overwrite=False)
        assert stored == sample_trials()
        assert store.reports() == by_trial_and_step(sample_reports())
        store.close()

    @pytest.mark.parametrize(
        "change",
        [
            {"space": {"lr": {"type": "float", "low": 0.0, "high": 1.0}}},
            {"objective": "other:loss"},
            {"metric": "acc"},
            {"mode": "max"},
            {"seed": 2},
        ],
    )
    def test_resume_of_another_setup_is_refused(
        self, tmp_path: Path, change: dict[str, Any]
    ) -> None:
        store = self.filled(tmp_path)
        (field,) = change
        with pytest.raises(StoreError, match=field):
            store.open(self.make_experiment(**change), resume=True, overwrite=False)
        store = self.reopen(store, tmp_path)
        assert store.open(self.make_experiment(), resume=True, overwrite=False) == sample_trials()
        store.close()

    def test_resume_of_an_unknown_name_starts_it(self, tmp_path: Path) -> None:
        store = self.filled(tmp_path)
        assert store.open(self.make_experiment("new"), resume=True, overwrite=False) == []
        assert store.trials() == [] and store.totals() == RunTotals()
        store.close()

    def test_overwrite_replaces_the_experiment(self, tmp_path: Path) -> None:
        store = self.filled(tmp_path)
        other = self.make_experiment(seed=5, mode="max")
        assert store.open(other, resume=False, overwrite=True) == []
        assert store.trials() == [] and store.reports() == []
        assert store.totals() == RunTotals()
        store.save(sample_trials()[:1])
        store.finish(RunTotals(1.0, 1.0, 0.0, 1, "max_trials"))
        store = self.reopen(store, tmp_path)
        with pytest.raises(StoreError, match="seed"):  # what is stored now is the new setup
            store.open(self.make_experiment(), resume=True, overwrite=False)
        assert store.open(other, resume=True, overwrite=False) == sample_trials()[:1]
        store.close()

    def test_experiments_are_kept_apart(self, tmp_path: Path) -> None:
        store = self.filled(tmp_path)
        other = sample_trials(offset=10)[:2]
        assert store.open(self.make_experiment("f"), resume=False, overwrite=False) == []
        store.save(other, sample_reports(offset=10)[1:2])
        store.finish(RunTotals(5.0, 4.0, 0.0, 2, "max_trials"))
        store = self.reopen(store, tmp_path)
        assert store.open(self.make_experiment(), resume=True, overwrite=False) == sample_trials()
        assert store.reports() == by_trial_and_step(sample_reports())
        assert store.totals() == TOTALS
        store.finish(TOTALS)
        assert store.open(self.make_experiment("f"), resume=True, overwrite=False) == other
        assert store.reports() == sample_reports(offset=10)[1:2]
        store.close()

    def test_nothing_is_read_or_written_before_open(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        for call in (store.trials, store.reports, store.totals, lambda: store.save([])):
            with pytest.raises(StoreError, match="open"):
                call()
        store.close()
