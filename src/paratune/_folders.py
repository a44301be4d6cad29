"""Experiment names as folder names, and the checkpoint folders paratune owns.

An experiment's name is the user's; a folder name must never climb out of its parent
(``..``), hide (``.x``), name the parent itself (``.``) or hold a separator. `folder_name`
maps every name to a plain folder name in one documented way, and two names never share
a folder: a name that had to be changed gets a short hash of itself appended.

paratune removes only folders it made itself. Each checkpoint folder it makes holds a marker
file, `MARKER`, written as soon as the folder exists: for an experiment's folder, the
experiment's name; for a temporary folder (a run whose store is in memory), the process
that owns it. Nothing without that marker is ever emptied or removed, and a folder given
by the user (``checkpoint_dir``) is never touched: only the experiment's own folder in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from ._processes import process_exists
from .errors import SpecError

MARKER = ".paratune-checkpoints"
"""The file in every checkpoint folder paratune made; nothing without it is ever removed."""

TEMPORARY_PREFIX = "paratune-checkpoints-"
"""How the temporary checkpoint folders in the system's temporary folder begin."""

MAX_NAME_LENGTH = 255
"""The longest experiment name, in characters (as long as most file systems allow)."""

_KEPT = 64  # characters of a changed name kept in its folder name, before the hash
_HASH = 8  # hex digits of the hash: 2**32 values, and a collision is refused anyway
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._-]")
# Characters a name may not hold: control characters (newline, tab, NUL, ...), invisible
# formatting ones, line and paragraph separators, and halves of surrogate pairs (bytes that
# were not UTF-8: the store could not keep them).
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")

_swept = False  # whether this process has looked for stale temporary folders yet


def check_name(name: object, key: str = "name") -> str:
    """Check an experiment name and return it.

    Args:
        name: the name to check.
        key: the argument or spec key it came from, for the message.

    Raises:
        SpecError: the name is not a string, is empty or only spaces (a run must be
            resumable by its name), is longer than `MAX_NAME_LENGTH`, or holds a control
            or invisible character.

    >>> check_name("resnet/lr-sweep")
    'resnet/lr-sweep'
    """
    if not isinstance(name, str):
        raise SpecError(f"{key} must be a string, got {type(name).__name__} {name!r}")
    if not name.strip():
        raise SpecError(
            f"{key} must not be empty or only spaces, got {name!r}: the name is how a run "
            "is resumed (leave it out for a new name)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise SpecError(
            f"{key} must be at most {MAX_NAME_LENGTH} characters, got {len(name)}: "
            f"{name[:40]!r}..."
        )
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise SpecError(
                f"{key} must not hold control characters (newline, tab, NUL, ...), "
                f"invisible ones, or bytes that are not UTF-8; got {name!r}"
            )
    return name


def folder_name(name: str) -> str:
    """The folder (or file) name of experiment ``name``.

    A name of at most 64 of the characters ``A-Z a-z 0-9 . _ -``, not starting with a dot,
    is kept as it is. Any other name has every other character replaced by ``_``, a leading
    dot replaced by ``_``, is cut to 64 characters, and gets ``-`` and 8 hex digits of its
    SHA-256 appended, so that two names never share a folder. The result never holds a
    separator and is never ``.`` or ``..``.

    >>> folder_name("resnet-lr_0.1")
    'resnet-lr_0.1'
    >>> folder_name("..")
    '_.-5ec1f7e7'
    >>> folder_name("a/b")
    'a_b-c14cddc0'
    """
    kept = _NOT_PLAIN.sub("_", name)
    if kept == name and name and not name.startswith(".") and len(name) <= _KEPT:
        return name
    if kept.startswith("."):
        kept = "_" + kept[1:]
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH]
    return f"{kept[:_KEPT] or '_'}-{digest}"


