"""What a worker process looked like before its first trial, and how to put it back.

A worker runs trial after trial, so whatever one trial changes in its process (a closed
stdout, another working folder, a lowered resource limit, a signal handler, an alarm left
running) would meet the next trial. `WorkerState` records the worker's state once and puts
back what a trial changed.

The check runs after every trial, and the executor runs thousands of trials a second, so it
costs a microsecond or two: what Python keeps (``sys.stdout``, signal handlers) is compared,
and one system call asks whether a standard descriptor was closed. The rest takes a system
call per item (the working folder, what each standard descriptor is open on, sixteen
resource limits, the alarm clock), so it is compared after a trial that changed the folder
or a limit through `os` or `resource` (an audit hook tells) or a signal handler, or after a
trial of a millisecond or more, where it costs a small part of the trial.
"""

from __future__ import annotations

import importlib
import operator
import os
import resource
import select
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

# `signal.getsignal` turns each answer into an enum, which costs a microsecond; the C function
# under it gives the same handlers in a tenth of that.
_getsignal: Callable[[int], object]
try:
    _getsignal = importlib.import_module("_signal").getsignal
except (ImportError, AttributeError):  # pragma: no cover - not CPython
    _getsignal = signal.getsignal

# The signals an objective (or a library it calls) plausibly takes over.
_SIGNAL_NAMES = "HUP INT QUIT USR1 USR2 PIPE ALRM TERM CHLD XCPU XFSZ"
_SIGNALS = tuple(  # plain ints: an enum costs a conversion at every call
    int(getattr(signal, f"SIG{name}"))
    for name in _SIGNAL_NAMES.split()
    if hasattr(signal, f"SIG{name}")
)
_LIMITS = tuple(getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_"))
# Audit events after which the folder and the limits are compared even after a short trial.
_EVENTS = frozenset({"os.chdir", "resource.setrlimit", "resource.prlimit"})
_STREAMS = ("stdin", "stdout", "stderr")
_closed = operator.attrgetter("closed")


def _identity(fd: int) -> tuple[int, int] | None:
    """What file ``fd`` is open on (device, inode), or None when it is closed."""
    try:
        status = os.fstat(fd)
    except OSError:
        return None
    return status.st_dev, status.st_ino


class WorkerState:
    """The state of this process when made: standard descriptors 0-2 and the
    ``sys.stdin``/``stdout``/``stderr`` objects, the working folder, the resource limits,
    the handlers of the common signals (and no alarm). `restore` puts back what changed.
    """

    def __init__(self) -> None:
        # Each open standard descriptor: a private copy of it, to put it back from, and
        # what it is open on.
        self._fds: dict[int, tuple[int, tuple[int, int]]] = {}
        self._closed = select.poll()  # reports POLLNVAL for a descriptor that was closed
        for fd in (0, 1, 2):
            identity = _identity(fd)
            if identity is not None:
                self._fds[fd] = (os.dup(fd), identity)
                self._closed.register(fd, 0)
        self._streams = tuple(getattr(sys, name) for name in _STREAMS)
        self._open_streams = [stream for stream in self._streams if stream is not None]
        self._cwd: str | None = None
        try:
            self._cwd = os.getcwd()
        except OSError:  # started in a deleted folder: there is none to go back to
            pass
        self._limits = [(limit, resource.getrlimit(limit)) for limit in _LIMITS]
        self._handlers = tuple(map(_getsignal, _SIGNALS))
        self._touched = False
        sys.addaudithook(self._audit)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event in _EVENTS:
            self._touched = True

    def restore(self, thorough: bool = True) -> bool:
        """Put back whatever changed since this state was recorded.

        Args:
            thorough: also compare the folder, the files under the standard descriptors,
                the resource limits and the alarm clock, which are skipped after a short
                trial that did not change the folder or a limit through `os` or
                `resource`, nor a signal handler.

        Returns:
            False when something could not be put back (a hard resource limit lowered, the
            folder gone, a closed stream whose standard descriptor is closed too): this
            process should be replaced before it runs another trial.
        """
        whole = self._restore_fds(thorough)
        whole = self._restore_streams() and whole
        if thorough or self._touched:
            whole = self._restore_cwd() and whole
            whole = self._restore_limits() and whole
            self._touched = False  # also by the calls just made
        self._restore_signals(thorough)
        return whole

    def _restore_fds(self, thorough: bool) -> bool:
        if thorough:
            changed = [fd for fd, (_, was) in self._fds.items() if _identity(fd) != was]
        else:
            changed = [fd for fd, what in self._closed.poll(0) if what & select.POLLNVAL]
        whole = True
        for fd in changed:
            try:
                os.dup2(self._fds[fd][0], fd)
            except OSError:  # a trial closed the copy too
                whole = False
        return whole

    def _restore_streams(self) -> bool:
        streams = self._streams
        stdin, stdout, stderr = streams
        if sys.stdout is stdout and sys.stderr is stderr and sys.stdin is stdin:
            if not any(map(_closed, self._open_streams)):
                return True
        whole = True
        fresh: list[Any] = []
        for fd, (name, stream) in enumerate(zip(_STREAMS, streams, strict=True)):
            if stream is not None and stream.closed:
                try:  # a new one on the standard descriptor: its own may be another's now
                    stream = _reopen(stream, fd, writing=name != "stdin")
                except (OSError, ValueError):  # that descriptor is closed
                    whole = False
            fresh.append(stream)
            setattr(sys, name, stream)
        self._streams = tuple(fresh)
        self._open_streams = [stream for stream in fresh if stream is not None]
        return whole

    def _restore_cwd(self) -> bool:
        if self._cwd is None:
            return True
        try:
            if os.getcwd() == self._cwd:
                return True
        except OSError:  # a trial deleted the folder it moved to
            pass
        try:
            os.chdir(self._cwd)
        except OSError:
            return False
        return True

    def _restore_limits(self) -> bool:
        whole = True
        for limit, value in self._limits:
            if resource.getrlimit(limit) != value:
                try:
                    resource.setrlimit(limit, value)
                except (OSError, ValueError):  # a lowered hard limit may not rise again
                    whole = False
        return whole

    def _restore_signals(self, thorough: bool) -> None:
        changed = tuple(map(_getsignal, _SIGNALS)) != self._handlers
        if changed:
            for number, handler in zip(_SIGNALS, self._handlers, strict=True):
                if _getsignal(number) != handler:
                    signal.signal(number, handler)  # type: ignore[arg-type]
        # An alarm left running would interrupt (or, by default, kill) a later trial. A trial
        # that sets one mostly sets a handler for it too, which a short trial is asked for.
        if (changed or thorough) and signal.getitimer(signal.ITIMER_REAL)[0]:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _reopen(stream: Any, fd: int, *, writing: bool) -> TextIO:
    """A new text stream like the closed ``stream``, on descriptor ``fd`` (which closing
    the new stream will not close)."""
    return open(
        fd,
        "w" if writing else "r",
        encoding=getattr(stream, "encoding", None),
        errors=getattr(stream, "errors", None),
        buffering=1 if writing else -1,
        closefd=False,
    )
