"""Run as a script by test_dask_faults.py, in a fresh process: what a local Dask cluster
started by paratune leaves behind, and where it listens.

It counts this process's descendants, threads and open files before any Dask, after a run of
``pt.tune(..., executor="dask", workers=2)``, and after a second run that a SIGINT to this
process interrupts; its trials report the listening sockets of this process and its
descendants while the cluster runs. Prints one JSON object. Linux only (reads /proc).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paratune as pt

# Dask's process-wide thread pools, started by a first cluster and kept for the process's
# lifetime: distributed.utils' offload executor and Future's callback executor.
PROCESS_WIDE_THREADS = ("Dask-Callback-Thread_0", "Dask-Offload_0")
# Socket states in /proc/net/tcp*: 0A is LISTEN.
_LISTEN = "0A"


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        todo += children
    return found


def census() -> dict[str, Any]:
    """This process's descendants (their command lines), threads (their names) and open
    files (where they point)."""
    commands = []
    for pid in descendants(os.getpid()):
        try:
            commands.append(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip())
        except OSError:
            continue
    files = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            files.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor that listdir itself held
            continue
    return {
        "children": sorted(commands),
        "threads": sorted(thread.name for thread in threading.enumerate()),
        "files": sorted(files),
    }


def difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """By kind, what ``after`` has that ``before`` had not, then (marked "-") the reverse."""
    found = {}
    for kind in before:
        added = Counter(after[kind]) - Counter(before[kind])
        gone = Counter(before[kind]) - Counter(after[kind])
        found[kind] = sorted(added.elements()) + [f"-{x}" for x in sorted(gone.elements())]
    return found


def process_wide(left: dict[str, list[str]]) -> bool:
    """Whether ``left`` (a `difference`) holds only what the first cluster of a process
    leaves for the process's lifetime: multiprocessing's resource tracker process (which
    every spawned process shares) and the pipe to it, and Dask's two one-thread pools, for
    offloaded work and for futures' callbacks. Nothing of the cluster itself."""
    return (
        len(left["children"]) == 1
        and "multiprocessing.resource_tracker" in left["children"][0]
        and left["threads"] == list(PROCESS_WIDE_THREADS)
        and len(left["files"]) == 1
        and left["files"][0].startswith("pipe:")
    )


def nothing(left: dict[str, list[str]]) -> bool:
    """Whether ``left`` (a `difference`) is empty."""
    return not any(left.values())


def settled(before: dict[str, Any], test: Callable[[dict[str, list[str]]], bool]) -> Any:
    """The difference from ``before`` once it passes ``test`` (polled: processes and
    threads end shortly after a run), or as it is after 15 seconds; and the census."""
    end = time.monotonic() + 15
    while True:
        now = census()
        left = difference(before, now)
        if test(left) or time.monotonic() > end:
            return left, now
        time.sleep(0.02)


def listening(pids: list[int]) -> list[str]:
    """The local addresses (``ip:port``) of the TCP sockets that ``pids`` listen on."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == _LISTEN and fields[9] in inodes:
                found.append(_address(fields[1]))
    return sorted(found)


def _address(hexed: str) -> str:
    """``0100007F:1F90`` (as /proc/net/tcp writes it) as ``127.0.0.1:8080``."""
    ip, port = hexed.split(":")
    raw = bytes.fromhex(ip)
    # The kernel writes the address as 32-bit words in host (little-endian) order.
    words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
    packed = b"".join(words)
    if len(packed) == 4:
        text = ".".join(str(b) for b in packed)
    else:
        import ipaddress

        text = str(ipaddress.IPv6Address(packed))
    return f"{text}:{int(port, 16)}"


def where_it_listens(config: dict[str, Any]) -> dict[str, Any]:
    """A trial: the listening sockets of the driver and all its descendants (the cluster's
    processes), and the scheduler's address as this worker knows it."""
    import distributed

    driver = int(config["driver"])
    return {
        "value": config["x"],
        "pid": os.getpid(),
        "listening": listening([driver, *descendants(driver)]),
        "scheduler": distributed.get_worker().scheduler.address,
    }


def interrupts(config: dict[str, Any], ctx: pt.Context) -> float:
    """A trial that interrupts the driver as Ctrl-C would, then runs until cancelled."""
    os.kill(int(config["driver"]), signal.SIGINT)
    for _ in range(3000):
        ctx.elapse(0.01)  # raises once the driver cancels the trial
    return float(config["x"])


def main() -> None:
    """Census, a run, census, an interrupted run, census: printed as JSON."""
    space = {"driver": os.getpid(), "x": pt.Float(0, 1)}
    before = census()
    result = pt.tune(where_it_listens, space, executor="dask", workers=2, max_trials=2,
                     store=None, progress=False)  # fmt: skip
    trials = [dict(t.metrics) for t in result.trial_list]
    after_run, between = settled(before, process_wide)
    try:
        pt.tune(interrupts, space, executor="dask", workers=2, max_trials=1, store=None,
                progress=False)  # fmt: skip
    except KeyboardInterrupt:
        pass  # the run stops either way: by this, or as an interrupted run
    after_interrupt, _ = settled(between, nothing)
    out = {
        "after_run": after_run,
        "after_interrupt": after_interrupt,
        "trials": trials,
        "workers": result.workers,
        "statuses": [t.status.value for t in result.trial_list],
        "driver": os.getpid(),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