def prepare_checkpoints(folder: Path, experiment: str, *, temporary: bool) -> None:
    """Make the checkpoint folder of ``experiment``, marked as paratune's, before a run.

    A temporary folder (``folder``'s parent, new) is marked with this process's id, so a
    later run can remove it if this process dies without removing it itself. An
    experiment's folder is made if missing; an existing one is used if paratune made it
    for this same experiment, or if it is empty. Folders are made even for runs that save
    no checkpoint (making, marking and removing one costs about half a millisecond): the
    marker must be there before a process that could be killed writes into the folder.

    Raises:
        SpecError: the folder cannot be made, exists and was not made by paratune (a
            folder of the user's is never written into), or holds another experiment's
            checkpoints (names that differ only in case share a folder on a file system
            that ignores case).
    """
    sweep_once()
    try:
        if temporary:
            owner = {"pid": os.getpid(), "host": socket.gethostname()}
            _make(folder.parent, owner, mode=0o700)
        elif not _make(folder, {"experiment": experiment}, parents=True):
            _claim_existing(folder, experiment)
    except OSError as exc:
        raise SpecError(f"checkpoint folder {folder}: cannot make or use it: {exc}") from exc


def _make(folder: Path, owner: dict[str, Any], **mkdir: Any) -> bool:
    """Make ``folder`` and its marker, saying ``owner``; False if it already existed."""
    try:
        folder.mkdir(**mkdir)
    except FileExistsError:
        return False
    _write_marker(folder, owner)
    return True


def _claim_existing(folder: Path, experiment: str) -> None:
    """Use an existing folder as ``experiment``'s checkpoint folder, if it may be."""
    if not folder.is_dir():
        raise SpecError(
            f"checkpoint folder {folder} exists and is not a folder: choose another "
            "name or checkpoint_dir"
        )
    owner = read_marker(folder)
    if owner is None:
        if any(folder.iterdir()):
            raise SpecError(
                f"checkpoint folder {folder} exists and paratune did not make it (it holds "
                f"no {MARKER} file); paratune never writes into a folder it did not make: "
                "choose another name or checkpoint_dir, or move that folder away"
            )
        _write_marker(folder, {"experiment": experiment})
    elif owner.get("experiment") != experiment:
        raise SpecError(
            f"checkpoint folder {folder} holds the checkpoints of experiment "
            f"{owner.get('experiment')!r}, not {experiment!r} (on a file system that "
            "ignores case, names that differ only in case share a folder): choose another "
            "name or checkpoint_dir"
        )


def clear_checkpoints(folder: Path) -> None:
    """Remove the checkpoints an earlier run left in ``folder`` (an experiment started
    afresh), if paratune made it: a folder without the marker is left as it is."""
    if read_marker(folder) is None:
        return
    for entry in os.scandir(folder):
        if entry.name == MARKER:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def remove_stale_temporary(parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the temporary checkpoint folders left by processes that are gone (killed
    before they could remove their own).

    Only folders directly in ``parent`` (default: the system's temporary folder) whose
    name begins with `TEMPORARY_PREFIX`, that belong to this user, are not links, and
    hold a marker naming this host and a process that no longer runs.

    Returns:
        The folders removed.
    """
    base = Path(parent if parent is not None else tempfile.gettempdir())
    host, removed = socket.gethostname(), []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(TEMPORARY_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        owner = read_marker(Path(entry.path))
        if owner is None or owner.get("host") != host:
            continue
        pid = owner.get("pid")
        if isinstance(pid, int) and pid > 1 and not process_exists(pid):  # never 1: init
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def sweep_once() -> None:
    """`remove_stale_temporary`, the first time a process asks: once is enough to clear
    what earlier processes left, and a busy temporary folder is not listed at every run."""
    global _swept
    if not _swept:
        _swept = True
        remove_stale_temporary()


def read_marker(folder: Path) -> dict[str, Any] | None:
    """What the marker in ``folder`` says (an empty dict if it cannot be read), or None
    when there is no marker."""
    try:
        text = (folder / MARKER).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return {} if (folder / MARKER).exists() else None
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _write_marker(folder: Path, owner: dict[str, Any]) -> None:
    # Written whole, then renamed: a reader never sees half a marker.
    partial = folder / f"{MARKER}.{os.getpid()}.partial"
    partial.write_text(json.dumps(owner) + "\n", encoding="utf-8")
    os.replace(partial, folder / MARKER)
