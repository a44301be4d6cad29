"""A Dask cluster on 127.0.0.1 for the tests: a ``dask scheduler`` and ``dask worker``
processes, started as the command line starts them. Imports ``distributed`` only when a
cluster starts, so that the tests collect without the dask extra."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from paratune.executors import Dask

from ..conftest import wait_for_file

ROOT = Path(__file__).resolve().parents[2]


def need_distributed() -> Any:
    """The ``distributed`` module; without it, the test (or the module, when called at its
    top) is skipped, saying which extra to install."""
    return pytest.importorskip(
        "distributed",
        reason="the Dask executor needs the dask extra: pip install 'paratune[dask]'",
    )


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, started as the
    command line starts them; readiness is polled through a client, not slept for."""

    def __init__(self, folder: Path, workers: dict[str, tuple[int, str]]) -> None:
        self.folder = folder
        self.specs = dict(workers)
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        file = folder / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(file)],
        )  # fmt: skip
        wait_for_file(file, deadline=60)
        import distributed

        make_client: Any = distributed.Client
        self.client = make_client(scheduler_file=str(file), timeout=60)
        self.address: str = self.client.scheduler.address
        for name in self.specs:
            self.start_worker(name, wait=False)
        self.client.wait_for_workers(len(self.specs), timeout=60)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        # The workers import the tests' objectives (and what they import) by module name.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
        with open(self.folder / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    def start_worker(self, name: str, *, wait: bool = True) -> None:
        threads, resources = self.specs[name]
        self.workers[name] = self._spawn(
            name,
            [
                "worker", self.address, "--name", name, "--nthreads", str(threads),
                "--resources", resources, "--no-nanny", "--no-dashboard",
                "--host", "127.0.0.1", "--local-directory", str(self.folder),
            ],
        )  # fmt: skip
        if wait:
            self.client.wait_for_workers(len(self.specs), timeout=60)

    def named(self, pid: int) -> str:
        """The worker whose process is ``pid``."""
        return next(name for name, process in self.workers.items() if process.pid == pid)

    def kill(self, name: str) -> None:
        """SIGKILL a worker process and wait until it is gone."""
        process = self.workers.pop(name)
        process.send_signal(signal.SIGKILL)
        _reap(process)

    def close(self) -> None:
        """Stop everything (killed: a graceful worker shutdown can take seconds)."""
        Dask.disconnect()  # else the kept connection would try to reconnect for a minute
        self.client.close()
        for process in [*self.workers.values(), self.scheduler]:
            process.kill()
        for process in [*self.workers.values(), self.scheduler]:
            _reap(process)


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, be killed when the test process dies, so a test
    run that is killed (not torn down) leaves no scheduler or worker burning the cores."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _reap(process: subprocess.Popen[bytes], deadline: float = 15.0) -> None:
    """Wait for ``process`` to end, killing it past ``deadline``. Polled: a local cluster's
    child watcher may reap it first, and then `Popen.wait` would not return."""
    end = time.monotonic() + deadline
    while process.poll() is None:
        if time.monotonic() > end:
            process.kill()
            end = math.inf
        time.sleep(0.01)
