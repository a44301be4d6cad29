"""The pacing policy alone: how many jobs go per message, and how many wait ahead."""

from __future__ import annotations

from typing import Any

import pytest

from paratune.executors import Pacing


def test_nothing_known_means_one_job_at_a_time_and_none_waiting() -> None:
    pacing = Pacing()
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)
    assert pacing.typical_run is None and pacing.short_runs == 0


def test_one_short_job_is_no_reason_to_queue_ahead_or_send_more_at_once() -> None:
    pacing = Pacing()
    pacing.observe(0.0001)
    assert pacing.typical_run == 0.0001  # the average starts at the first job's time
    assert pacing.typical_spread is None  # one run time says nothing of how they vary
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)
    pacing.observe(0.0001)
    assert (pacing.chunk(), pacing.ahead()) == (2, 1)  # two alike: steady (and short)


def test_run_times_that_vary_stop_the_queue_ahead_until_they_settle() -> None:
    # The spotpython design's run times on one worker: from 0.09 s to 0.9 s.
    pacing = Pacing()
    aheads = []
    for seconds in (0.09, 0.44, 0.15, 0.11, 0.12, 0.9, 0.09, 0.2, 0.25, 0.23):
        pacing.observe(seconds)
        aheads.append(pacing.ahead())
    assert aheads == [0] * 10
    for _ in range(20):  # then steady 0.2 s jobs: the spread decays by a fifth per job
        pacing.observe(0.2)
        aheads.append(pacing.ahead())
    assert aheads[-1] == 1
    assert pacing.typical_spread is not None
    assert pacing.typical_spread <= 0.25 * 0.2


def test_jobs_within_10_ms_of_each_other_are_steady_however_short() -> None:
    pacing = Pacing()
    for seconds in (0.001, 0.009, 0.002, 0.008):  # +-80%, but never more than 10 ms apart
        pacing.observe(seconds)
    assert pacing.ahead() == 1
    strict = Pacing(steady_within=0.0)
    for seconds in (0.2, 0.21, 0.2):  # 10 ms apart at most: steady even at 0
        strict.observe(seconds)
    assert strict.ahead() == 1
    strict.observe(0.3)
    assert strict.ahead() == 0


def test_chunks_hold_no_more_jobs_than_were_short_in_a_row() -> None:
    pacing = Pacing()
    sent: list[int] = []
    while pacing.chunk() < 64:  # one worker: each message's jobs end before the next goes
        chunk = pacing.chunk()
        sent.append(chunk)
        for _ in range(chunk):
            pacing.observe(0.0001)
    assert sent == [1, 1, 2, 4, 8, 16, 32]  # 64 a message from the 8th round trip
    pacing.observe(0.0001)
    assert pacing.chunk() == 64  # no more than max_chunk


def test_a_long_job_stops_the_queue_ahead_and_starts_the_chunks_again() -> None:
    pacing = Pacing()
    for _ in range(100):
        pacing.observe(0.0001)
    assert (pacing.chunk(), pacing.ahead()) == (64, 1)
    pacing.observe(60.0)  # one long job lifts the average past both thresholds
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)
    assert pacing.short_runs == 0


def test_short_runs_count_from_when_the_average_falls_under_the_threshold() -> None:
    pacing = Pacing()
    pacing.observe(0.01)  # 10 ms: not short
    counts = []
    for _ in range(5):
        pacing.observe(0.0001)
        counts.append(pacing.short_runs)
    # The average: 8.0, 6.4, 5.1, 4.1 (under 5 ms), 3.3 ms.
    assert counts == [0, 0, 0, 1, 2]


def test_a_job_at_a_threshold_counts_as_long() -> None:
    pacing = Pacing(chunk_below=0.5, queue_ahead_below=0.5)
    pacing.observe(0.5)
    pacing.observe(0.5)
    assert (pacing.chunk(), pacing.ahead(), pacing.short_runs) == (1, 0, 0)


def test_thresholds_are_arguments() -> None:
    pacing = Pacing(chunk_below=1.0, max_chunk=3, queue_ahead_below=0.005, weight=1.0)
    for _ in range(5):
        pacing.observe(0.01)  # weight 1: the average is the last job's time
    assert pacing.typical_run == 0.01
    assert (pacing.chunk(), pacing.ahead()) == (3, 0)


def test_reset_forgets_the_jobs_seen() -> None:
    pacing = Pacing()
    for _ in range(10):
        pacing.observe(0.001)
    assert (pacing.chunk(), pacing.ahead()) == (10, 1)
    pacing.reset()
    assert pacing.typical_run is None and pacing.short_runs == 0
    assert pacing.typical_spread is None
    assert (pacing.chunk(), pacing.ahead()) == (1, 0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"chunk_below": -1}, "chunk_below must be a number of seconds >= 0, got -1"),
        ({"queue_ahead_below": float("nan")}, "queue_ahead_below must be a number"),
        (
            {"queue_ahead_below": "1"},
            "queue_ahead_below must be a number of seconds >= 0, got '1'",
        ),
        ({"chunk_below": True}, "chunk_below must be a number"),
        ({"steady_within": -0.1}, "steady_within must be a fraction >= 0, got -0.1"),
        ({"steady_within": float("inf")}, "steady_within must be a fraction >= 0"),
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
