"""Opening a store file safely, and saying what a failure of SQLite means.

- Identity: a store is an SQLite file (its first bytes) whose header carries paratune's
  application id; the id, the schema version and the table count are read in one statement,
  so a reader racing the creation of a store sees it either empty or whole.
- Structure: before anything reads or writes an existing store, SQLite's ``quick_check``
  walks every page of it (about 0.4-1 s for a store of 1,000,000 trials, see
  ``benchmarks/store_check.py``). A damaged file is refused with one message, left as it was.
- Read-only places: readers fall back from a read-write connection that writes nothing to
  SQLite's ``mode=ro``, then to ``immutable=1`` where even that cannot open the file.
- Failures: every ``sqlite3.Error`` of a store's methods reaches the caller as one
  `StoreError` that names the file and says what happened (a full disk, an I/O error, ...).
"""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ..errors import StoreError

APPLICATION_ID = 0x7061_7274  # "part": marks a SQLite file as a paratune store
_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100  # bytes of page 1 that describe the whole file

_C = TypeVar("_C", bound=type)

# What each guarded method was doing, for the messages of `store_error`.
_DOING = {
    "open": "opening the experiment",
    "save": "saving trials",
    "finish": "ending the session",
    "close": "closing the store",
}


def check_store_file(path: Path) -> None:
    """Refuse, reading only, a path that cannot be a store: a folder, or a file that is not
    an empty file or an SQLite database.

    Raises:
        StoreError: naming the file and what it is instead.
    """
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a store file")
    if path.exists() and not path.is_file():  # a FIFO, a device, a socket
        raise StoreError(f"{path} is not a regular file, so it cannot be a store")
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as file:
            header = file.read(_HEADER_SIZE)
        if header.startswith(_MAGIC):
            return
        if header.count(0) == len(header):
            raise StoreError(
                f"{path} begins with zeros where an SQLite file has its header: if it was a "
                "paratune store, its first page is lost and SQLite cannot read it any more"
            )
        raise StoreError(f"{path} is not an SQLite database, so not a paratune store")


def damaged(path: Path, detail: str) -> StoreError:
    """The one message for a store SQLite finds damaged: what to run to see the problems
    and to recover what can still be read."""
    return StoreError(
        f"{path} is damaged ({detail}); it was left as it was. "
        f"`paratune status --check --store {path}` lists what SQLite finds wrong; "
        f"`paratune recover {path} NEW.db` copies what can still be read into a new store"
    )


def store_error(path: Path, exc: sqlite3.Error, doing: str) -> StoreError:
    """One `StoreError` for ``exc``, raised by SQLite on ``path`` while ``doing``."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary result code
    if code == sqlite3.SQLITE_FULL:
        return StoreError(
            f"the disk holding {path} is full ({doing}): the trials committed so far are "
            "kept; free some space and resume"
        )
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"an I/O error on {path} ({doing}: {exc}): the trials committed so far are kept; "
            "check the disk, then resume"
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return damaged(path, f"{exc}, {doing}")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(
            f"{path} cannot be written ({doing}): the file, its folder or its filesystem is "
            "read-only; paratune status and paratune.load can still read it"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"{path} stayed locked by another process ({doing}): {exc}")
    if code == sqlite3.SQLITE_CANTOPEN:
        return StoreError(f"{path} cannot be opened ({doing}): {exc}")
    return StoreError(f"{path}: {doing} failed: {exc}")


def guard_sqlite_errors(cls: _C) -> _C:
    """Class decorator: each public method of ``cls`` (whose instances have a ``path``)
    turns an ``sqlite3.Error`` into the `StoreError` of `store_error`."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(method):  # not static, class
            setattr(cls, name, _guarded(method, _DOING.get(name, "reading it")))
    return cls


def _guarded(method: Callable[..., Any], doing: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, doing) from exc

    return guarded


def file_uri(path: Path, query: str) -> str:
    """The URI SQLite opens ``path`` by, with the parameters ``query``."""
    return f"file:{quote(str(path.resolve()))}?{query}"


