"""paratune: parallel and distributed hyperparameter optimisation that keeps every worker busy.

>>> import paratune as pt
>>> result = pt.tune(lambda c: (c["x"] - 1) ** 2, {"x": pt.Float(-3, 3)}, max_trials=20)
>>> result.best_value < 1
True
"""

from __future__ import annotations

from . import executors, schedulers, searchers
from ._api import load, tune
from ._map import parallel_map
from .asktell import AskedTrial, AskTell
from .callbacks import Callback
from .context import Context, TrialCancelled, TrialPruned
from .errors import (
    ExperimentBusy,
    ParatuneError,
    SpaceError,
    SpecError,
    StoreError,
    TrialError,
)
from .executors import SetupError
from .result import TuneResult
from .seeding import seed_everything
from .space import Choice, Float, Int, Space
from .trial import Report, Status, Trial
from .tuner import Progress, StopReason

__version__ = "0.1.0"

__all__ = [
    "AskTell",
    "AskedTrial",
    "Callback",
    "Choice",
    "Context",
    "ExperimentBusy",
    "Float",
    "Int",
    "ParatuneError",
    "Progress",
    "Report",
    "SetupError",
    "Space",
    "SpaceError",
    "SpecError",
    "Status",
    "StopReason",
    "StoreError",
    "Trial",
    "TrialCancelled",
    "TrialError",
    "TrialPruned",
    "TuneResult",
    "__version__",
    "executors",
    "load",
    "parallel_map",
    "schedulers",
    "searchers",
    "seed_everything",
    "tune",
]
