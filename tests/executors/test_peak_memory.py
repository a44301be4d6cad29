"""Peak memory is recorded where a trial has a process to itself, and nowhere else: in the
driver (serial, simulated) or on threads, no trial's peak is its own."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import paratune as pt


def allocates(config: dict[str, Any]) -> float:
    """Fills 32 MB (written, so resident; over a millisecond, so the next one is measured)."""
    block = b"x" * (32 * 2**20)
    return float(len(block) > 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux tells a peak")
@pytest.mark.parametrize(
    ("executor", "workers", "recorded"),
    [("processes", 1, True), ("serial", None, False), ("simulated", 2, False),
     ("threads", 2, False)],
)  # fmt: skip
def test_peak_memory_is_recorded_only_for_a_process_of_its_own(
    executor: str, workers: int | None, recorded: bool
) -> None:
    result = pt.tune(allocates, {"x": pt.Float(0, 1)}, executor=executor, workers=workers,
                     max_trials=3, store=None)  # fmt: skip
    peaks = [trial.peak_memory for trial in result.trial_list]
    if recorded:
        assert all(peak is not None and peak > 32 * 2**20 for peak in peaks), peaks
    else:
        assert peaks == [None] * 3
