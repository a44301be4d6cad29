"""A run's setup: a function each worker calls once, before its first job, whose result
every job that worker runs sees as `Context.prepared` (data loaded, a library imported, a
model skeleton built once per worker instead of once per trial)."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple

from ..errors import ParatuneError

Setup = Callable[[], Any]
"""``setup()``: called once per worker; what it returns is ``ctx.prepared``."""


class SetupFailed(NamedTuple):
    """What a setup that raised leaves: its error (``"OSError: no such file"``) and the
    traceback, as a worker sends them to the driver."""

    error: str
    traceback: str


class SetupError(ParatuneError, RuntimeError):
    """The run's setup raised on a worker (or its worker died while it ran), so the run
    stopped before any trial ran there.

    Not a `SpecError`: the arguments were valid (the setup was found and is callable); what
    failed is the user's code, at run time, on a worker, as a trial's objective can fail. It
    stops the run, as no trial of that worker could run without what the setup prepares.

    Attributes:
        setup: the setup's name, ``module:function``.
        where: the worker it failed on (``"worker process 1234"``, ``"the driver"``).
        error: the error it raised, ``"ValueError: message"``.
        traceback: the worker's traceback of it.
    """

    def __init__(self, setup: str, where: str, error: str, traceback: str) -> None:
        super().__init__(f"setup {setup} failed in {where}: {error}\n{traceback}".rstrip())
        self.setup = setup
        self.where = where
        self.error = error
        self.traceback = traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.setup, self.where, self.error, self.traceback)


def qualified_name(function: Callable[..., Any]) -> str:
    """``module:qualname`` of a function, as a spec's ``objective`` and ``setup`` keys name
    it."""
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}:{name}"


def call_setup(setup: Setup | None, *, contained: bool) -> tuple[Any, SetupFailed | None]:
    """Call ``setup`` (None: nothing to call, nothing prepared) and return what it returned,
    or what it raised.

    Args:
        contained: catch anything it raises (`SystemExit`, `KeyboardInterrupt` too), as a
            worker does; False in the driver, where `KeyboardInterrupt` is the user's stop
            and goes on up.
    """
    if setup is None:
        return None, None
    try:
        return setup(), None
    except Exception as exc:
        return None, _failure(exc)
    except BaseException as exc:
        if not contained:
            raise
        return None, _failure(exc)


def run_setup(setup: Setup | None, where: str) -> Any:
    """Call ``setup`` (None: nothing to call) in this thread and return what it prepared:
    for an executor that runs jobs where it runs, such as the serial and simulated ones,
    with ``where`` ``"the driver"``. `KeyboardInterrupt` goes on up (the user's stop).

    Raises:
        SetupError: it raised; the message names it and ``where``, with its traceback.
    """
    prepared, failed = call_setup(setup, contained=False)
    if failed is not None:
        assert setup is not None
        raise SetupError(qualified_name(setup), where, *failed)
    return prepared


def setup_error(setup: Setup, where: str, failed: SetupFailed) -> SetupError:
    """The error of ``setup``, which failed on the worker ``where``."""
    return SetupError(qualified_name(setup), where, *failed)


def takes_setup(executor: Any) -> bool:
    """Whether ``executor.start`` takes a ``setup`` keyword (every built-in executor does;
    one of your own may not, and then refuses a run with a setup)."""
    try:
        parameters = inspect.signature(executor.start).parameters.values()
    except (TypeError, ValueError, AttributeError):
        return False
    return any(p.name == "setup" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _failure(exc: BaseException) -> SetupFailed:
    try:
        error = f"{type(exc).__name__}: {exc}"
    except Exception:  # its own str raised
        error = f"{type(exc).__name__} (its message cannot be shown)"
    return SetupFailed(error, traceback.format_exc())
