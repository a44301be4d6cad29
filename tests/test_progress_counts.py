"""Progress counts what workers run apart from what waits for one: a process pool holds a
job ahead of each busy worker once jobs are seen to be short, and those are queued, not
running."""

from __future__ import annotations

import time
from typing import Any

import paratune as pt
from paratune._ledger import Ledger
from paratune.trial import Event, Proposal


def short(config: dict[str, Any]) -> float:
    time.sleep(0.05)
    return float(config["x"])


def test_no_more_run_than_there_are_workers_and_the_rest_are_queued() -> None:
    seen: list[pt.Progress] = []
    pt.tune(short, {"x": pt.Float(0, 1)}, executor="processes", workers=2, max_trials=40,
            store=None, progress=seen.append)  # fmt: skip
    during = [p for p in seen if not p.finished]
    assert during, "no progress was shown while the trials ran"
    assert all(0 <= p.running <= p.workers == 2 for p in seen)
    # Jobs held ahead of busy workers show as queued, never as running.
    assert any(p.queued > 0 for p in during)
    assert seen[-1].running == seen[-1].queued == 0
    assert seen[-1].done == 40


def test_a_trial_waiting_for_its_retry_is_counted_as_waiting() -> None:
    ledger = Ledger(retries=1)
    job = ledger.new_job(Proposal({"x": 1}))
    ledger.start(job, submitted=0.0)
    assert (ledger.running, ledger.waiting) == (1, 0)
    failed = Event(trial_id=job.trial_id, attempt=1, ok=False, result=None, started=0.0,
                   finished=1.0, worker=0, error="boom")  # fmt: skip
    assert ledger.end(failed, stopping=False, by_user=False) is None  # queued to run again
    assert (ledger.running, ledger.waiting) == (1, 1)
    again = ledger.queued_job()
    assert again is not None and again.attempt == 2
    assert ledger.waiting == 0
