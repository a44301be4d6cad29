"""Importing a script of benchmarks/ in a test, as the folder's scripts import each other."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def benchmark_module(name: str) -> Iterator[ModuleType]:
    """Yield the module ``name`` of benchmarks/ with that folder on ``sys.path`` (where its
    own imports look), and take the folder off again after: a fixture's body."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))
