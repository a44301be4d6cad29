"""The ledger on its own: the books of a run, driven by hand with jobs, events and reports,
with no executor and no store."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paratune._ledger import Heard, Ledger
from paratune.seeding import trial_seed
from paratune.store._compact import CompactTrials
from paratune.trial import Event, Job, Proposal, Report, Status, Trial


def event(job: Job, *, at: float = 0.0, took: float = 1.0, **fields: Any) -> Event:
    """The end of ``job``: by default it ran ``took`` seconds from ``at`` and returned 1.0."""
    values: dict[str, Any] = {"ok": True, "result": 1.0, "worker": 0}
    values.update(fields)
    return Event(
        trial_id=job.trial_id, attempt=job.attempt, started=at, finished=at + took, **values
    )


def started(ledger: Ledger, config: dict[str, Any] | None = None, **proposal: Any) -> Job:
    """A new trial's first job, taken and recorded as running."""
    job = ledger.new_job(Proposal(config or {"x": 1}, **proposal))
    ledger.start(job, submitted=0.0)
    return job


def ended(ledger: Ledger, value: float, **proposal: Any) -> Trial:
    """A new trial run to the end with ``value``."""
    trial = ledger.end(event(started(ledger, **proposal), result=value), **GOING_ON)
    assert trial is not None
    return trial


GOING_ON = {"stopping": False, "by_user": False}  # no stop yet
RULE = {"stopping": True, "by_user": False}  # a stopping rule (target, time) ended the run
USER = {"stopping": True, "by_user": True}  # the user stopped the run


def test_a_job_starts_runs_and_ends_done_with_times_from_the_experiment_start() -> None:
    ledger = Ledger(seed=7)
    ledger.origin = 100.0
    job = ledger.new_job(Proposal({"x": 1}, budget=4))
    assert job == Job(
        trial_id=0, attempt=1, config={"x": 1}, seed=trial_seed(7, 0), budget=4, checkpoint=None
    )
    assert ledger.created == 1 and ledger.running == 0  # taken, not yet recorded
    running = ledger.start(job, submitted=2.0)
    assert running.status is Status.RUNNING and running.submitted == 2.0
    assert ledger.running == 1 and ledger.trial(0) == running

    trial = ledger.end(event(job, at=103.0, took=2.5, result={"value": 0.5}), **GOING_ON)

    assert trial is not None and trial.status is Status.DONE and trial.value == 0.5
    assert (trial.started, trial.finished, trial.worker_time) == (3.0, 5.5, 2.5)
    assert trial.submitted == 2.0 and trial.budget == 4 and trial.metrics == {"value": 0.5}
    assert ledger.running == 0 and ledger.busy == 2.5 and ledger.cancelled_time == 0.0
    assert ledger.counts[Status.DONE] == 1 and ledger.best == trial
    assert ledger.trials() == [trial]


def test_what_changed_waits_unsaved_until_saved() -> None:
    ledger = Ledger()
    job = started(ledger)
    trials, reports = ledger.unsaved
    assert [t.status for t in trials] == [Status.RUNNING] and reports == []
    ledger.saved()
    assert ledger.unsaved == ([], [])
    ledger.end(event(job), **GOING_ON)
    after: list[Trial] = ledger.unsaved[0]
    assert [t.status for t in after] == [Status.DONE]


def test_a_job_names_its_trial_checkpoint_file() -> None:
    ledger = Ledger(checkpoints="folder")
    ledger.new_job(Proposal({}))
    assert ledger.new_job(Proposal({})).checkpoint == os.path.join("folder", "trial-1.pkl")


def test_a_failure_with_a_retry_left_is_queued_again_and_keeps_its_time_and_error() -> None:
    ledger = Ledger(retries=1)
    job = started(ledger)
    assert ledger.end(event(job, ok=False, error="boom", result=None), **GOING_ON) is None
    assert ledger.running == 1 and ledger.trial(0).status is Status.RUNNING
    assert ledger.trial(0).error == "boom" and sum(ledger.counts.values()) == 0

    retry = ledger.queued_job()
    assert retry is not None and ledger.queued_job() is None
    assert (retry.trial_id, retry.attempt, retry.seed) == (0, 2, job.seed)
    again = ledger.start(retry, submitted=1.0)
    assert again.attempts == 2 and again.error == "boom" and again.worker_time == 1.0
    assert again.started is None and again.worker is None  # not yet on a worker

    trial = ledger.end(event(retry, at=1.0, took=2.0, result=0.25), **GOING_ON)
    assert trial is not None and trial.status is Status.DONE and trial.attempts == 2
    assert trial.worker_time == 3.0 and trial.error is None and ledger.busy == 3.0


