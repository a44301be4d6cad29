"""Stores: where experiments and trials are kept."""

from __future__ import annotations

from ._base import Experiment, RunTotals, Store
from ._columns import TrialColumns
from ._schema import SCHEMA_VERSION
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "Experiment",
    "MemoryStore",
    "RunTotals",
    "SQLiteStore",
    "Store",
    "TrialColumns",
]
