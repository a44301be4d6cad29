"""Exceptions raised for bad input, each naming what is wrong and where."""

from __future__ import annotations


class ParatuneError(Exception):
    """Base class of every error paratune raises on purpose."""


class SpaceError(ParatuneError, ValueError):
    """A search space, a parameter or a config does not validate.

    The message names the parameter and says what was expected.
    """


class SpecError(ParatuneError, ValueError):
    """A spec file (JSON or YAML) or a `tune` argument is malformed.

    The message names the file and the key.
    """


class StoreError(ParatuneError):
    """A store file is unusable (not SQLite, not a paratune store, a newer schema), or an
    experiment cannot be opened as asked. The message names the file and the experiment.
    """


class ExperimentBusy(StoreError):
    """The experiment is being run by another driver, alive (a `tune` run, an `AskTell`, a
    ``paratune ask`` in progress): one driver writes to an experiment at a time."""


class TrialError(ParatuneError, RuntimeError):
    """A call of the user's function failed inside `parallel_map`.

    Attributes:
        index: position of the failing input.
        error: the error message raised by the function.
        traceback: the formatted traceback from the worker.
    """

    def __init__(self, index: int, error: str, traceback: str) -> None:
        super().__init__(f"input {index} failed: {error}\n{traceback}")
        self.index = index
        self.error = error
        self.traceback = traceback