def cannot_open(exc: sqlite3.Error) -> bool:
    """Whether SQLite could not open the file (or its -shm) this way: a read-only place
    reads as CANTOPEN or as READONLY (READONLY_DIRECTORY, READONLY_CANTINIT), by system."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    return code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY)


def _probe(uri: str, *, query_only: bool = False) -> sqlite3.Connection:
    """A connection to ``uri`` that has read the file's schema, so a file SQLite cannot
    open (or whose -shm it cannot create) fails here rather than at the first query."""
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        if query_only:
            db.execute("PRAGMA query_only = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def writable(path: Path) -> bool:
    """Whether this process may write ``path`` (also false for an immutable file or a
    read-only filesystem, even to root)."""
    return os.access(path, os.W_OK)


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection that reads ``path`` and never writes it.

    Raises:
        sqlite3.Error: SQLite cannot read the file.
        StoreError: the file can only be read without its write-ahead log, which holds
            trials (reading it so would show fewer).
    """
    try:
        # Not mode=ro where the folder is writable: a read-only connection cannot remove
        # the -wal and -shm files when it closes, so every `paratune status` would leave
        # them behind. query_only forbids writes just as well.
        return _probe(file_uri(path, "mode=rw"), query_only=True)
    except sqlite3.Error as exc:
        if not cannot_open(exc):
            raise
    try:
        return _probe(file_uri(path, "mode=ro"))  # a read-only file, or -wal and -shm in place
    except sqlite3.Error as exc:
        if not cannot_open(exc) or (writable(path) and writable(path.parent)):
            raise
    # The -shm file cannot be created: a read-only folder or filesystem. immutable=1 reads
    # without locks or -shm, which is safe only while no writer runs: none can here (a
    # writer needs the folder to create its -wal) unless a -wal is already there, and that
    # -wal would also hold trials immutable=1 does not read.
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"{path} cannot be read here: its write-ahead log {wal.name} holds trials that "
            f"SQLite reads only with a {path.name}-shm file, which this read-only folder "
            "cannot hold; copy the store and its -wal file to a writable folder"
        )
    return _probe(file_uri(path, "immutable=1"))


def connect_writer(path: Path) -> tuple[sqlite3.Connection, bool]:
    """A read-write connection to ``path``, and whether this call created the file (with
    mode 0600: a store holds configs, errors and host names).

    Raises:
        StoreError: the file or its folder cannot be written, or cannot be created.
        sqlite3.Error: SQLite cannot open it (the file made here is removed).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite gives the -wal and -shm files the main file's permissions.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise StoreError(f"{path} cannot be created: {exc.strerror}") from exc
    if not (writable(path) and writable(path.parent)):
        what = "file" if not writable(path) else "folder, where SQLite keeps its -wal file,"
        raise StoreError(
            f"{path} cannot be written: its {what} is read-only. paratune status and "
            "paratune.load can read it; to run, copy it to a writable folder"
        )
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 30000")
    except BaseException:
        if created:
            remove_created(path)
        raise
    return db, created


def remove_created(path: Path) -> None:
    """Remove the store file a failed creation made, and any journal SQLite left beside it
    (the file did not exist before, so neither did they), unless another driver has made
    it a store meanwhile: only a file known to hold no store is removed."""
    if not _holds_no_store(path):
        return
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _holds_no_store(path: Path) -> bool:
    """Whether ``path`` is known to hold no store: empty, or an SQLite file with no table and
    not marked as paratune's (read through SQLite, so a store still in its -wal counts)."""
    try:
        if path.stat().st_size == 0:
            return True
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        try:
            application_id, _, tables = read_identity(db)
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return False  # cannot tell: keep it
    return application_id != APPLICATION_ID and tables == 0


def read_identity(db: sqlite3.Connection) -> tuple[int, int, int]:
    """The file's application id, schema version (``user_version``) and table count, read
    in one statement, so all three come from one committed state of the file."""
    row = db.execute(
        "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_master) "
        "FROM pragma_application_id AS a, pragma_user_version AS v"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def statements(script: str) -> list[str]:
    """The SQL statements of ``script``, one by one: unlike ``executescript``, they can run
    inside a transaction the caller holds."""
    found, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):  # not a ";" inside a comment or a string
            found.append(pending.strip())
            pending = ""
    return [s for s in found if s != ";"]


