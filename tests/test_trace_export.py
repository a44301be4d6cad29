"""The trace export (`paratune._trace`, ``paratune export NAME --format trace``): real runs
written in the Chrome / Perfetto trace event format, checked against a JSON Schema of that
format and against the trials the store holds."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

import paratune as pt
from paratune._trace import (
    DRIVER_PID,
    DRIVER_TID,
    UNDRAWN_TID,
    Ladder,
    Track,
    build_trace,
    scheduler_ladder,
    stored_settings,
)
from paratune.cli import cli
from paratune.executors import Pacing, Threads
from paratune.export import export_trials
from paratune.result import TuneResult
from paratune.trial import Status, Trial
from paratune.tuner import StopReason

# Written from Google's "Trace Event Format" document: see the schema's own $comment.
SCHEMA_FILE = Path(__file__).parent / "data" / "trace_event_format.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
ASHA = {"type": "asha", "budget": "epochs", "min_budget": 1, "max_budget": 9, "eta": 3}


def valid(trace: dict[str, Any]) -> dict[str, Any]:
    """``trace`` after a round trip through strict JSON, checked against the schema."""
    trace = json.loads(json.dumps(trace, allow_nan=False))
    VALIDATOR.validate(trace)
    return trace


def events(trace: dict[str, Any], ph: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        e for e in trace["traceEvents"] if e["ph"] == ph and (name is None or e["name"] == name)
    ]


def thread_names(trace: dict[str, Any]) -> dict[tuple[int, int], str]:
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in events(trace, "M", "thread_name")}


def trial_slices(trace: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {e["args"]["trial_id"]: e for e in events(trace, "X") if e["cat"] == "trial"}


def where(event: dict[str, Any]) -> tuple[int, int]:
    return event["pid"], event["tid"]


def ns(microseconds: float) -> int:
    return round(microseconds * 1000)


def assert_no_overlap(slices: list[dict[str, Any]]) -> None:
    """On each thread, every slice ends at or before the next one starts."""
    by_track: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for event in slices:
        by_track[where(event)].append(event)
    for track in by_track.values():
        track.sort(key=lambda e: e["ts"])
        for before, after in itertools.pairwise(track):
            assert ns(before["ts"]) + ns(before["dur"]) <= ns(after["ts"]), (before, after)


def assert_slices_match_the_store(trace: dict[str, Any], trials: list[Trial]) -> None:
    """Each trial that ran is one slice from its stored start to its end, on the thread
    named after its worker, named by its id and outcome."""
    slices, names = trial_slices(trace), thread_names(trace)
    ran = [t for t in trials if t.started is not None and t.worker is not None]
    assert sorted(slices) == [t.trial_id for t in ran]
    for trial in ran:
        assert trial.started is not None and trial.finished is not None
        event = slices[trial.trial_id]
        assert names[where(event)] == f"worker {trial.worker}"
        assert event["name"] == f"trial {trial.trial_id} {trial.status.value}"
        assert event["ts"] == pytest.approx(trial.started * 1e6, abs=1e-3)
        assert event["ts"] + event["dur"] == pytest.approx(trial.finished * 1e6, abs=2e-3)
        assert event["args"]["status"] == trial.status.value
        assert event["args"]["attempt"] == trial.attempts
        assert event["args"]["config"] == trial.config
    assert_no_overlap(events(trace, "X"))


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        ({"name": "t", "ph": "X", "ts": 0, "pid": 1, "tid": 1}, "'dur' is a required"),
        ({"name": "t", "ph": "X", "ts": 0, "dur": -1, "pid": 1, "tid": 1}, "less than"),
        ({"name": "t", "ph": "Q", "ts": 0, "pid": 1, "tid": 1}, "is not one of"),
        ({"name": "t", "ph": "X", "ts": "0", "dur": 1, "pid": 1, "tid": 1}, "not of type"),
        ({"name": "t", "ph": "i", "s": "x", "ts": 0, "pid": 1, "tid": 1}, "is not one of"),
        ({"name": "t", "ph": "i", "ts": 0, "pid": 1}, "'tid' is a required"),
        ({"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {}}, "'name' is a req"),
        ({"name": "colour", "ph": "M", "pid": 1, "args": {"name": "x"}}, "is not one of"),
        ({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": 1, "args": {"sort_index": "a"}},
         "not of type"),
    ],
)  # fmt: skip
def test_the_schema_refuses_events_the_format_does_not_allow(
    event: dict[str, Any], complaint: str
) -> None:
    good = {"name": "t", "ph": "i", "s": "g", "ts": 1.5}
    VALIDATOR.validate({"traceEvents": [good], "displayTimeUnit": "ms"})
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        VALIDATOR.validate({"traceEvents": [good, event]})
    with pytest.raises(jsonschema.ValidationError, match="'traceEvents' is a required"):
        VALIDATOR.validate({"displayTimeUnit": "ms"})


def flaky(config: dict[str, Any], ctx: pt.Context) -> float:
    """Fails the first attempt of every even trial, and every attempt of trial 5."""
    if ctx.trial_id == 5 or (ctx.attempt == 1 and ctx.trial_id % 2 == 0):
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return float(config["x"])


def test_retries_are_instants_at_the_later_attempt_and_failures_slices() -> None:
    result = pt.tune(
        flaky, {"x": pt.Float(0, 1)}, executor="threads", workers=2, max_trials=6,
        retries=1, store=None, name="flaky",
    )  # fmt: skip
    trials = result.trial_list
    assert [t.attempts for t in trials] == [2, 1, 2, 1, 2, 2]
    trace = valid(build_trace(result))
    assert_slices_match_the_store(trace, trials)
    retries = {e["args"]["trial_id"]: e for e in events(trace, "i", "retry")}
    assert sorted(retries) == [0, 2, 4, 5]
    slices = trial_slices(trace)
    for trial_id, mark in retries.items():
        trial = trials[trial_id]
        assert trial.submitted is not None
        assert where(mark) == where(slices[trial_id]) and mark["s"] == "t"
        assert mark["ts"] == pytest.approx(trial.submitted * 1e6, abs=1e-3)
        assert mark["args"]["attempt"] == 2
        # The failed first attempt is not stored: its worker time is all the trace says.
        assert slices[trial_id]["args"]["other_jobs_worker_time_s"] > 0
    assert slices[5]["name"] == "trial 5 failed"
    assert slices[5]["args"]["error"] == "RuntimeError: attempt 2 fails"
    # A worker's gap may hold a failed attempt that is not drawn: no dispatch slices.
    assert not events(trace, "X", "dispatch")
    assert trace["otherData"]["dispatch"].startswith("not drawn")
    assert trace["otherData"]["searcher_time_s"] == result.searcher_time


def test_each_worker_has_a_track_and_the_driver_a_dispatch_track() -> None:
    # No job waits in the threads' queue, so that each worker waits for the driver's next.
    threads = Threads(3, pacing=Pacing(queue_ahead_below=0.0))
    result = pt.tune(
        lambda c: c["x"], {"x": pt.Float(0, 1)}, executor=threads, max_trials=12, store=None
    )
    trace = valid(build_trace(result))
    trials = result.trial_list
    assert_slices_match_the_store(trace, trials)
    names = thread_names(trace)
    workers = {k: v for k, v in names.items() if k[0] != DRIVER_PID}
    assert sorted(workers.values()) == ["worker 0", "worker 1", "worker 2"]
    assert names[(DRIVER_PID, DRIVER_TID)] == "driver"
    processes = {e["pid"]: e["args"]["name"] for e in events(trace, "M", "process_name")}
    assert processes[DRIVER_PID] == "driver" and len(processes) == 2
    submits = events(trace, "i")
    assert sorted(e["args"]["trial_id"] for e in submits) == list(range(12))
    assert all(where(e) == (DRIVER_PID, DRIVER_TID) for e in submits)
    dispatch = events(trace, "X", "dispatch")
    assert dispatch and all(where(e) == (DRIVER_PID, DRIVER_TID) for e in dispatch)
    # Each wait of a worker between its job's end and its next submission is covered.
    by_worker: dict[int | None, list[Trial]] = defaultdict(list)
    for trial in sorted(trials, key=lambda t: t.started or 0.0):
        by_worker[trial.worker].append(trial)
    for ran in by_worker.values():
        for before, after in itertools.pairwise(ran):
            assert before.finished is not None and after.submitted is not None
            if after.submitted > before.finished:
                start, end = before.finished * 1e6, after.submitted * 1e6
                assert any(
                    e["ts"] <= start + 1e-3 and end <= e["ts"] + e["dur"] + 1e-3 for e in dispatch
                )
    assert trace["otherData"]["dispatch"] == "drawn"


def rungs(config: dict[str, Any], ctx: pt.Context) -> float:
    """Trains epoch by epoch from its checkpoint, one virtual second an epoch."""
    loss = ctx.load_checkpoint() or 1.0
    assert ctx.budget is not None  # a multi-fidelity scheduler gives every job one
    for epoch in range(ctx.start_step, int(ctx.budget)):
        ctx.elapse(1.0)
        loss = config["x"] / (epoch + 1)
        ctx.report(epoch + 1, loss=loss)
    ctx.save_checkpoint(loss)
    return float(loss)


@pytest.fixture(scope="module")
def asha_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("asha") / "runs.db"
    pt.tune(
        rungs, {"x": pt.Float(0, 1)}, metric="loss", scheduler=ASHA, executor="simulated",
        workers=3, max_trials=12, seed=1, store=store, name="asha",
    )  # fmt: skip
    return store


def test_promotions_are_instants_and_rungs_indexes_with_the_stored_settings(
    asha_store: Path,
) -> None:
    result = pt.load(asha_store, "asha")
    trace = valid(build_trace(result, stored_settings(asha_store, "asha")))
    trials = result.trial_list
    assert_slices_match_the_store(trace, trials)
    budgets: list[float | None] = [1, 3, 9]
    slices = trial_slices(trace)
    for trial in trials:
        assert slices[trial.trial_id]["args"]["rung"] == budgets.index(trial.budget)
    promoted = {e["args"]["trial_id"]: e for e in events(trace, "i", "promoted")}
    assert sorted(promoted) == [t.trial_id for t in trials if t.budget != 1]
    assert promoted, "the run promotes some trials"
    for trial_id, mark in promoted.items():
        trial = trials[trial_id]
        assert trial.submitted is not None
        assert where(mark) == where(slices[trial_id])
        assert mark["ts"] == pytest.approx(trial.submitted * 1e6)
        assert mark["args"]["rung"] == budgets.index(trial.budget)
    # The lower rungs' jobs are not stored: their reports (the steps before the promoted
    # job resumed from its checkpoint) go to the driver's thread of jobs not drawn.
    undrawn = [e for e in events(trace, "i") if where(e) == (DRIVER_PID, UNDRAWN_TID)]
    assert {e["args"]["trial_id"] for e in undrawn} == set(promoted)
    assert thread_names(trace)[(DRIVER_PID, UNDRAWN_TID)] == "reports of jobs not drawn"
    for report in events(trace, "i", "report"):
        job = slices[report["args"]["trial_id"]]
        assert where(report) == where(job)
        assert job["ts"] <= report["ts"] <= job["ts"] + job["dur"] + 1e-3
    assert not events(trace, "X", "dispatch")


def test_without_the_settings_a_promotion_is_a_continuation_and_a_rung_its_budget(
    asha_store: Path,
) -> None:
    result = pt.load(asha_store, "asha")
    trace = valid(build_trace(result))
    continued = {e["args"]["trial_id"] for e in events(trace, "i", "continued")}
    assert continued == {t.trial_id for t in result.trial_list if t.budget != 1}
    assert not events(trace, "i", "promoted")
    assert {e["args"]["rung"] for e in trial_slices(trace).values()} == {1, 3, 9}


def test_a_promotion_a_stop_cancelled_is_not_drawn_and_its_reports_are_apart(
    tmp_path: Path,
) -> None:
    pt.tune(
        rungs, {"x": pt.Float(0, 1)}, metric="loss", scheduler=ASHA, executor="simulated",
        workers=3, max_time=7.5, seed=1, store=tmp_path / "cut.db", name="cut",
    )  # fmt: skip
    result = pt.load(tmp_path / "cut.db", "cut")
    trace = valid(build_trace(result))
    assert_slices_match_the_store(trace, result.trial_list)
    slices = trial_slices(trace)
    # The store put such a trial back where it stood; its later job's reports remain.
    cut = {
        r.trial_id
        for r in result.report_list
        if r.time > (result.trial_list[r.trial_id].finished or 0.0) + 1e-9
    }
    assert cut, "the stop cancels a promotion that had reported"
    for trial_id in cut:
        assert slices[trial_id]["args"]["other_jobs_worker_time_s"] > 0
        later = [e for e in events(trace, "i") if e["args"]["trial_id"] == trial_id
                 and e["ts"] > slices[trial_id]["ts"] + slices[trial_id]["dur"]]  # fmt: skip
        assert later and all(where(e) == (DRIVER_PID, UNDRAWN_TID) for e in later)
    # Its worker time beyond the drawn job is not read as a run before it: some came after.
    assert not cut & {e["args"]["trial_id"] for e in events(trace, "i", "continued")}


def test_pruned_and_cancelled_trials_are_instants_at_their_end(tmp_path: Path) -> None:
    stopping = {**ASHA, "stopping": True}
    pruned = pt.tune(
        rungs, {"x": pt.Float(0, 1)}, metric="loss", scheduler=stopping, executor="simulated",
        workers=3, max_trials=9, seed=2, store=tmp_path / "p.db", name="p",
    )  # fmt: skip
    trace = valid(build_trace(pruned, stored_settings(tmp_path / "p.db", "p")))
    assert_slices_match_the_store(trace, pruned.trial_list)
    stops = {e["args"]["trial_id"]: e for e in events(trace, "i", "pruned")}
    stopped = [t for t in pruned.trial_list if t.status is Status.PRUNED]
    assert stopped and sorted(stops) == [t.trial_id for t in stopped]
    slices = trial_slices(trace)
    for trial in stopped:
        mark, job = stops[trial.trial_id], slices[trial.trial_id]
        assert where(mark) == where(job) and mark["args"]["step"] == trial.budget
        assert ns(mark["ts"]) == ns(job["ts"]) + ns(job["dur"])
        assert job["args"]["rung"] in (0, 1)  # stopped at a rung's step: its index
    assert not events(trace, "i", "promoted")  # the stopping variant continues nothing

    def slow_unless_low(config: dict[str, Any], ctx: pt.Context) -> float:
        ctx.elapse(1.0 if config["x"] < 0.5 else 5.0)
        return float(config["x"])

    space = {"x": pt.Choice([0.1, 0.9, 0.8])}
    cut = pt.tune(
        slow_unless_low, space, searcher="grid", executor="simulated", workers=3,
        target=0.2, store=None,
    )  # fmt: skip
    cancelled = [t for t in cut.trial_list if t.status is Status.CANCELLED]
    assert len(cancelled) == 2
    trace = valid(build_trace(cut))
    marks = {e["args"]["trial_id"]: e for e in events(trace, "i", "cancelled")}
    assert sorted(marks) == [t.trial_id for t in cancelled]
    for trial in cancelled:
        assert trial.finished is not None
        assert where(marks[trial.trial_id]) == where(trial_slices(trace)[trial.trial_id])
        assert marks[trial.trial_id]["ts"] == pytest.approx(trial.finished * 1e6)


def test_a_run_on_several_hosts_has_a_process_per_host() -> None:
    def job(trial_id: int, host: str, worker: int, start: float) -> Trial:
        return Trial(
            trial_id=trial_id, config={"x": trial_id}, seed=trial_id, status=Status.DONE,
            value=float(trial_id), submitted=start, started=start, finished=start + 1.0,
            worker_time=1.0, worker=worker, host=host,
        )  # fmt: skip

    trials = [job(0, "b", 0, 0.0), job(1, "a", 0, 0.0), job(2, "a", 1, 0.5), job(3, "b", 0, 1.0)]
    result = TuneResult(
        trial_list=trials, metric="value", mode="min", workers=3, wall_time=2.0,
        busy_time=4.0, cancelled_time=0.0, stop_reason=StopReason.MAX_TRIALS,
    )  # fmt: skip
    trace = valid(build_trace(result))
    processes = {e["pid"]: e["args"]["name"] for e in events(trace, "M", "process_name")}
    assert sorted(processes.values()) == ["driver", "host a", "host b"]
    threads = defaultdict(list)
    for (pid, _), name in thread_names(trace).items():
        threads[processes[pid]].append(name)
    assert sorted(threads["host a"]) == ["worker 0", "worker 1"]
    assert threads["host b"] == ["worker 0"]
    slices = trial_slices(trace)
    assert where(slices[0]) == where(slices[3]) != where(slices[1])
    assert processes[slices[2]["pid"]] == "host a"
    assert_no_overlap(events(trace, "X"))


def test_the_ladder_is_read_from_every_way_a_scheduler_is_stored() -> None:
    repr_ = "ASHA(budget='epochs', min_budget=1, max_budget=9, eta=3, stopping=False)"
    for stored in ("asha", ASHA, repr_, pt.schedulers.ASHA("epochs", 1, 9, 3)):
        ladder = scheduler_ladder({"scheduler": stored})
        assert isinstance(ladder, Ladder)
        if stored != "asha":
            assert ladder.budgets == (1.0, 3.0, 9.0) and ladder.continues
            assert ladder.rung(3.0) == 1 and ladder.rung(2.0) is None
    hyperband = scheduler_ladder({"scheduler": {"type": "hyperband", "max_budget": 8}})
    assert hyperband is not None
    assert {hyperband.start_rung(i) for i in range(40)} == {0, 1, 2}  # its brackets
    stopping = scheduler_ladder({"scheduler": {**ASHA, "stopping": True}})
    assert stopping is not None and not stopping.continues
    for unread in ("fifo", "Mine(x=1)", "ASHA(min_budget=f())", "ASHA(", None):
        assert scheduler_ladder({"scheduler": unread}) is None
    assert scheduler_ladder(None) is None
    assert Track(1, 2).tid == 2


def test_the_command_line_writes_a_trace_that_parses(
    asha_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    arguments = ["export", "asha", "--format", "trace", "--store", str(asha_store)]
    done = CliRunner().invoke(cli, arguments)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "asha.trace.json"
    trace = valid(json.loads((tmp_path / "asha.trace.json").read_text()))
    assert_slices_match_the_store(trace, pt.load(asha_store, "asha").trial_list)
    assert events(trace, "i", "promoted")  # the stored settings gave the ladder
    assert trace["displayTimeUnit"] == "ms"
    assert "searcher_time_s" not in trace["otherData"]  # a stored run does not keep it
    path = export_trials(pt.load(asha_store, "asha"), tmp_path / "run.trace.json")
    assert trial_slices(valid(json.loads(path.read_text()))).keys() == trial_slices(trace).keys()
