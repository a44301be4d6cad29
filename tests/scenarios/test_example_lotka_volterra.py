"""The Lotka-Volterra example runs, on a tiny budget, as a user would run it."""

from __future__ import annotations

import re
from pathlib import Path

from .test_examples import ROOT, run

NUMBER = r"\d+\.\d+"
PARAMS = rf"alpha={NUMBER} beta={NUMBER} delta={NUMBER} gamma={NUMBER}"


def test_lotka_volterra_prints_the_fit_and_the_speedup() -> None:
    done = run(str(ROOT / "examples/lotka_volterra.py"), "--evaluations", "12", "--workers", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    expected = [
        r"Lotka-Volterra fit by CMA-ES \(population 8\) to 500 noisy points",
        rf"true        alpha=1\.1000 beta=0\.4000 delta=0\.1000 gamma=0\.4000  SSE {NUMBER}",
        rf"serial      {PARAMS}  SSE {NUMBER}  wall {NUMBER} s",
        rf"processes   {PARAMS}  SSE {NUMBER}  wall {NUMBER} s",
        rf"solution    {PARAMS}",
        rf"final SSE   {NUMBER} \(noise alone: about 90\)",
        r"evaluations 12 per run, 0 failed; the same parameters in both runs: True",
        rf"time per evaluation {NUMBER} ms",
        rf"speedup     {NUMBER}x \(wall serial / wall parallel on 2 workers; "
        rf"efficiency {NUMBER}\)",
    ]
    assert len(lines) == len(expected), done.stdout
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    # Both runs evaluate the same parameters, so they find the same best.
    assert (
        lines[2].split("  wall")[0].split(maxsplit=1)[1]
        == (lines[3].split("  wall")[0].split(maxsplit=1)[1])
    )
    assert not list(Path.cwd().iterdir()), "store=None: nothing may be written"
