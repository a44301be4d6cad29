"""Stores: where experiments and trials are kept."""

from __future__ import annotations

from ._base import Experiment, Store
from .memory import MemoryStore

__all__ = ["Experiment", "MemoryStore", "Store"]
