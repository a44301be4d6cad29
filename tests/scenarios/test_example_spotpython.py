"""The PyTorch example (spotpython's scenario) runs on a tiny budget."""

from __future__ import annotations

import pytest

from .test_examples import ROOT, run


def test_spotpython_example_prints_times_speedup_and_efficiency() -> None:
    pytest.importorskip("torch")  # `make test` installs torch==2.13.0 (the CPU build)
    done = run(
        str(ROOT / "examples/spotpython_diabetes.py"),
        "--trials",
        "4",
        "--init",
        "2",
        "--max-epochs-exp",
        "3",
        "--workers",
        "2",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].strip().startswith("sequential:") and "best val_mse" in lines[0]
    assert lines[1].strip().startswith("parallel:")
    assert lines[2].startswith("work rate ") and "on 2 workers," in lines[2]
    assert "speedup in wall time" in lines[2] and float(lines[2].split()[2].rstrip("x")) > 0
    assert lines[3].startswith("best config: {'optimizer': ")
