"""The built-in stores against the shared contract (`paratune.testing.stores`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from paratune.store import Experiment, MemoryStore, SQLiteStore, Store
from paratune.testing.stores import StoreContract
from paratune.trial import Report, Trial


class TestSQLiteStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "runs.db")


class TestMemoryStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()

    def reopen(self, store: Store, tmp_path: Path) -> Store:
        store.close()
        return store  # memory keeps its experiments for as long as the object lives


# ------------------------------------------------------------ the contract catches broken stores


class Forgetful(MemoryStore):
    """Starts every experiment afresh, as MemoryStore once did."""

    def open(self, experiment: Experiment, *, resume: bool, overwrite: bool) -> list[Trial]:
        return super().open(experiment, resume=False, overwrite=True)


class InSavingOrder(MemoryStore):
    """Reads trials back in the order they were first saved."""

    def __init__(self) -> None:
        super().__init__()
        self.first_saved: dict[int, Trial] = {}

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        trials = list(trials)
        super().save(trials, reports)
        self.first_saved.update((t.trial_id, t) for t in trials)  # an update keeps its place

    def trials(self) -> list[Trial]:
        return list(self.first_saved.values())


class KeepsTheFirst(MemoryStore):
    """Keeps the first version of a trial saved twice."""

    def save(self, trials: Iterable[Trial], reports: Iterable[Report] = ()) -> None:
        known = {t.trial_id for t in self.trials()}
        super().save([t for t in trials if t.trial_id not in known], reports)


@pytest.mark.parametrize(
    ("store", "test"),
    [
        (Forgetful, "an_existing_name_is_refused"),
        (Forgetful, "resume_returns_what"),
        (InSavingOrder, "saved_trials_and_reports_read_back"),
        (KeepsTheFirst, "the_latest_state_of_a_trial"),
    ],
)
def test_the_contract_fails_a_store_that_breaks_it(
    store: type[Store], test: str, tmp_path: Path
) -> None:
    check = type("Contract", (TestMemoryStore,), {"make_store": lambda self, path: store()})()
    method = next(getattr(check, n) for n in dir(check) if n.startswith(f"test_{test}"))
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        method(tmp_path)