def test_a_failure_with_no_retry_left_fails_its_trial() -> None:
    ledger = Ledger(retries=1)
    job = started(ledger)
    ledger.end(event(job, ok=False, error="first", result=None), **GOING_ON)
    retry = ledger.queued_job()
    assert retry is not None
    ledger.start(retry, submitted=1.0)
    trial = ledger.end(event(retry, ok=False, error="second", result=None), **GOING_ON)
    assert trial is not None and trial.status is Status.FAILED
    assert trial.error == "second" and trial.attempts == 2
    assert ledger.counts[Status.FAILED] == 1 and ledger.queued_job() is None


def test_no_retry_is_queued_once_a_stopping_rule_ended_the_run() -> None:
    ledger = Ledger(retries=3)
    job = started(ledger)
    trial = ledger.end(event(job, ok=False, error="boom", result=None), **RULE)
    assert trial is not None and trial.status is Status.FAILED and ledger.queued_job() is None


def test_a_failure_taken_after_the_users_stop_is_interrupted_to_run_again() -> None:
    ledger = Ledger()
    job = started(ledger)
    trial = ledger.end(event(job, ok=False, error="killed", result=None), **USER)
    assert trial is not None and trial.status is Status.INTERRUPTED
    assert ledger.counts[Status.INTERRUPTED] == 1


@pytest.mark.parametrize(
    ("result", "error"),
    [
        ("oops", "the objective returned str for 'value'"),
        ({"loss": 1.0}, "the objective's result has no 'value' (keys: 'loss')"),
        (float("nan"), "the objective returned nan for 'value'"),
    ],
)
def test_an_unusable_result_fails_its_trial(result: Any, error: str) -> None:
    ledger = Ledger()
    trial = ledger.end(event(started(ledger), result=result), **GOING_ON)
    assert trial is not None and trial.status is Status.FAILED
    assert trial.error is not None and trial.error.startswith(error)
    assert ledger.best is None


def test_a_promotion_continues_a_trial_and_a_stop_returns_it_where_it_stood() -> None:
    ledger = Ledger()
    job = started(ledger, budget=1)
    first = ledger.end(event(job, result=0.5, checkpoint_step=1), **GOING_ON)
    assert first is not None and ledger.counts[Status.DONE] == 1

    promoted = ledger.new_job(Proposal({"x": 1}, budget=3, trial_id=0, start_step=1))
    assert (promoted.trial_id, promoted.attempt, promoted.budget) == (0, 1, 3)
    assert promoted.start_step == 1 and promoted.seed == job.seed
    assert ledger.counts[Status.DONE] == 0  # counted again when this job ends
    running = ledger.start(promoted, submitted=1.0)
    assert running.status is Status.RUNNING and running.budget == 3 and running.value == 0.5

    cut = ledger.end(event(promoted, at=1.0, took=2.0, cancelled=True, result=None), **RULE)

    assert cut == first._replace(worker_time=3.0, checkpoint_step=1)
    assert ledger.counts[Status.DONE] == 1 and ledger.counts[Status.CANCELLED] == 0
    assert ledger.cancelled_time == 2.0 and ledger.busy == 3.0
    assert ledger.trial(0).budget == 1 and ledger.trial(0).status is Status.DONE


def test_a_promotion_that_ends_moves_its_trial_to_the_higher_budget() -> None:
    ledger = Ledger()
    ended(ledger, 0.5, budget=1)
    job = ledger.new_job(Proposal({"x": 1}, budget=3, trial_id=0))
    ledger.start(job, submitted=1.0)
    trial = ledger.end(event(job, result=0.25), **GOING_ON)
    assert trial is not None and (trial.budget, trial.value) == (3, 0.25)
    assert ledger.counts[Status.DONE] == 1 and ledger.created == 1


def test_a_trial_that_is_unknown_or_still_running_cannot_be_continued() -> None:
    ledger = Ledger()
    with pytest.raises(RuntimeError, match="continue trial 5, which is unknown"):
        ledger.new_job(Proposal({}, trial_id=5))
    started(ledger)
    with pytest.raises(RuntimeError, match="continue trial 0, which is still running"):
        ledger.new_job(Proposal({}, trial_id=0))


def test_a_pruned_trial_stands_at_the_budget_of_its_last_report() -> None:
    ledger = Ledger()
    ledger.origin = 10.0
    job = started(ledger, budget=9)
    assert ledger.report(Report(0, 1, 3, {"value": 0.4}, time=12.0)) is Heard.KEPT
    assert ledger.unsaved[1] == [Report(0, 1, 3, {"value": 0.4}, time=2.0)]
    trial = ledger.end(event(job, result={"value": 0.4}, pruned=True), **GOING_ON)
    assert trial is not None and trial.status is Status.PRUNED
    assert (trial.budget, trial.value) == (3, 0.4)
    assert ledger.counts[Status.PRUNED] == 1 and ledger.best is None


def test_a_job_that_ends_at_its_budget_reports_that_step_unless_it_did() -> None:
    ledger = Ledger()
    ended(ledger, 0.5, budget=2)
    job = started(ledger, budget=2)
    ledger.report(Report(1, 1, 2, {"value": 0.7}, time=0.5))
    ledger.end(event(job, result=0.75), **GOING_ON)
    ended(ledger, 0.5, budget=2.5)  # not a whole step: no report
    reports = ledger.unsaved[1]
    assert reports == [
        Report(0, 1, 2, {"value": 0.5}, time=1.0),
        Report(1, 1, 2, {"value": 0.7}, 0.5),
    ]


def test_a_report_the_store_cannot_hold_stops_and_fails_its_trial() -> None:
    ledger = Ledger()
    job = started(ledger)
    assert ledger.report(Report(0, 1, 1, {"value": object()}, time=0.0)) is Heard.POISONED
    assert ledger.report(Report(0, 1, 2, {"value": 0.5}, time=0.0)) is Heard.POISONED
    assert ledger.unsaved[1] == []
    trial = ledger.end(event(job, result=0.5), **GOING_ON)
    assert trial is not None and trial.status is Status.FAILED and trial.value is None
    assert trial.error is not None and trial.error.startswith(
        "its report at step 1 cannot be stored: metric 'value'"
    )


def test_a_report_or_an_end_of_a_job_already_accounted_for_is_dropped() -> None:
    ledger = Ledger(retries=1)
    assert ledger.report(Report(0, 1, 1, {"value": 0.5}, time=0.0)) is Heard.STALE
    job = started(ledger)
    ledger.end(event(job, ok=False, error="boom", result=None), **GOING_ON)
    retry = ledger.queued_job()
    assert retry is not None
    ledger.start(retry, submitted=1.0)
    assert ledger.report(Report(0, 1, 1, {"value": 0.5}, time=0.0)) is Heard.STALE  # attempt 1
    assert ledger.report(Report(0, 2, 1, {"value": 0.5}, time=0.0)) is Heard.KEPT
    assert ledger.end(event(retry), **GOING_ON) is not None
    busy = ledger.busy
    assert ledger.end(event(retry), **GOING_ON) is None  # told twice
    assert ledger.busy == busy and ledger.counts[Status.DONE] == 1


def leftovers(ledger: Ledger) -> None:
    """Three trials not ended: one running, one waiting for a retry, one promoted."""
    ended(ledger, 0.5, budget=1)  # trial 0
    started(ledger)  # trial 1
    failing = started(ledger)  # trial 2
    ledger.end(event(failing, ok=False, error="boom", result=None), **GOING_ON)
    promoted = ledger.new_job(Proposal({"x": 1}, budget=2, trial_id=0))
    ledger.start(promoted, submitted=1.0)
    ledger.saved()