def check_structure(db: sqlite3.Connection, path: Path) -> None:
    """Run SQLite's ``quick_check`` (every page of every table read and checked, without
    comparing indexes to their tables).

    Raises:
        StoreError: the file is damaged.
    """
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from exc
    if problems != ["ok"]:
        first = _problem_lines(problems)[0]
        raise damaged(path, f"SQLite's quick_check: {first}")


class StructureCheck:
    """`check_structure` on a connection of its own, in a thread, while the caller reads the
    store on another: SQLite runs quick_check without holding Python's lock, so on a second
    core the check costs the reading no time. `wait` raises what the check found."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="paratune-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            db = connect_reader(self._path)
            try:
                check_structure(db, self._path)
            finally:
                db.close()  # never the last connection: the reader's stays open meanwhile
        except BaseException as exc:  # raised again by wait(), in the caller's thread
            self._failure = exc

    def passed(self) -> bool:
        """Wait for the check to end; whether it found nothing wrong."""
        self._thread.join()
        return self._failure is None

    def wait(self) -> None:
        """Wait for the check to end.

        Raises:
            StoreError: the file is damaged (or sqlite3.Error: SQLite could not check it).
        """
        self._thread.join()
        if self._failure is not None:
            raise self._failure


def _problem_lines(rows: list[str]) -> list[str]:
    lines = [line.strip() for row in rows for line in row.splitlines()]
    return [line for line in lines if line and not line.startswith("*** in database")]


def close_unchanged(db: sqlite3.Connection, path: Path) -> None:
    """Close ``db`` without letting SQLite copy a write-ahead log into the file on the way
    (as the last connection to close does): a refused, damaged store stays byte for byte."""
    wal = Path(f"{path}-wal")
    if not (wal.exists() and wal.stat().st_size > 0):
        db.close()  # nothing to copy: closing only removes the empty -wal and -shm
        return
    guard = None
    try:
        # While another connection holds the file open, a closing one cannot checkpoint;
        # the guard is read-only, so it never checkpoints either.
        guard = sqlite3.connect(file_uri(path, "mode=ro"), uri=True)
        guard.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        pass
    db.close()
    if guard is not None:
        guard.close()


def integrity_problems(path: Path) -> list[str]:
    """Run SQLite's full ``integrity_check`` on the store ``path``, reading only.

    Returns:
        What SQLite finds wrong, one line each; empty for a whole file.

    Raises:
        StoreError: the file is missing, a folder, not SQLite or not a paratune store.
    """
    check_store_file(path)
    if not path.exists():
        raise StoreError(f"no store at {path}")
    try:
        db = connect_reader(path)
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    try:
        application_id, _, tables = read_identity(db)
        if application_id != APPLICATION_ID and (tables or application_id):
            raise StoreError(f"{path} is an SQLite database but not a paratune store")
        problems = _problem_lines([row[0] for row in db.execute("PRAGMA integrity_check")])
        return [] if problems == ["ok"] else problems
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        close_unchanged(db, path)


def open_connection(path: Path, *, readonly: bool) -> tuple[sqlite3.Connection, bool]:
    """A reader's (`connect_reader`) or a writer's (`connect_writer`) connection to
    ``path``, and whether it created the file.

    Raises:
        StoreError: the file cannot be opened so, naming it and why.
    """
    try:
        if readonly:
            return connect_reader(path), False
        return connect_writer(path)
    except sqlite3.Error as exc:
        raise store_error(path, exc, "opening it") from exc


def abandon(db: sqlite3.Connection, path: Path, *, created: bool) -> None:
    """Close a store refused while it was opened, writing nothing to it; a file this
    opening created (a creation that failed, on a full disk say) is removed."""
    close_unchanged(db, path)
    if created:
        remove_created(path)


def describe_problems(path: Path, problems: list[str]) -> str:
    """What `paratune status --check` prints for the ``problems`` of `integrity_problems`."""
    if not problems:
        return f"{path}: ok (SQLite's integrity_check finds no problem)"
    return "\n".join(
        [
            f"{path} is damaged; SQLite's integrity_check finds:",
            *(f"  {problem}" for problem in problems),
            f"`paratune recover {path} NEW.db` copies what can still be read into a new store",
        ]
    )
