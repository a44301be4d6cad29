"""Callbacks (`paratune.callbacks`): what a run tells them, in which order, only once the
store holds it, and a callback that raises is dropped with one warning while the run goes
on."""

from __future__ import annotations

from typing import Any

import pytest

import paratune as pt
from paratune._fanout import Fanout, fanout
from paratune._options import TuneOptions
from paratune.callbacks import METHODS, Callback
from paratune.store import Experiment, MemoryStore
from paratune.trial import Report, Status, Trial
from paratune.tuner import RunOutcome, StopReason

SPACE = {"x": pt.Float(0.0, 1.0)}
ASHA = {"type": "asha", "min_budget": 1, "max_budget": 4, "eta": 2}


def curve(config: dict[str, Any], ctx: pt.Context) -> float:
    """Reports each step up to the budget; the value falls with the steps."""
    assert ctx.budget is not None
    for step in range(ctx.start_step + 1, int(ctx.budget) + 1):
        ctx.report(step, value=config["x"] + 1 / step)
    return float(config["x"] + 1 / ctx.budget)


class Recorder(Callback):
    """Records every call, and checks that the store already holds what each one says."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.store = store
        self.experiments: set[int] = set()

    def _stored(self, trial: Trial) -> None:
        if self.store is not None:
            stored = {t.trial_id: t for t in self.store.trials()}[trial.trial_id]
            assert (stored.status, stored.value, stored.budget, stored.attempts) == (
                trial.status,
                trial.value,
                trial.budget,
                trial.attempts,
            )

    def on_trial_start(self, experiment: Experiment, trial: Trial) -> None:
        self.experiments.add(id(experiment))
        self._stored(trial)
        self.calls.append(("start", trial.trial_id, trial.attempts, trial.budget))

    def on_report(self, experiment: Experiment, report: Report) -> None:
        if self.store is not None:
            assert report in self.store.reports()
        self.calls.append(("report", report.trial_id, report.step))

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        self._stored(trial)
        self.calls.append(("end", trial.trial_id, trial.status, trial.budget))

    def on_run_end(self, experiment: Experiment, outcome: RunOutcome) -> None:
        self.calls.append(("run_end", experiment.name, outcome.stop_reason, len(outcome.trials)))


def test_a_run_tells_each_trial_start_reports_and_end_in_order_after_the_store() -> None:
    store = MemoryStore()
    recorder = Recorder(store)
    result = pt.tune(
        curve, SPACE, scheduler=ASHA, executor="serial", max_trials=6, store=store,
        name="e", callbacks=[recorder],
    )  # fmt: skip
    calls = recorder.calls
    assert calls[-1] == ("run_end", "e", StopReason.MAX_TRIALS, 6)
    assert len(recorder.experiments) == 1  # the same experiment in every call
    for (
        trial
    ) in result.trial_list:  # per trial: start, its reports 1..budget, end; again if promoted
        mine = [call for call in calls[:-1] if call[1] == trial.trial_id]
        jobs = [call for call in mine if call[0] == "start"]
        expected: list[tuple[Any, ...]] = []
        for start in jobs:
            budget = int(start[3])
            expected += [start, *(("report", trial.trial_id, s) for s in range(1, budget + 1))]
            expected.append(("end", trial.trial_id, Status.DONE, start[3]))
        assert mine == expected
    promoted = [t for t in result.trial_list if t.budget == 4]
    assert promoted  # some trial was continued at a higher budget, and ended again
    ends = [c for c in calls if c[0] == "end" and c[1] == promoted[0].trial_id]
    assert [c[3] for c in ends] == [1, 2, 4]


def test_a_retry_starts_again_and_ends_once() -> None:
    def fails_once(config: dict[str, Any], ctx: pt.Context) -> float:
        if ctx.trial_id == 0 and not done:
            done.append(True)
            raise RuntimeError("once")
        return float(config["x"])

    done: list[bool] = []
    recorder = Recorder()
    pt.tune(
        fails_once, SPACE, executor="serial", max_trials=2, retries=1, store=None,
        callbacks=[recorder],
    )  # fmt: skip
    assert [c[:3] for c in recorder.calls if c[1] == 0] == [
        ("start", 0, 1),
        ("start", 0, 2),
        ("end", 0, Status.DONE),
    ]


def test_concurrent_trials_keep_their_order_under_several_workers() -> None:
    def timed(config: dict[str, Any], ctx: pt.Context) -> float:
        for step in (1, 2):
            ctx.elapse(config["x"])
            ctx.report(step, value=config["x"] * step)
        return float(config["x"])

    store = MemoryStore()
    recorder = Recorder(store)
    result = pt.tune(
        timed, SPACE, executor="simulated", workers=3, max_trials=9, store=store,
        callbacks=[recorder],
    )  # fmt: skip
    for trial in result.trial_list:
        mine = [c[0] for c in recorder.calls if c[1] == trial.trial_id]
        assert mine == ["start", "report", "report", "end"]
    starts = [c[1] for c in recorder.calls if c[0] == "start"]
    assert starts == list(range(9))


class Breaks(Callback):
    """Raises at its second report."""

    def __init__(self) -> None:
        self.reports = 0
        self.ends = 0

    def on_report(self, experiment: Experiment, report: Report) -> None:
        self.reports += 1
        if self.reports == 2:
            raise ValueError("the tracking server is down")

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        self.ends += 1


def test_a_callback_that_raises_is_warned_about_once_and_dropped() -> None:
    breaks, recorder = Breaks(), Recorder()
    with pytest.warns(RuntimeWarning) as warned:
        result = pt.tune(
            curve, SPACE, scheduler=ASHA, executor="serial", max_trials=4, store=None,
            callbacks=[breaks, recorder],
        )  # fmt: skip
    assert len(warned) == 1
    message = str(warned[0].message)
    assert "test_callbacks.Breaks" in message and "on_report" in message
    assert "ValueError: the tracking server is down" in message
    assert breaks.reports == 2 and breaks.ends == 1  # trial 0's; none after it raised
    assert [t.status for t in result.trial_list] == [Status.DONE] * 4
    assert recorder.calls[-1][0] == "run_end"  # the others heard everything
    assert sum(c[0] == "end" for c in recorder.calls) >= 4


def test_a_callback_that_raises_at_the_run_end_leaves_the_result() -> None:
    class EndBreaks(Callback):
        def on_run_end(self, experiment: Experiment, outcome: RunOutcome) -> None:
            raise KeyError("gone")

    with pytest.warns(RuntimeWarning, match=r"EndBreaks raised in on_run_end: KeyError"):
        result = pt.tune(
            lambda c: c["x"], SPACE, max_trials=2, store=None, callbacks=[EndBreaks()]
        )
    assert len(result.trial_list) == 2


def test_an_error_that_ends_the_run_ends_it_without_on_run_end() -> None:
    def broken_setup() -> None:
        raise OSError("no data")

    recorder = Recorder()
    with pytest.raises(pt.SetupError):
        pt.tune(
            lambda c: c["x"], SPACE, executor="serial", setup=broken_setup, max_trials=2,
            store=None, callbacks=[recorder],
        )  # fmt: skip
    assert recorder.calls == []


class Plain:
    """No `Callback`, but with all its methods."""

    def __init__(self) -> None:
        self.ended: list[int] = []

    def on_trial_start(self, experiment: Experiment, trial: Trial) -> None:
        pass

    def on_report(self, experiment: Experiment, report: Report) -> None:
        pass

    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        self.ended.append(trial.trial_id)

    def on_run_end(self, experiment: Experiment, outcome: RunOutcome) -> None:
        pass


def test_an_object_with_the_methods_is_a_callback() -> None:
    plain = Plain()
    pt.tune(lambda c: c["x"], SPACE, max_trials=3, store=None, callbacks=(plain,))  # type: ignore[arg-type]
    assert plain.ended == [0, 1, 2]
    assert set(METHODS) == {name for name in vars(Callback) if name.startswith("on_")}


class Partial:
    def on_trial_end(self, experiment: Experiment, trial: Trial) -> None:
        pass


@pytest.mark.parametrize(
    ("callbacks", "says"),
    [
        (Callback(), "callbacks must be a list of paratune.callbacks.Callback objects"),
        ("mlflow", "callbacks must be a list"),
        ([Callback(), Partial()], "item 1, .*Partial.*, has no on_trial_start, on_report"),
        ([print], "item 0, <built-in function print>, has no on_trial_start"),
    ],
)
def test_callbacks_that_are_not_callbacks_are_refused_by_name(callbacks: Any, says: str) -> None:
    with pytest.raises(pt.SpecError, match=says):
        pt.tune(lambda c: c["x"], SPACE, max_trials=1, store=None, callbacks=callbacks)


def test_callbacks_are_kept_neither_with_the_experiment_nor_in_a_spec() -> None:
    options = TuneOptions(callbacks=[Callback()])
    assert "callbacks" not in options.stored()
    from paratune.spec import spec_keys

    assert "callbacks" not in spec_keys()


def test_no_callbacks_make_no_fanout_and_the_default_does_nothing() -> None:
    experiment = Experiment(name="e", space={}, metric="value", mode="min", seed=0)
    assert fanout(experiment, ()) is None and fanout(experiment, None) is None
    made = fanout(experiment, [Callback()])
    assert isinstance(made, Fanout) and len(made.callbacks) == 1
    trial = Trial(trial_id=0, config={}, seed=1, status=Status.DONE, value=1.0)
    made.committed([trial._replace(status=Status.RUNNING), trial], [])  # no-op defaults
    assert len(made.callbacks) == 1


def test_a_failed_attempt_waiting_for_its_retry_is_neither_a_start_nor_an_end() -> None:
    experiment = Experiment(name="e", space={}, metric="value", mode="min", seed=0)
    recorder = Recorder()
    running = Trial(trial_id=0, config={}, seed=1, status=Status.RUNNING)
    failed = running._replace(started=0.0, finished=1.0, error="boom")  # a retry is left
    report = Report(trial_id=1, attempt=1, step=1, metrics={"value": 1.0}, time=0.5)
    ended = Trial(trial_id=1, config={}, seed=2, status=Status.PRUNED, value=1.0)
    Fanout(experiment, [recorder]).committed([ended, running, failed], [report])
    assert recorder.calls == [
        ("start", 0, 1, None),
        ("report", 1, 1),
        ("end", 1, Status.PRUNED, None),
    ]
