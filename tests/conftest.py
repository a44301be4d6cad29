"""Shared fixtures and toy objectives."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paratune as pt

from ._wait import wait_until


def quadratic(config: dict[str, Any]) -> float:
    """A deterministic objective of the config alone."""
    return float(sum((v - 0.5) ** 2 for v in config.values() if isinstance(v, int | float)))


def seeded(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """A deterministic objective of the config and the trial's seed."""
    import numpy as np

    noise = float(np.random.default_rng(ctx.seed).normal())
    return {"loss": quadratic(config) + 0.01 * noise, "seed_part": noise}


def wait_for_file(path: Path, deadline: float = 30.0) -> None:
    """Poll for ``path`` until it exists; fail after ``deadline`` seconds."""
    wait_until(path.exists, deadline, f"{path} to appear")


@contextmanager
def imports_undone(prefix: str) -> Iterator[None]:
    """Undo after the block what importing a spec's module does: the folders put on
    sys.path, and the modules whose names start with ``prefix`` loaded."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith(prefix):
            del sys.modules[name]
