"""What a `Dask` executor's client thread tells its driver: the messages on its inbox, put
there by Dask's callbacks and taken by `Dask.completed`."""

from __future__ import annotations

import queue
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pushed:
    """A task's results, pushed by its worker as a worker event:
    ``cloudpickle.dumps((events, worker address))``."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Asked:
    """A running objective's report, waiting for the driver's answer.

    Attributes:
        answer: the name of the Dask `Variable` the objective waits on.
        report: ``cloudpickle.dumps(report)``.
    """

    answer: str
    report: bytes


@dataclass(frozen=True, slots=True)
class Ended:
    """A task of ours ended (its future is done), however it ended."""

    key: str


@dataclass(frozen=True, slots=True)
class Lost:
    """A task of ours was lost with its worker."""

    worker: str  # the worker's address
    key: str


@dataclass(frozen=True, slots=True)
class WorkersChanged:
    """A worker joined or left: who has room is to be surveyed again."""


Message = Pushed | Asked | Ended | Lost | WorkersChanged
"""Anything on the inbox."""

Inbox = queue.SimpleQueue[Message]
"""The queue from the client's thread to the driver."""
