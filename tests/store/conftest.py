"""Fixtures of the store tests: a store of 300 trials, built once, and a copy to damage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..test_cli import run_cli
from .stores import OBJECTIVE, SPEC


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an objective, a spec and runs.db: 300 trials, built once."""
    folder = tmp_path_factory.mktemp("built")
    (folder / "my_objective.py").write_text(OBJECTIVE)
    (folder / "spec.yaml").write_text(SPEC % (0, 300))
    done = run_cli("run", "spec.yaml", "--store", "runs.db", "-q", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert not Path(f"{folder}/runs.db-wal").exists()  # all of it is in the file itself
    return folder


@pytest.fixture
def folder(built: Path, tmp_path: Path) -> Path:
    """A copy of the built folder to damage."""
    copy = tmp_path / "work"
    shutil.copytree(built, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy
