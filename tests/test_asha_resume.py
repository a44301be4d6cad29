"""ASHA on one metric, stopped in the middle of a promotion and resumed, with real driver
processes and a real SQLite store: every promotion, before the stop and after the resume,
must be one the rule allows, worked out from scratch from the true rung results."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import paratune as pt

from ._wait import wait_until
from .faults.drivers import driver, finish
from .faults.harness import DEADLINE
from .faults.store_view import count_lines, snapshot

OBJECTIVE = """
\"\"\"A loss each epoch, by trial id: trial 0 is the best at every rung, so the first
promotion is its. Each job is logged as it starts; trial 0 above budget 1 waits after its
last report while the file "hold-after" exists.\"\"\"

import os

from tests._wait import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


def _log(name, line):
    with open(os.path.join(HERE, name), "a") as log:
        log.write(line + "\\n")


def train(config, ctx):
    _log("jobs.log", f"{ctx.trial_id},{ctx.budget}")
    for epoch in range(ctx.start_step, int(ctx.budget)):
        ctx.report(epoch + 1, loss=ctx.trial_id + 1 / (epoch + 1))
    hold = os.path.join(HERE, "hold-after")
    if ctx.trial_id == 0 and ctx.budget > 1 and os.path.exists(hold):
        _log("held.log", str(ctx.trial_id))
        wait_until(lambda: not os.path.exists(hold), 60, "the hold file to go")
    return ctx.trial_id + 1 / ctx.budget
"""

DRIVE = '''
"""ASHA whose every promotion is checked against the rule: the best third of the rung
below, by the results the scheduler was told of (the reports at the rungs' steps, and the
jobs' ends)."""

import sys

import paratune as pt
from paratune.schedulers import ASHA

from asha_objective import train


class CheckedASHA(ASHA):
    def __init__(self):
        super().__init__(budget="epochs", min_budget=1, max_budget=9, eta=3)
        self.rungs = {1: {}, 3: {}, 9: {}}  # budget -> trial id -> its result there

    def on_report(self, trial_id, step, loss):
        if step in self.rungs:
            self.rungs[step][trial_id] = loss
        return super().on_report(trial_id, step, loss)

    def on_result(self, trial):
        if trial.status is pt.Status.DONE and trial.budget in self.rungs:
            self.rungs[trial.budget][trial.trial_id] = trial.value
        super().on_result(trial)

    def next_job(self, suggest):
        job = super().next_job(suggest)
        if job is not None and job.trial_id is not None:
            below = self.rungs[job.budget // 3]
            ids = sorted(below, key=lambda i: (below[i], i))
            if job.trial_id not in ids[: len(ids) // 3]:
                with open("violations.log", "a") as out:
                    out.write(f"{job.trial_id} to {job.budget}: top {ids[: len(ids) // 3]}\\n")
        return job


pt.tune(train, {"x": pt.Float(0, 1)}, metric="loss", scheduler=CheckedASHA(),
        executor="processes", workers=2, max_trials=18, seed=3, store="sqlite:///runs.db",
        name="one", resume=sys.argv[1] == "resume", progress=False)
'''


def test_asha_interrupted_in_a_promotion_promotes_that_trial_again_on_resume(
    tmp_path: Path,
) -> None:
    (tmp_path / "asha_objective.py").write_text(textwrap.dedent(OBJECTIVE))
    (tmp_path / "drive.py").write_text(textwrap.dedent(DRIVE))
    (tmp_path / "hold-after").touch()  # trial 0's promotion waits once it has reported
    with driver(tmp_path, ["drive.py", "run"]) as process:
        wait_until(
            lambda: count_lines(tmp_path / "held.log") >= 1 or process.poll() is not None,
            DEADLINE,
            "trial 0's promotion held after it reported epoch 3, or the driver's exit",
        )
        assert process.poll() is None, (tmp_path / "driver.err").read_text()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, (tmp_path / "driver.err").read_text()
    (tmp_path / "hold-after").unlink()
    stopped = snapshot(tmp_path / "runs.db", "one")
    assert (tmp_path / "held.log").read_text().split() == ["0"]
    # Back where it stood (done at budget 1), its cut-short job's report at step 3 stored.
    assert (stopped.trials[0].budget, (0, 3) in stopped.reports) == (1, True)
    jobs_before = count_lines(tmp_path / "jobs.log")
    finish(tmp_path, ["drive.py", "resume"])
    assert not (tmp_path / "violations.log").exists(), (tmp_path / "violations.log").read_text()
    trials = pt.load(str(tmp_path / "runs.db"), "one").trial_list
    assert [t.trial_id for t in trials] == list(range(18))
    assert all(t.status is pt.Status.DONE for t in trials)
    # Trial 0 ran its promotion to 3 again: the report of the job the stop cut short was
    # not taken for a result at rung 3 (from which it would have gone on to 9 unearned).
    jobs_after = (tmp_path / "jobs.log").read_text().split()[jobs_before:]
    assert "0,3" in jobs_after
    # A run that promotes while it can leaves the best third of rung 1 promoted.
    assert all((t.budget or 0) >= 3 for t in trials[:6])
