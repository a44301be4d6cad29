"""Who owns an experiment: the lease a driver holds on it while it runs.

A driver records a lease in the experiment's row when it opens it (in the same transaction
that opens it): its host, its process id, and a token that names this very process (the
host, the machine's boot, the process id and the process's start time), with a heartbeat
that a thread renews every `RENEW_EVERY` seconds. Another driver may take the experiment
over only once the owner is gone:

- on the same host, the process the token names no longer exists (its pid is gone, or
  belongs to a process started at another time, or the machine rebooted);
- on another host, its heartbeat is older than `STALE_AFTER` seconds (hosts' clocks are
  assumed to agree to within a few seconds).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .._processes import boot_id, process_exists, start_time

RENEW_EVERY = 10.0
"""Seconds between two renewals of a lease's heartbeat."""

STALE_AFTER = 60.0
"""Seconds without a heartbeat after which a lease held on another host counts as lost."""


# The leases that open stores of this process hold, as (store file, experiment): a lease of
# this process that none of them holds was left by an earlier run that did not end (one that
# raised, in a notebook, say), and may be taken over.
_HELD: set[tuple[str, str]] = set()


def hold(path: Path, name: str) -> None:
    """Note that an open store of this process holds ``name``'s lease in ``path``."""
    _HELD.add((str(path.resolve()), name))


def let_go(path: Path, name: str) -> None:
    """Note that no open store of this process holds that lease any more."""
    _HELD.discard((str(path.resolve()), name))


def held_here(path: Path, name: str) -> bool:
    """Whether an open store of this process holds ``name``'s lease in ``path``."""
    return (str(path.resolve()), name) in _HELD


def token_of(pid: int) -> str:
    """The token that names process ``pid`` of this host."""
    return f"{socket.gethostname()}|{boot_id()}|{pid}|{start_time(pid) or ''}"


@dataclass(frozen=True, slots=True)
class Owner:
    """The driver recorded as an experiment's owner."""

    host: str
    pid: int
    since: float  # Unix time its session started
    heartbeat: float  # Unix time of its latest heartbeat
    token: str

    def describe(self) -> str:
        """'pid 4242 on host node1, since 2026-12-06 10:00:00'."""
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on host {self.host}, since {since}"

    def gone(self, now: float, path: Path | None = None, name: str = "") -> str | None:
        """Why this owner is known to be gone (a sentence), or None while it may be alive.
        With the store's ``path`` and the experiment's ``name``: a lease of this very
        process that no open store holds is gone too."""
        if path is not None and self.token == token_of(os.getpid()):
            if held_here(path, name):
                return None
            return "an earlier run in this process stopped without ending"
        host, boot, _, started = [*self.token.split("|"), "", "", ""][:4]
        if host != socket.gethostname():
            age = now - self.heartbeat
            if age > STALE_AFTER:
                return f"its last heartbeat was {age:.0f} s ago (limit {STALE_AFTER:.0f} s)"
            return None
        if boot and boot != boot_id():
            return "the machine has restarted since"
        if not process_exists(self.pid):
            return f"process {self.pid} no longer exists"
        if started and start_time(self.pid) not in (None, started):
            return f"process {self.pid} is now another program"
        return None


class Heartbeat:
    """Renews a lease every `RENEW_EVERY` seconds from a thread with its own connection, so
    the lease stays fresh however long the driver waits (a serial trial of an hour, say).

    Args:
        path: the store file.
        name: the experiment.
        token: the lease's token; a renewal that finds another token ends the renewals.
    """

    def __init__(self, path: Path, name: str, token: str) -> None:
        self._path, self._name, self._token = path, name, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paratune-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(RENEW_EVERY):
            try:
                db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
                try:
                    cursor = db.execute(
                        "UPDATE experiments SET heartbeat = ? WHERE name = ? AND lease = ?",
                        (time.time(), self._name, self._token),
                    )
                finally:
                    db.close()
            except sqlite3.Error:
                continue  # a busy or full disk: the next commit of the driver reports it
            if cursor.rowcount == 0:
                return  # taken over: the driver's next commit refuses, and it stops

    def stop(self) -> None:
        """Stop renewing (the lease itself is released by `SQLiteStore.finish`)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


def read_owner(db: sqlite3.Connection, name: str) -> Owner | None:
    """The driver holding ``name``'s lease in the store ``db``: that of a session that has
    not ended, or None."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    lease = "lease, heartbeat" if version >= 3 else "NULL, NULL"
    row = db.execute(
        f"SELECT driver_host, driver_pid, session_started, {lease}, finished "
        "FROM experiments WHERE name = ?",
        (name,),
    ).fetchone()
    if row is None or row[5] is not None:
        return None
    host, pid, started, token, heartbeat, _ = row
    # A session of an older paratune has no token: its host and pid stand in.
    return Owner(host, pid, started, heartbeat or started, token or f"{host}||{pid}|")
