"""The pacing policy alone: how many jobs go per message, and how many wait ahead."""

from __future__ import annotations

from typing import Any

import pytest

from paratune.executors import Pacing


def test_nothing_known_means_one_job_at_a_time_and_none_waiting() -> None:
    pacing = Pacing()
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)
    assert pacing.mean_run == 1.0 and pacing.typical_run is None


def test_one_short_job_queues_ahead_but_chunks_need_a_run_of_them() -> None:
    pacing = Pacing()
    pacing.observe(0.0001)
    assert pacing.typical_run == 0.0001  # starts at the first job's time
    assert (pacing.chunk(), pacing.ahead()) == (1, 1)
    runs = 1
    while pacing.chunk() == 1:
        pacing.observe(0.0001)
        runs += 1
    # From 1 s, each run moves the average a fifth of the way: 0.8**24 < 0.005.
    assert runs == 24
    assert pacing.chunk() == 64


def test_a_long_job_stops_the_queue_ahead_and_the_chunks() -> None:
    pacing = Pacing()
    for _ in range(40):
        pacing.observe(0.0001)
    assert (pacing.chunk(), pacing.ahead()) == (64, 1)
    pacing.observe(60.0)  # one long job moves both averages past their thresholds
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)


def test_a_job_at_a_threshold_counts_as_long() -> None:
    pacing = Pacing(chunk_below=0.5, queue_ahead_below=0.5, assumed_run=0.5)
    pacing.observe(0.5)
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)


def test_thresholds_are_arguments() -> None:
    pacing = Pacing(chunk_below=1.0, max_chunk=8, queue_ahead_below=0.005, weight=1.0)
    pacing.observe(0.01)  # weight 1: the averages are the last job's time
    assert pacing.mean_run == pytest.approx(0.01) == pacing.typical_run
    assert (pacing.chunk(), pacing.ahead()) == (8, 0)


def test_reset_forgets_the_jobs_seen() -> None:
    pacing = Pacing(assumed_run=0.0)
    pacing.observe(0.001)
    assert (pacing.chunk(), pacing.ahead()) == (64, 1)
    pacing.reset()
    assert pacing.mean_run == 0.0 and pacing.typical_run is None
    assert (pacing.chunk(), pacing.ahead()) == (64, 0)  # chunks from the start: assumed 0 s


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"chunk_below": -1}, "chunk_below must be a number of seconds >= 0, got -1"),
        ({"queue_ahead_below": float("nan")}, "queue_ahead_below must be a number"),
        ({"assumed_run": "1"}, "assumed_run must be a number of seconds >= 0, got '1'"),
        ({"chunk_below": True}, "chunk_below must be a number"),
        ({"max_chunk": 0}, "max_chunk must be a positive integer, got 0"),
        ({"max_chunk": 2.0}, "max_chunk must be a positive integer, got 2.0"),
        ({"weight": 0}, r"weight must be a number in \(0, 1\], got 0"),
        ({"weight": 1.5}, r"weight must be a number in \(0, 1\], got 1.5"),
        ({"weight": None}, r"weight must be a number in \(0, 1\], got None"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Pacing(**arguments)
