"""The examples run, on a tiny budget, as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run from the test's own folder, so the store file lands there."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_async_vs_sync_prints_both_wall_times() -> None:
    done = run(str(ROOT / "examples/async_vs_sync.py"), "--workers", "4", "--trials", "8")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("asynchronous: wall time")
    assert lines[1].startswith("synchronous : wall time")


def test_sklearn_example_tunes_a_forest() -> None:
    done = run(str(ROOT / "examples/sklearn_digits.py"), "--workers", "2", "--trials", "4")
    assert done.returncode == 0, done.stderr
    assert "best accuracy 0." in done.stdout and "utilisation" in done.stdout


def test_main_job_spec_runs() -> None:
    done = run(
        "-m",
        "paratune",
        "run",
        str(ROOT / "examples/digits/spec.yaml"),
        "--max-trials",
        "4",
        "--workers",
        "2",
    )
    assert done.returncode == 0, done.stderr
    assert "best accuracy:" in done.stdout and "best config:" in done.stdout


def test_asha_example_compares_with_random_search_at_equal_time() -> None:
    done = run(str(ROOT / "examples/digits_asha.py"), "--seconds", "3", "--workers", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ASHA  : best validation accuracy 0.")
    assert lines[1].startswith("random: best validation accuracy")
