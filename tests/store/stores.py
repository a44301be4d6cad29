"""What the store tests share: a built store, its objective and spec, and readings of
the files that never write them."""

from __future__ import annotations

import importlib
import sqlite3
import sys
from pathlib import Path

import paratune as pt

OBJECTIVE = """
def loss(config):
    return {"loss": (config["x"] - 0.25) ** 2, "notes": "n" * config["pad"]}
"""
SPEC = (
    "objective: my_objective:loss\n"
    "space:\n"
    "  x: {type: float, low: 0.0, high: 1.0}\n"
    "  pad: %d\n"
    "metric: loss\n"
    "max_trials: %d\n"
    "seed: 1\n"
)


def files(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder``, by name: what a test compares before and after."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def raw_count(path: Path) -> int:
    """The trials SQLite alone counts in the file ``path`` (its -wal ignored)."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM trials").fetchone()[0])
    finally:
        db.close()


def resume_in_python(path: Path) -> pt.TuneResult:
    """Resume the built experiment, as its spec would (its objective, space, seed)."""
    sys.path.insert(0, str(path.parent))
    try:
        objective = importlib.import_module("my_objective").loss
    finally:
        sys.path.remove(str(path.parent))
    return pt.tune(objective, {"x": pt.Float(0, 1), "pad": 0}, metric="loss",
                   max_trials=400, store=path, name="spec", seed=1, resume=True)  # fmt: skip
