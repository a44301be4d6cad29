"""The progress display's plain line: counts, workers busy, and the estimate of what is
left."""

from __future__ import annotations

import dataclasses
import io

from paratune.progress import ConsoleProgress
from paratune.tuner import Progress

RUNNING = Progress(elapsed=10.0, done=3, failed=1, cancelled=0, pruned=4, running=4,
                   max_trials=16, workers=4, best_value=0.5, best_config={"x": 1},
                   queued=2)  # fmt: skip


def shown(progress: Progress, max_time: float | None = None) -> str:
    stream = io.StringIO()
    ConsoleProgress(stream, max_time=max_time)(progress)
    return stream.getvalue()


def test_counts_pruned_trials_and_busy_workers() -> None:
    text = shown(RUNNING)
    assert "trials: 8/16 ended, 4 running, 2 queued" in text
    assert "outcome: 3 done, 4 pruned, 1 failed, 0 cancelled" in text
    assert "workers busy: 4/4" in text
    assert "queued" not in shown(dataclasses.replace(RUNNING, queued=0))


def test_a_lost_worker_is_neither_busy_nor_idle() -> None:
    text = shown(dataclasses.replace(RUNNING, running=3, lost=1))
    assert "workers busy: 3/3 (1 of 4 lost)" in text
    assert "lost" not in shown(RUNNING)
    assert "best: 0.5  {'x': 1}" in text


def test_estimate_from_the_trials_left_at_the_pace_so_far() -> None:
    assert "left (estimate): 10.0 s" in shown(RUNNING)  # 8 ended in 10 s, 8 to go


def test_estimate_from_max_time_when_it_ends_the_run_first() -> None:
    assert "left (estimate): 10.0 s" in shown(RUNNING, max_time=60)
    slow = dataclasses.replace(RUNNING, done=1, pruned=0, failed=0)  # 1 in 10 s: 150 s left
    assert "left (estimate): 60.0 s" in shown(slow, max_time=60)
    endless = dataclasses.replace(RUNNING, max_trials=None)
    assert "left (estimate): 60.0 s" in shown(endless, max_time=60)
    assert "left" not in shown(endless)


def test_no_estimate_once_finished() -> None:
    assert "left" not in shown(dataclasses.replace(RUNNING, finished=True), max_time=60)


def test_quiet_writes_nothing() -> None:
    stream = io.StringIO()
    ConsoleProgress(stream, quiet=True, max_time=5)(RUNNING)
    assert stream.getvalue() == ""


def test_the_last_line_counts_the_trials_a_users_stop_interrupted() -> None:
    stopped = dataclasses.replace(RUNNING, running=0, finished=True, interrupted=2)
    assert "0 cancelled, 2 interrupted (run again on resume)" in shown(stopped)