def test_settling_after_the_users_stop_interrupts_what_had_not_ended() -> None:
    ledger = Ledger(retries=1)
    leftovers(ledger)
    ledger.settle(9.0, by_user=True)
    statuses = [(t.status, t.finished) for t in ledger.trials()]
    assert statuses == [(Status.DONE, 1.0), (Status.INTERRUPTED, 9.0), (Status.INTERRUPTED, 9.0)]
    assert ledger.trial(0).budget == 1  # the promotion is forgotten
    assert ledger.running == 0 and ledger.queued_job() is None
    assert ledger.counts[Status.INTERRUPTED] == 2 and ledger.counts[Status.DONE] == 1
    assert len(ledger.unsaved[0]) == 3


def test_settling_after_a_stopping_rule_cancels_or_fails_what_had_not_ended() -> None:
    ledger = Ledger(retries=1)
    leftovers(ledger)
    ledger.settle(9.0, by_user=False)
    one, two = ledger.trial(1), ledger.trial(2)
    assert one.status is Status.CANCELLED and one.finished == 9.0
    assert one.error == "cancelled: the run stopped before it ended"
    assert two.status is Status.FAILED and two.error == "boom"  # its last error stands
    assert ledger.trial(0).status is Status.DONE and ledger.trial(0).budget == 1
    counts = ledger.counts
    assert (counts[Status.CANCELLED], counts[Status.FAILED], counts[Status.DONE]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("mode", "best", "target", "reached_after"),
    [("min", 1.0, 1.5, 2), ("max", 3.0, 2.5, 1)],
)
def test_counts_best_and_target_follow_the_mode(
    mode: str, best: float, target: float, reached_after: int
) -> None:
    ledger = Ledger(mode=mode, target=target)
    reached = []
    for value in (2.0, 3.0, 1.0):
        ended(ledger, value)
        reached.append(ledger.target_reached)
    assert ledger.best is not None and ledger.best.value == best
    assert reached == [i >= reached_after for i in range(3)]
    assert ledger.counts[Status.DONE] == 3 and ledger.created == 3


@pytest.mark.parametrize("mode", ["min", "max"])
def test_a_value_equal_to_the_target_reaches_it(mode: str) -> None:
    ledger = Ledger(mode=mode, target=0.5)
    ended(ledger, 0.5)
    assert ledger.target_reached


def test_without_a_target_none_is_reached() -> None:
    ledger = Ledger(target=None)
    ended(ledger, -1e300)
    assert not ledger.target_reached


def test_loss_is_the_tuned_metric_lower_is_better() -> None:
    assert Ledger(metric="acc", mode="max").loss({"acc": 0.75}) == -0.75
    assert Ledger(metric="acc").loss({"acc": 3}) == 3.0
    for unusable in ({"acc": True}, {"acc": float("inf")}, {"acc": "high"}, {"loss": 1.0}):
        assert Ledger(metric="acc").loss(unusable) is None


def test_replay_counts_ended_trials_and_queues_what_ran_from_its_checkpoint() -> None:
    ledger = Ledger()
    done = Trial(trial_id=0, config={"x": 0}, seed=11, status=Status.DONE, value=0.5, budget=1)
    cut = Trial(
        trial_id=2,
        config={"x": 2},
        seed=13,
        status=Status.INTERRUPTED,
        attempts=2,
        budget=4,
        checkpoint_step=2,
        worker_time=5.0,
    )
    assert ledger.replay(done, last_step=1) == done
    assert ledger.replay(cut, last_step=4) == cut._replace(status=Status.RUNNING)
    assert ledger.trial(2) == cut  # as stored, until it runs again
    assert ledger.created == 3 and ledger.running == 1 and ledger.counts[Status.DONE] == 1
    assert ledger.best == done and ledger.unsaved == ([], [])  # stored already
    job = ledger.queued_job()
    assert job == Job(trial_id=2, attempt=2, config={"x": 2}, seed=13, budget=4, start_step=2)
    assert ledger.start(job, submitted=0.0).worker_time == 5.0
    again = ledger.end(event(job, result=0.1), **GOING_ON)
    assert again is not None and again.status is Status.DONE and again.worker_time == 6.0
    assert ledger.unsaved[1] == []  # its last stored report was at its budget already
    assert ledger.new_job(Proposal({})).trial_id == 3


