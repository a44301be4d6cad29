"""Where a store is: a file path, or the SQLAlchemy-style URL Optuna users type."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError


def store_file(store: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """The file a store path names: the path itself, or the file of an SQLAlchemy-style
    URL as Optuna users write it (``sqlite:///runs.db``: runs.db in the working folder;
    ``sqlite:////data/runs.db``: an absolute path).

    Raises:
        StoreError: a URL of another database, or one that names no file.
    """
    if not isinstance(store, str) or "://" not in store:
        return store
    scheme, _, rest = store.partition("://")
    if scheme != "sqlite":
        raise StoreError(
            f"store {store!r}: paratune keeps experiments in SQLite files; give a file path "
            "(or sqlite:///FILE)"
        )
    if not rest.startswith("/") or not rest[1:]:
        raise StoreError(
            f"store {store!r} names no file: write sqlite:///FILE (sqlite:////FILE for an "
            "absolute path), or store=None to keep the trials in memory"
        )
    return rest[1:]


def file_id(path: Path) -> tuple[int, int] | None:
    """The device and inode of ``path``, or None once nothing is there: what tells a file
    made again at the same path from the one opened."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
