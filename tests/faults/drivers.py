"""A driver script run in a real process of its own, for tests that stop it in the middle
and run it again: started in its folder (which it may import from), in a session of its
own, and cleaned up with every worker it left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._wait import wait_until
from .harness import DEADLINE, env, marked


@contextlib.contextmanager
def driver(folder: Path, args: Sequence[str]) -> Iterator[subprocess.Popen[bytes]]:
    """``python ARGS`` in ``folder``, in a session of its own (its errors appended to
    ``driver.err``); whatever of it is left is killed on the way out."""
    token = os.urandom(8).hex()
    environment = env(token)
    environment["PYTHONPATH"] = os.pathsep.join([str(folder), environment["PYTHONPATH"]])
    with (folder / "driver.err").open("a") as err:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=folder, env=environment, stderr=err,
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for pid in marked(token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not marked(token), DEADLINE, "the driver's workers to go")


def finish(folder: Path, args: Sequence[str]) -> None:
    """Run a driver to its end; it must succeed."""
    with driver(folder, args) as process:
        assert process.wait(timeout=DEADLINE) == 0, (folder / "driver.err").read_text()
