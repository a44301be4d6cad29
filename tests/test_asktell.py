"""AskTell: the loop of `tune`, driven by hand. Each test drives a real experiment (real
SQLite files where a store is on disk) and reads back what was stored."""

from __future__ import annotations

import gc
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import paratune as pt
from paratune import AskedTrial, AskTell
from paratune.callbacks import Callback
from paratune.cli import cli
from paratune.context import TrialPruned
from paratune.errors import SpaceError, SpecError

SPACE = {"x": pt.Float(-5, 5), "n": pt.Int(1, 8), "kind": pt.Choice(["a", "b"])}


def loss(config: dict[str, Any]) -> float:
    return float((config["x"] - 1) ** 2 + config["n"] / 10 + (config["kind"] == "b"))


def drive(study: AskTell, count: int) -> list[AskedTrial]:
    """Ask and tell ``count`` trials one at a time, as a plain loop would."""
    asked = []
    for _ in range(count):
        trial = study.ask()
        assert trial is not None
        asked.append(trial)
        study.tell(trial, loss(trial.config))
    return asked


@pytest.mark.parametrize("searcher", ["random", "gp", "tpe", "sobol"])
def test_asking_and_telling_one_at_a_time_is_tune_serially(searcher: str) -> None:
    tuned = pt.tune(loss, SPACE, searcher=searcher, max_trials=14, seed=5, store=None)
    with AskTell(SPACE, searcher=searcher, seed=5, store=None) as study:
        asked = drive(study, 14)
    assert [t.config for t in asked] == [trial.config for trial in tuned.trial_list]
    assert [t.seed for t in asked] == [trial.seed for trial in tuned.trial_list]
    assert study.result().best_value == tuned.best_value


