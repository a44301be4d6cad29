"""The PyTorch example (spotpython's scenario) runs on a tiny budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_spotpython_example_prints_times_speedup_and_efficiency() -> None:
    pytest.importorskip("torch")  # `make test` installs torch==2.13.0 (the CPU build)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/spotpython_diabetes.py"),
            "--trials",
            "4",
            "--init",
            "2",
            "--max-epochs-exp",
            "3",
            "--workers",
            "2",
        ],
        cwd=Path.cwd(),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip().startswith("sequential:") and "best val_mse" in lines[0]
    assert lines[1].strip().startswith("parallel:")
    assert lines[2].startswith("speedup ") and "on 2 workers, efficiency" in lines[2]
    assert lines[3].startswith("best config: {'optimizer': ")