def test_replay_starts_over_a_trial_whose_checkpoint_is_at_its_budget() -> None:
    ledger = Ledger()
    ledger.replay(Trial(0, {}, 1, Status.RUNNING, budget=3, checkpoint_step=3))
    job = ledger.queued_job()
    assert job is not None and job.start_step == 0 and job.attempt == 1


# ---- recall: ended trials read back from where they are saved ----------------------------


class Saving:
    """A ledger that recalls ended trials from a `CompactTrials` it saves into after every
    step, beside a ledger that keeps every trial: both are driven alike."""

    def __init__(self) -> None:
        self.kept = CompactTrials()
        self.recalled: list[int] = []
        self.step_recalled: list[int] = []
        self.plain = Ledger(retries=1)
        self.ledger = Ledger(retries=1, recall=self.recall)

    def recall(self, trial_id: int) -> Trial | None:
        self.recalled.append(trial_id)
        return self.kept.get(trial_id)

    def both(self, step: str, *args: Any, **kwargs: Any) -> Any:
        """Take ``step`` on both ledgers, check they agree, then save."""
        self.recalled = []
        mine, theirs = (
            getattr(ledger, step)(*args, **kwargs) for ledger in (self.ledger, self.plain)
        )
        assert mine == theirs and self.ledger.unsaved == self.plain.unsaved
        self.step_recalled, self.recalled = self.recalled, []  # what the step read back
        self.kept.put(self.ledger.unsaved[0])
        for ledger in (self.ledger, self.plain):
            ledger.saved()
        assert self.ledger.trials() == self.plain.trials()
        assert dict(self.ledger.counts) == dict(self.plain.counts)
        assert self.ledger.best == self.plain.best and self.ledger.running == self.plain.running
        return mine


def test_a_ledger_that_recalls_ended_trials_keeps_the_same_books() -> None:
    books = Saving()
    jobs = [books.both("new_job", Proposal({"x": i}, budget=1)) for i in range(4)]
    for job in jobs:
        books.both("start", job, 0.0)
    books.both("end", event(jobs[0], result=0.5), **GOING_ON)
    books.both("end", event(jobs[1], ok=False, result=None, error="boom"), **GOING_ON)
    books.both("end", event(jobs[2], result=0.25), **GOING_ON)
    retry = books.both("queued_job")
    books.both("start", retry, 1.0)
    books.both("end", event(retry, result=0.75), **GOING_ON)
    promoted = books.both("new_job", Proposal({"x": 0}, budget=3, trial_id=0, start_step=1))
    assert books.step_recalled == [0]  # ended and saved: read back, not kept by the ledger
    assert promoted.seed == jobs[0].seed and promoted.budget == 3
    books.both("start", promoted, 2.0)
    books.both("end", event(promoted, result=0.125), **GOING_ON)
    again = books.both("new_job", Proposal({"x": 2}, budget=9, trial_id=2, start_step=1))
    books.both("start", again, 3.0)
    books.both("end", event(again, cancelled=True, result=None), **RULE)  # stays at budget 1
    books.both("settle", 4.0, by_user=False)  # trial 3 never ended: cancelled
    assert [t.status for t in books.ledger.trials()] == [Status.DONE] * 3 + [Status.CANCELLED]
    assert books.ledger.trial(2).budget == 1 and books.ledger.best == books.kept.get(0)
    with pytest.raises(KeyError):
        books.ledger.trial(9)


def test_a_replayed_ended_trial_is_recalled_and_a_running_one_kept() -> None:
    kept = CompactTrials()
    done = Trial(trial_id=0, config={"x": 0}, seed=11, status=Status.DONE, value=0.5, budget=1)
    cut = Trial(1, {"x": 1}, 13, Status.INTERRUPTED, budget=4, checkpoint_step=2)
    kept.put([done, cut])
    ledger = Ledger(recall=kept.get)
    assert ledger.replay(done, last_step=1) == done
    ledger.replay(cut, last_step=2)
    kept.put([Trial(0, {"x": 0}, 11, Status.FAILED)])  # the store is where it is read
    assert ledger.trial(0).status is Status.FAILED and ledger.trial(1) == cut
    assert ledger.best == done and ledger.counts[Status.DONE] == 1
