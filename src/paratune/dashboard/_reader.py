"""The dashboard's one reader of a store, shared by every page that polls it.

It opens the store read-only, as `paratune status` does (refusing what that refuses), and
reads it on a long-lived connection of its own, in short read transactions, never one held
between two requests: SQLite's write-ahead log lets a running driver commit meanwhile.
``PRAGMA data_version`` on that connection tells, at no cost, whether anything was
committed since the last reading; when something was, the first request to come reads what
changed (at most every ``refresh_every`` seconds) and every page shares that reading: ten
open tabs cost what one does.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..store import SQLiteStore
from ..store._integrity import connect_reader, store_error
from ..store._lease import Owner, read_owner
from ..store._location import file_id, store_file
from ._front import front_counts, goals_of, with_breaches
from ._mirror import Mirror
from ._queries import (
    ExperimentRow,
    Stats,
    experiment_rows,
    finite,
    read_transaction,
    trial_detail,
    trial_stats,
)
from ._summary import run_state, summary


class NotFound(LookupError):
    """No such experiment or trial (404)."""


class BadRequest(ValueError):
    """A request the dashboard cannot answer as asked (400)."""


class Reader:
    """Reads the store ``path`` for the dashboard's API; thread-safe.

    Args:
        path: the store file (or ``sqlite:///FILE``).
        refresh_every: the least seconds between two readings of what changed (requests
            in between are answered from the latest).
        cpu_share: about the most of one core that readings of what changed may take: one
            that took t seconds is followed by the next no sooner than t / cpu_share
            seconds later (None: no such limit). A first reading of everything does not
            count: it comes once.
        keep: how many experiments' trials to keep in memory.

    Raises:
        StoreError: as `SQLiteStore` with ``readonly=True`` (no store there, not a
            paratune store, a damaged one).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        refresh_every: float = 0.5,
        cpu_share: float | None = 0.05,
        keep: int = 4,
    ) -> None:
        self.path = Path(store_file(path))
        self.refresh_every, self.cpu_share, self._keep = refresh_every, cpu_share, keep
        self._lock = threading.Lock()  # the reading connection and what it keeps
        self._store_lock = threading.Lock()  # the store's own connection (efficiency)
        self._store = SQLiteStore(self.path, readonly=True)
        try:
            self._db = connect_reader(self.path)
        except BaseException as exc:
            self._store.close()
            if isinstance(exc, sqlite3.Error):
                raise store_error(self.path, exc, "opening it") from exc
            raise
        self._file = file_id(self.path)
        self._forget()

    def _forget(self) -> None:
        self._mirrors: OrderedDict[str, Mirror] = OrderedDict()
        self._rows: tuple[int, dict[str, tuple[ExperimentRow, Owner | None]]] | None = None
        self._ended: dict[str, tuple[tuple[Any, ...], Stats]] = {}
        self._efficiency: dict[str, tuple[tuple[Any, ...], float, float, str]] = {}

    def close(self) -> None:
        """Close the connections."""
        with self._lock, self._store_lock:
            self._db.close()
            self._store.close()

    # ---- the API's answers (JSON texts) ---------------------------------------------------

    def experiments(self) -> str:
        """``GET /api/experiments``."""
        with self._lock:
            version = self._data_version()
            now = time.time()
            found = [
                self._summary(row, owner, version, now)
                for row, owner in self._experiments(version).values()
            ]
        return json.dumps({"experiments": found, "store": self.path.name})

    def experiment(self, name: str, since: str | None) -> str:
        """``GET /api/experiments/{name}?since=``: everything (``since`` None or empty),
        or what changed since that cursor.

        Raises:
            NotFound: no such experiment.
            BadRequest: ``since`` is not a cursor this dashboard gives.
        """
        if since and (since.count("-") != 1 or not since.rpartition("-")[2].isdigit()):
            raise BadRequest(f"since={since!r} is not a cursor this dashboard gave")
        with self._lock:
            version = self._data_version()
            mirror = self._mirror(self._experiment(name, version)[0], version)
            # The row and driver read with the trials: a run seen ended has all its trials.
            row = mirror.row
            experiment = summary(row, mirror.stats, self._state(row, mirror.owner))
            changes = mirror.changes_since(since) if since else None
            trials, reports = changes if changes is not None else mirror.everything()
            front = mirror.front_since(since if changes is not None else None)
            cursor = mirror.cursor
        return (
            f'{{"cursor":{json.dumps(cursor)},"experiment":{json.dumps(experiment)},'
            f'"space":{json.dumps(row.space)},"trials":{trials},"reports":{reports},'
            + ("" if front is None else f'"front":{front},')
            + f'"reset":{"false" if changes is not None else "true"}}}'
        )

    def trial(self, name: str, trial_id: int) -> str:
        """``GET /api/experiments/{name}/trials/{trial_id}``.

        Raises:
            NotFound: no such experiment or trial.
        """
        with self._lock:
            row, _ = self._experiment(name, self._data_version())
            found = trial_detail(self._db, name, trial_id)
        if found is None:
            raise NotFound(f"experiment {name!r} has no trial {trial_id}")
        goals = goals_of(row.settings)
        return found if goals is None else with_breaches(found, goals)

    def efficiency(self, name: str) -> str:
        """``GET /api/experiments/{name}/efficiency``: kept until the store changes; while
        the experiment runs, computed again at most every 5 seconds (or 20 times what it
        took: a run of 100,000 trials is not slowed down by it).

        Raises:
            NotFound: no such experiment.
        """
        with self._lock:
            version = self._data_version()
            row, owner = self._experiment(name, version)
            # An ended experiment changes only when resumed or replaced.
            key = (row.created, row.session_started, row.finished, owner is not None and version)
        with self._store_lock:
            kept = self._efficiency.get(name)
            if kept is not None and kept[0] == key:
                return kept[3]
            # While it runs: no more often than every 5 s, or 20 times what it took.
            if kept is not None and owner is not None:
                if time.monotonic() - kept[1] < max(5.0, 20 * kept[2]):
                    return kept[3]
            start = time.monotonic()
            found = json.dumps(efficiency(self._store, name))
            self._efficiency[name] = (key, start, time.monotonic() - start, found)
            return found

    # ---- reading ----------------------------------------------------------------------------

    def _data_version(self) -> int:
        """The store's change counter; a store file replaced (removed and made again) is
        opened again, and everything kept of the old one forgotten."""
        file = file_id(self.path)
        if file is not None and file != self._file:
            self._reopen(file)
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _reopen(self, file: tuple[int, int]) -> None:
        try:
            store = SQLiteStore(self.path, readonly=True)
        except Exception:
            return  # not a store (yet): keep reading the file that was there
        with self._store_lock:
            self._db.close()
            self._store.close()
            self._store, self._db, self._file = store, connect_reader(self.path), file
            self._forget()

    def _experiments(self, version: int) -> dict[str, tuple[ExperimentRow, Owner | None]]:
        """Every experiment's row and driver, read once per store change."""
        if self._rows is None or self._rows[0] != version:
            with read_transaction(self._db):
                rows = {row.name: row for row in experiment_rows(self._db)}
                found = {name: (row, read_owner(self._db, name)) for name, row in rows.items()}
            self._rows = (version, found)
        return self._rows[1]

    def _experiment(self, name: str, version: int) -> tuple[ExperimentRow, Owner | None]:
        found = self._experiments(version).get(name)
        if found is None:
            raise NotFound(f"no experiment {name!r} in {self.path.name}")
        return found

    def _mirror(self, row: ExperimentRow, version: int) -> Mirror:
        """Experiment ``row``'s mirror, read again if the store changed since (at most
        every ``refresh_every`` seconds); a new one for an experiment replaced."""
        mirror = self._mirrors.get(row.name)
        if mirror is None or mirror.created != row.created:
            mirror = Mirror(row)
        self._mirrors[row.name] = mirror
        self._mirrors.move_to_end(row.name)
        while len(self._mirrors) > self._keep:
            self._mirrors.popitem(last=False)
        # Readings that take long (a scan of many trials' submission times) come less often:
        # the dashboard does not take a run's CPU away.
        wait = self.refresh_every
        if self.cpu_share is not None:
            wait = max(wait, mirror.cost / self.cpu_share)
        first = mirror.data_version is None
        if first or (mirror.data_version != version and time.monotonic() - mirror.read_at >= wait):
            start = time.monotonic()
            with read_transaction(self._db):
                now = experiment_rows(self._db, row.name)
                if now and now[0].created == mirror.created:  # else replaced: a new one next
                    mirror.refresh(self._db, now[0])
                    mirror.owner = read_owner(self._db, row.name)
            mirror.read_at = time.monotonic()
            mirror.data_version = version
            mirror.cost = 0.0 if first else mirror.read_at - start
        return mirror

    def _state(self, row: ExperimentRow, owner: Owner | None, now: float | None = None) -> str:
        return run_state(owner, self.path, row.name, time.time() if now is None else now)

    def _summary(
        self, row: ExperimentRow, owner: Owner | None, version: int, now: float
    ) -> dict[str, Any]:
        """Experiment ``row``'s E: from its mirror for a running experiment or one being
        viewed; else counted once per session of it."""
        if self._state(row, owner, now) == "running" or row.name in self._mirrors:
            mirror = self._mirror(row, version)
            state = self._state(mirror.row, mirror.owner, now)
            return summary(mirror.row, mirror.stats, state, now)
        state = self._state(row, owner, now)
        key = (row.created, row.session_started, row.finished, state)
        kept = self._ended.get(row.name)
        if kept is None or kept[0] != key:
            goals = goals_of(row.settings)
            with read_transaction(self._db):
                stats = trial_stats(self._db, row.name, row.mode)
                if goals is not None:
                    stats.front_size, stats.infeasible = front_counts(self._db, row.name, goals)
            kept = (key, stats)
            self._ended[row.name] = kept
        return summary(row, kept[1], state, now)


def efficiency(store: SQLiteStore, name: str) -> dict[str, Any]:
    """How experiment ``name`` used its workers and what other worker counts would have
    given (`paratune.analysis.efficiency_summary` and `what_if`), JSON-ready.

    Raises:
        NotFound: no such experiment.
    """
    from .. import analysis
    from ..errors import StoreError
    from ..result import TuneResult

    try:
        store.select(name)
    except StoreError as exc:
        raise NotFound(str(exc)) from exc
    result = TuneResult.from_store(store)
    found = analysis.efficiency_summary(result)
    breakdown: dict[str, Any] = {
        key: finite(value) if isinstance(value, float) else value
        for key, value in dataclasses.asdict(found).items()
    }
    breakdown["parts"] = [
        {"part": part, "seconds": finite(seconds), "share": finite(share)}
        for part, seconds, share in found.breakdown().itertuples(index=False)
    ]
    what_if = [
        {"workers": int(n), "time": finite(t), "speedup": finite(s), "efficiency": finite(e)}
        for n, t, s, e in analysis.what_if(result).itertuples(index=False)
    ]
    return {"breakdown": breakdown, "what_if": what_if}
