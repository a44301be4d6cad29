"""What the operating system says of a process: whether it exists, when it started, and
which boot of the machine this is (read from /proc where there is one)."""

from __future__ import annotations

import os
from pathlib import Path


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's counts as existing; a zombie,
    dead and not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _stat_fields(pid)
    return fields is None or fields[0] != "Z"


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (the state first), or None where
    there is no such file."""
    stat = _read(f"/proc/{pid}/stat")
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    return None if stat is None else stat.rsplit(")", 1)[-1].split()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None where the system
    does not say (no /proc) or the process does not exist. With the pid, it names one
    process: a pid used again later belongs to a process started at another time."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def boot_id() -> str:
    """An id of this boot of the machine ("" where the system gives none)."""
    return _read("/proc/sys/kernel/random/boot_id") or ""
