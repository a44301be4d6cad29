"""One worker process of the process executor, seen from the driver: how to learn of its
death, how to end it together with whatever its trials started, and how to name its end.

Each worker makes itself the leader of a process group of its own (see `worker_main`), so
the processes a trial starts are in that group too. Killing the group ends them all, and
waiting on the worker's pidfd learns of its death even while a child it forked still holds
copies of its pipes. No wait here is without a bound: a process that cannot die (frozen by
a cgroup, stuck in the kernel) is left behind rather than waited for.
"""

from __future__ import annotations

import contextlib
import multiprocessing.process
import os
import signal
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

# Seconds a killed worker gets to die before it is left behind. A SIGKILLed process dies in
# milliseconds, unless it must first give back a great deal of memory.
KILL_GRACE = 2.0


class WorkerProcess:
    """A started worker process, the leader of its own process group.

    Args:
        process: the started process.
    """

    def __init__(self, process: BaseProcess) -> None:
        assert process.pid is not None  # started
        self.process = process
        self.pid: int = process.pid
        # Its pidfd becomes readable when it dies. Its sentinel (the fallback, where there are
        # no pidfds) only once every copy of a pipe end closes, which a forked child delays.
        self._pidfd: int | None = None
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pass
        self.death: int = self._pidfd if self._pidfd is not None else process.sentinel
        self.ended = False  # reaped, or left behind
        self.exitcode: int | None = None  # once ended: negative for a signal

    def is_dead(self, timeout: float = 0.0) -> bool:
        """Whether it has died, waiting up to ``timeout`` seconds for it to."""
        return self.ended or bool(wait([self.death], max(0.0, timeout)))

    def kill(self) -> None:
        """SIGKILL it and every process of its group (the processes its trials started)."""
        if self.ended:
            return
        # Its group id is its pid: no other group's, as this driver reaps it only in `end`
        # (under forkserver, its server may have, a moment after its death). Until it makes
        # its own group, that is no group at all (ProcessLookupError).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self._pidfd is not None:  # surely this process, reaped or not
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)

    def end(self, grace: float = KILL_GRACE) -> bool:
        """Kill it and its group (even after it exited: its trials may have left children),
        wait up to ``grace`` seconds for it to die, and reap it.

        Returns:
            False when it did not die in time; it is then left behind, and nothing waits
            for it again, not even multiprocessing at exit.
        """
        if self.ended:
            return True
        end = time.monotonic() + grace
        self.kill()
        dead = self.is_dead(grace)
        if dead:
            self.process.is_alive()  # reaps it: a non-blocking waitpid, as it is dead
            if self.process.exitcode is None:  # forkserver: its server reaps it, then tells
                self.process.join(max(0.0, end - time.monotonic()))
            self.exitcode = self.process.exitcode
            if self.exitcode is not None:
                self.process.close()  # its sentinel
        else:
            children = getattr(multiprocessing.process, "_children", None)
            if isinstance(children, set):
                children.discard(self.process)
        if self._pidfd is not None:
            os.close(self._pidfd)
        self.ended = True
        return dead

    def exit_reason(self) -> str:
        """'exit code 3', 'killed by SIGSEGV', ... once it has ended."""
        code = self.exitcode
        if code is None:
            return "exit code unknown"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def run_state(self) -> str | None:
        """Its state as Linux's /proc tells it ('R' running, 'S' sleeping, 'T' stopped by a
        signal, 'D' in the kernel or frozen, ...); None where /proc does not tell."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            return None
        fields = stat.rsplit(b")", 1)[-1].split()
        return fields[0].decode() if fields else None