def test_each_result_is_in_the_store_when_tell_returns(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with AskTell(SPACE, store=store, name="e", seed=1) as study:
        first = study.ask()
        assert first is not None
        study.tell(first, {"value": 0.5, "accuracy": 0.9})
        seen = pt.load(store, "e").trial_list  # a reader, while the experiment is open
        assert seen[0].status is pt.Status.DONE and seen[0].value == 0.5
        assert seen[0].metrics == {"value": 0.5, "accuracy": 0.9}


def test_trials_not_told_are_asked_again_on_resume_with_their_config_and_seed(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.db"
    study = AskTell(SPACE, store=store, name="e", seed=2)
    told, kept = study.ask(), study.ask()
    assert told is not None and kept is not None
    study.tell(told, 1.0)
    assert [t.trial_id for t in study.pending] == [kept.trial_id]
    ended = study.close()
    assert ended.stop_reason is pt.StopReason.INTERRUPTED
    again = AskTell(SPACE, store=store, name="e", seed=2, resume=True)
    asked = again.ask()
    assert asked is not None
    assert (asked.trial_id, asked.config, asked.seed) == (kept.trial_id, kept.config, kept.seed)
    again.tell(asked, 2.0)
    new = again.ask()
    assert new is not None and new.trial_id == 2
    again.tell(new, 3.0)
    result = again.close()
    assert [t.value for t in result.trial_list] == [1.0, 2.0, 3.0]
    assert {t.status for t in result.trial_list} == {pt.Status.DONE}


def test_a_caller_that_fails_midway_leaves_its_trials_to_ask_again(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(KeyboardInterrupt):
        with AskTell(SPACE, store=store, name="e") as study:
            study.tell(study.ask(), 1.0)  # type: ignore[arg-type]
            held = study.ask()
            raise KeyboardInterrupt  # Ctrl-C in the caller's own evaluation
    assert held is not None
    stored = pt.load(store, "e").trial_list
    assert [t.status for t in stored] == [pt.Status.DONE, pt.Status.INTERRUPTED]
    with AskTell(SPACE, store=store, name="e", resume=True) as again:
        asked = again.ask()
        assert asked is not None and asked.config == held.config
        again.tell(asked, 0.25)
    assert [t.status for t in again.result().trial_list] == [pt.Status.DONE] * 2


def test_max_trials_ends_it_and_ask_then_gives_none() -> None:
    with AskTell(SPACE, store=None, max_trials=3) as study:
        drive(study, 3)
        assert study.finished
        assert study.ask() is None
        with pytest.raises(ValueError, match="has ended"):
            study.tell(0, 1.0)
    assert study.result().stop_reason is pt.StopReason.MAX_TRIALS


def test_target_reached_ends_it_and_cancels_what_was_still_out() -> None:
    with AskTell({"x": pt.Float(0, 1)}, store=None, target=0.5) as study:
        slow, fast = study.ask(), study.ask()
        assert slow is not None and fast is not None
        study.tell(fast, 0.1)
        assert study.finished and study.ask() is None
    result = study.result()
    assert result.stop_reason is pt.StopReason.TARGET
    assert [t.status for t in result.trial_list] == [pt.Status.CANCELLED, pt.Status.DONE]


def test_reports_reach_the_scheduler_and_stop_trials() -> None:
    scheduler = {"type": "asha", "min_budget": 1, "max_budget": 9, "eta": 3, "stopping": True}
    pruned = 0
    with AskTell({"x": pt.Float(0, 1)}, scheduler=scheduler, store=None, max_trials=20) as st:
        while (trial := st.ask()) is not None:
            assert trial.budget is not None
            try:
                for step in range(1, int(trial.budget) + 1):
                    trial.ctx.report(step, value=trial.config["x"] + 1 / step)
            except TrialPruned:
                pruned += 1
                st.tell(trial)  # its last report stands
            else:
                st.tell(trial, trial.config["x"])
    result = st.result()
    statuses = [t.status for t in result.trial_list]
    assert pruned == statuses.count(pt.Status.PRUNED) > 0
    assert statuses.count(pt.Status.DONE) + pruned == 20
    stopped = next(t for t in result.trial_list if t.status is pt.Status.PRUNED)
    steps = [r.step for r in result.report_list if r.trial_id == stopped.trial_id]
    assert stopped.value == pytest.approx(stopped.config["x"] + 1 / steps[-1])


def test_promotions_continue_a_trial_from_its_checkpoint(tmp_path: Path) -> None:
    scheduler = {"type": "asha", "min_budget": 1, "max_budget": 4, "eta": 2}
    starts: dict[int, list[tuple[int, Any]]] = {}
    with AskTell(
        {"x": pt.Float(0, 1)}, scheduler=scheduler, store=tmp_path / "s.db", max_trials=8
    ) as study:
        while (trial := study.ask()) is not None:
            assert trial.budget is not None
            state = trial.ctx.load_checkpoint() if trial.start_step else 0
            starts.setdefault(trial.trial_id, []).append((trial.start_step, state))
            for step in range(trial.start_step + 1, int(trial.budget) + 1):
                state = step  # what training would have reached
                trial.ctx.report(step, value=trial.config["x"] / step)
            trial.ctx.save_checkpoint(state)
            study.tell(trial, trial.config["x"] / trial.budget)
    promoted = {tid: runs for tid, runs in starts.items() if len(runs) > 1}
    assert promoted
    for runs in promoted.values():
        assert runs[0] == (0, 0)
        assert all(start == state and start > 0 for start, state in runs[1:])


def test_failures_are_recorded_and_retried_when_retries_allow() -> None:
    with AskTell({"x": pt.Float(0, 1)}, store=None, retries=1) as study:
        first = study.ask()
        assert first is not None
        study.tell(first, error="diverged")
        again = study.ask()
        assert again is not None and again.trial_id == first.trial_id
        assert again.config == first.config
        study.tell(again, error="diverged again")
        bad = study.ask()
        assert bad is not None
        study.tell(bad, math.nan)  # a result the store cannot rank: the trial fails
        good = study.ask()
        assert good is not None
        study.tell(good, 0.5)
    trials = study.result().trial_list
    assert [t.status for t in trials] == [pt.Status.FAILED, pt.Status.FAILED, pt.Status.DONE]
    assert trials[0].error == "diverged again" and trials[0].attempts == 2


def test_tell_refuses_what_it_cannot_record_and_loses_nothing() -> None:
    with AskTell({"x": pt.Float(0, 1)}, store=None) as study:
        trial = study.ask()
        assert trial is not None
        with pytest.raises(ValueError, match="never asked, or was told already"):
            study.tell(99, 1.0)
        with pytest.raises(ValueError, match="needs the result of trial 0"):
            study.tell(trial)
        with pytest.raises(ValueError, match="a result or an error, not both"):
            study.tell(trial, 1.0, error="boom")
        assert [t.trial_id for t in study.pending] == [0]
        study.tell(trial.trial_id, 1.0)
        with pytest.raises(ValueError, match="told already"):
            study.tell(trial, 1.0)
    assert [t.value for t in study.result().trial_list] == [1.0]


def test_added_and_queued_configs_come_before_the_searchers_own() -> None:
    with AskTell({"x": pt.Float(0, 1), "k": 3}, store=None, seed=4) as study:
        study.add({"x": 0.5}, 0.75)  # evaluated elsewhere; the constant is filled in
        study.enqueue({"x": 0.125})
        queued = study.ask()
        assert queued is not None and queued.config == {"x": 0.125, "k": 3}
        study.tell(queued, 0.1)
        for _ in range(2):
            trial = study.ask()
            assert trial is not None
            study.tell(trial, trial.config["x"])
        with pytest.raises(SpaceError, match=r"add\(\): .*'x'"):
            study.add({"x": 7.0}, 1.0)
        with pytest.raises(SpecError, match="needs a config"):
            study.enqueue([0.5])  # type: ignore[arg-type]
    trials = study.result().trial_list
    assert [t.config["x"] for t in trials[:2]] == [0.5, 0.125]
    assert [t.value for t in trials[:2]] == [0.75, 0.1]
    assert len(trials) == 4


class Recording:
    """A searcher that draws at random and records what it observes."""

    def __init__(self) -> None:
        self.random = pt.searchers.Random()
        self.observed: list[tuple[dict[str, Any], float | None]] = []

    def setup(self, space: pt.Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.random.setup(space, seed=seed, workers=workers, max_trials=max_trials)

    def suggest(self) -> dict[str, Any] | None:
        return self.random.suggest()

    def observe(self, trial: pt.Trial) -> None:
        self.observed.append((trial.config, trial.value))


def test_the_searcher_hears_of_added_and_told_results_after_they_are_stored() -> None:
    searcher = Recording()
    with AskTell({"x": pt.Float(0, 1)}, searcher=searcher, mode="max", store=None) as study:
        study.add({"x": 0.3}, 2.0)
        assert searcher.observed == [({"x": 0.3}, -2.0)]  # the searcher always minimises
        trial = study.ask()
        assert trial is not None
        study.tell(trial, 1.0)
        assert searcher.observed[1] == (trial.config, -1.0)


def test_only_one_driver_holds_an_experiment(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with AskTell(SPACE, store=store, name="e") as study:
        held = study.ask()
        with pytest.raises(pt.ExperimentBusy, match="being run by another driver"):
            AskTell(SPACE, store=store, name="e", resume=True)
        with pytest.raises(pt.ExperimentBusy, match="being run by another driver"):
            pt.tune(loss, SPACE, store=store, name="e", resume=True, max_trials=5)
        assert held is not None
        study.tell(held, 1.0)  # the refusals took nothing from it
    with AskTell(SPACE, store=store, name="e", resume=True) as again:
        drive(again, 1)
    assert len(again.result().trial_list) == 2


def test_bad_arguments_are_named() -> None:
    with pytest.raises(SpecError, match="workers"):
        AskTell(SPACE, store=None, workers=0)
    with pytest.raises(SpecError, match="mode"):
        AskTell(SPACE, store=None, mode="biggest")
    with pytest.raises(SpecError, match=r"unknown searcher .annealing."):
        AskTell(SPACE, store=None, searcher="annealing")
    with pytest.raises(SpecError, match=r"^scheduler: "):
        AskTell(SPACE, store=None, scheduler={"type": "asha", "eta": 1})
    with pytest.raises(RuntimeError, match="once the experiment is closed"):
        with AskTell(SPACE, store=None) as study:
            study.result()


def test_result_needs_a_closed_experiment_and_close_twice_is_harmless() -> None:
    study = AskTell(SPACE, store=None)
    drive(study, 2)
    first = study.close()
    assert study.close().best_value == first.best_value
    assert study.finished


def test_calls_from_another_thread_are_refused_and_lose_nothing() -> None:
    with AskTell({"x": pt.Float(0, 1)}, store=None) as study:
        trial = study.ask()
        assert trial is not None
        errors: list[BaseException] = []

        def elsewhere() -> None:
            for call in (study.ask, lambda: study.tell(trial, 1.0)):
                try:
                    call()
                except RuntimeError as exc:
                    errors.append(exc)
            try:
                trial.ctx.report(1, value=0.5)
            except RuntimeError as exc:
                errors.append(exc)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert len(errors) == 3
        assert all("thread" in str(error) for error in errors)
        study.tell(trial, 0.5)  # from its own thread, it goes on
    assert [t.value for t in study.result().trial_list] == [0.5]


def test_an_experiment_dropped_without_close_interrupts_what_is_out(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    study = AskTell({"x": pt.Float(0, 1)}, store=store, name="e")
    study.tell(study.ask(), 1.0)  # type: ignore[arg-type]
    held = study.ask()
    assert held is not None
    del study
    gc.collect()
    stored = pt.load(store, "e")
    assert [t.status for t in stored.trial_list] == [pt.Status.DONE, pt.Status.INTERRUPTED]
    with AskTell({"x": pt.Float(0, 1)}, store=store, name="e", resume=True) as again:
        asked = again.ask()  # the driver let go of it, and its trial comes back
        assert asked is not None and asked.config == held.config
        again.tell(asked, 0.5)


class Broken:
    """A searcher that fails at its third suggestion."""

    def __init__(self) -> None:
        self.random, self.calls = pt.searchers.Random(), 0

    def setup(self, space: pt.Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.random.setup(space, seed=seed, workers=workers, max_trials=max_trials)

    def suggest(self) -> dict[str, Any] | None:
        self.calls += 1
        if self.calls == 3:
            raise ArithmeticError("the model broke")
        return self.random.suggest()

    def observe(self, trial: pt.Trial) -> None:
        pass


def test_an_error_in_the_loop_reaches_the_caller_and_keeps_what_was_told(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(ArithmeticError, match="the model broke"):
        with AskTell({"x": pt.Float(0, 1)}, searcher=Broken(), store=store, name="e") as study:
            drive_plain(study, 2)
            study.ask()
    with pytest.raises(RuntimeError, match="stopped on an error: ArithmeticError"):
        study.ask()
    assert [t.value for t in pt.load(store, "e").trial_list] == [0.0, 1.0]


def drive_plain(study: AskTell, count: int) -> None:
    for value in range(count):
        trial = study.ask()
        assert trial is not None
        study.tell(trial, float(value))


def test_callbacks_hear_each_trial_once_the_store_has_it(tmp_path: Path) -> None:
    store = tmp_path / "s.db"

    class Mirror(Callback):
        def __init__(self) -> None:
            self.heard: list[tuple[str, int, str]] = []

        def on_trial_start(self, experiment: Any, trial: pt.Trial) -> None:
            self.heard.append(("start", trial.trial_id, stored_status(trial.trial_id)))

        def on_trial_end(self, experiment: Any, trial: pt.Trial) -> None:
            self.heard.append(("end", trial.trial_id, stored_status(trial.trial_id)))

        def on_run_end(self, experiment: Any, outcome: Any) -> None:
            self.heard.append(("run end", len(outcome.trials), outcome.stop_reason.value))

    def stored_status(trial_id: int) -> str:
        return pt.load(store, "e").trial_list[trial_id].status.value

    mirror = Mirror()
    with AskTell({"x": pt.Float(0, 1)}, store=store, name="e", callbacks=[mirror]) as study:
        drive_plain(study, 2)
    assert mirror.heard == [
        ("start", 0, "running"),
        ("end", 0, "done"),
        ("start", 1, "running"),
        ("end", 1, "done"),
        ("run end", 2, "interrupted"),
    ]


def test_an_ask_and_tell_experiment_is_not_resumed_as_a_run(tmp_path: Path) -> None:
    with AskTell({"x": pt.Float(0, 1)}, store=tmp_path / "s.db", name="e") as study:
        drive_plain(study, 1)
    done = CliRunner().invoke(cli, ["resume", "e", "--store", str(tmp_path / "s.db")])
    assert done.exit_code == 1
    assert "is an ask-and-tell experiment" in done.stderr and "paratune ask" in done.stderr


def test_synchronous_rungs_wait_for_their_results_then_promote_past_max_trials() -> None:
    scheduler = {"type": "successive_halving", "min_budget": 1, "max_budget": 4, "eta": 2}
    rungs = []
    with AskTell({"x": pt.Float(0, 1)}, scheduler=scheduler, store=None, max_trials=4) as st:
        while not st.finished:
            rung = []
            while (trial := st.ask()) is not None:
                rung.append(trial)
            assert st.ask() is None  # the rung waits for its results
            for trial in rung:
                st.tell(trial, trial.config["x"])
            rungs.append([(t.trial_id, t.budget) for t in rung])
    best = sorted(range(4), key=lambda i: st.result().trial_list[i].config["x"])
    assert rungs == [
        [(0, 1), (1, 1), (2, 1), (3, 1)],
        [(best[0], 2), (best[1], 2)],
        [(best[0], 4)],
    ]  # and the last result ends it: past max_trials nothing more can come
    assert st.result().stop_reason is pt.StopReason.MAX_TRIALS


def test_a_converged_searcher_ends_it_as_converged() -> None:
    space = {"x": pt.Float(-1, 1), "y": pt.Float(-1, 1)}
    with AskTell(space, searcher="cmaes", store=None, seed=0) as study:
        while (trial := study.ask()) is not None:
            study.tell(trial, trial.config["x"] ** 2 + trial.config["y"] ** 2)
    result = study.result()
    assert result.stop_reason is pt.StopReason.CONVERGED
    assert result.best_value is not None and result.best_value < 1e-6
