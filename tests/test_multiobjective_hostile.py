"""Runs with several metrics or constraints treated as a hostile user would: drivers killed
in the middle of multi-fidelity and NSGA-II runs and resumed, garbage results, odd metric
names, degenerate runs, and a second driver on the same experiment. Real processes and real
SQLite files throughout."""

from __future__ import annotations

import json
import runpy
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import paratune as pt
from paratune import _coverage, analysis, plots
from paratune.cli import cli
from paratune.dashboard._reader import NotFound, Reader
from paratune.errors import StoreError
from paratune.pareto import dominates, hypervolume, pareto_order

from ._wait import wait_until
from .faults.drivers import driver, finish
from .faults.harness import DEADLINE, env
from .faults.store_view import Snapshot, count_lines, snapshot

OBJECTIVE = """
\"\"\"Two metrics in tension and a constrained one. While the file "hold" exists, a job above
budget 1 (train), or any job once HOLD_AFTER have ended (fit), waits for it to go.\"\"\"

import os
import time

from tests._wait import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
HOLD_AFTER = 26


def metrics(config, budget):
    \"\"\"The result at ``budget`` epochs: every metric depends on the budget.\"\"\"
    x, w = config["x"], config["w"]
    return {
        "error": (x - 0.3) ** 2 + 1 / budget + 0.3 / w,
        "latency": 10 * w + x * budget,
        "memory": 100 * x,
    }


def _append(name, line):
    fd = os.open(os.path.join(HERE, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)


def _ended():
    try:
        with open(os.path.join(HERE, "ended.log"), "rb") as log:
            return log.read().count(b"\\n")
    except FileNotFoundError:
        return 0


def _hold(ctx, name="hold"):
    hold = os.path.join(HERE, name)
    if os.path.exists(hold):
        _append("held.log", f"{ctx.trial_id},{ctx.budget}")
        wait_until(lambda: not os.path.exists(hold), 60, "the hold file to go")


def train(config, ctx):
    \"\"\"Reports the error alone each epoch, as training loops do; returns every metric. Above
    budget 1, waits before training while "hold" exists, and after it while "hold-after"
    does.\"\"\"
    if ctx.budget > 1:
        _hold(ctx)
    for epoch in range(ctx.start_step, int(ctx.budget)):
        ctx.report(epoch + 1, error=metrics(config, epoch + 1)["error"])
    if ctx.budget > 1:
        _hold(ctx, "hold-after")
    return metrics(config, int(ctx.budget))


def fit(config, ctx):
    \"\"\"One evaluation at the full budget, of 20 ms: long enough that the process executor
    sends each job alone, and so hands each result back as soon as it ends.\"\"\"
    time.sleep(0.02)
    if _ended() >= HOLD_AFTER:
        _hold(ctx)
    _append("ended.log", str(ctx.trial_id))
    return metrics(config, 9)
"""

DRIVE = '''
"""Runs multi-objective ASHA whose every promotion is checked against the rule, worked out
from scratch from the true results of the trials the scheduler was told of."""

import sys

import paratune as pt
from paratune.objectives import Objectives
from paratune.pareto import pareto_order
from paratune.schedulers import ASHA

from hostile_objective import metrics, train

GOALS = Objectives.of(["error", "latency"], "min", {"memory": ("<=", 80)})


class CheckedASHA(ASHA):
    def __init__(self):
        super().__init__(budget="epochs", min_budget=1, max_budget=9, eta=3)
        self.at, self.configs = {}, {}

    def on_result(self, trial):
        if trial.status is pt.Status.DONE and trial.budget in (1, 3, 9):
            self.at.setdefault(trial.budget, set()).add(trial.trial_id)
            self.configs[trial.trial_id] = trial.config
        super().on_result(trial)

    def next_job(self, suggest):
        job = super().next_job(suggest)
        if job is not None and job.trial_id is not None:
            below = job.budget // 3
            ids = sorted(self.at[below])
            results = [metrics(self.configs[i], below) for i in ids]
            losses = [GOALS.losses(r) for r in results]
            order = [ids[k] for k in pareto_order(losses, [GOALS.violation(r) for r in results])]
            if job.trial_id not in order[: len(ids) // 3]:
                with open("violations.log", "a") as out:
                    out.write(f"{job.trial_id} to {job.budget}: top {order[: len(ids) // 3]}\\n")
        return job


pt.tune(train, {"x": pt.Float(0, 1), "w": pt.Int(1, 8)}, metric=list(GOALS.metrics),
        constraints={"memory": ("<=", 80)}, scheduler=CheckedASHA(), executor="processes",
        workers=2, max_trials=18, seed=3, store="sqlite:///runs.db", name="mo",
        resume=sys.argv[1] == "resume", progress=False)
'''

SPEC = """\
name: mo
objective: hostile_objective:fit
space: {x: {type: float, low: 0, high: 1}, w: {type: int, low: 1, high: 8}}
metric: [error, latency]
constraints: {memory: ["<=", 80]}
searcher: nsga2
executor: processes
workers: 2
max_trials: 40
seed: 5
"""

GOALS = pt.objectives.Objectives.of(["error", "latency"], "min", {"memory": ("<=", 80)})


def kill_once_held(
    folder: Path, args: Sequence[str], ready: Callable[[Snapshot], bool], what: str
) -> Snapshot:
    """Run a driver until a job waits on the hold file and the store is ``ready``, SIGKILL
    it, and take the file away; returns what the store held when it was killed."""
    (folder / "hold").touch()
    with driver(folder, args) as process:
        wait_until(
            lambda: (
                (
                    count_lines(folder / "held.log") >= 1
                    and ready(snapshot(folder / "runs.db", "mo"))
                )
                or process.poll() is not None
            ),
            DEADLINE,
            f"a job held and {what}, or the driver's exit",
        )
        assert process.poll() is None, (folder / "driver.err").read_text()
        process.send_signal(signal.SIGKILL)
    (folder / "hold").unlink()
    return snapshot(folder / "runs.db", "mo")


def front_by_definition(trials: list[pt.Trial]) -> set[int]:
    """The DONE feasible trials that no other such trial dominates, pair by pair."""
    feasible = {
        t.trial_id: GOALS.losses(t.metrics)
        for t in trials
        if t.status is pt.Status.DONE and GOALS.violation(t.metrics) == 0
    }
    return {
        i
        for i, mine in feasible.items()
        if mine is not None and not any(dominates(o, mine) for o in feasible.values() if o)
    }


def objective_module(folder: Path) -> None:
    (folder / "hostile_objective.py").write_text(textwrap.dedent(OBJECTIVE))


def test_asha_killed_with_promotions_in_flight_resumes_by_the_rule(tmp_path: Path) -> None:
    objective_module(tmp_path)
    (tmp_path / "drive.py").write_text(textwrap.dedent(DRIVE))
    kill_once_held(
        tmp_path,
        ["drive.py", "run"],
        lambda store: any(t.status == "running" and t.budget == 3 for t in store.trials.values()),
        "a promotion stored as running",
    )
    finish(tmp_path, ["drive.py", "resume"])
    assert_asha_kept_its_rule(tmp_path)


def assert_asha_kept_its_rule(folder: Path) -> None:
    """The checked ASHA run of ``folder``, ended: no promotion broke the rule; every trial
    is done; the front is the front by definition; each rung result holds every metric as
    it was at that rung (though the objective reported the error alone, and promotions
    retrained from the first epoch); and the first third of each rung's results, in the
    rule's order, went up from it, as a run that promotes while it can leaves them."""
    assert not (folder / "violations.log").exists(), (folder / "violations.log").read_text()
    result = pt.load(str(folder / "runs.db"), "mo")
    trials = result.trial_list
    assert [t.trial_id for t in trials] == list(range(18))
    assert all(t.status is pt.Status.DONE and t.budget is not None for t in trials)
    assert set(result.pareto_front["trial_id"]) == front_by_definition(trials)
    metrics = runpy.run_path(str(folder / "hostile_objective.py"))["metrics"]
    reports = snapshot(folder / "runs.db", "mo").reports
    for rung in (1, 3):
        reached = [t for t in trials if (t.budget or 0) >= rung]
        for trial in reached:
            assert reports[(trial.trial_id, rung)] == metrics(trial.config, rung)
        results = [metrics(t.config, rung) for t in reached]
        losses = np.array([GOALS.losses(r) for r in results], dtype=np.float64)
        order = pareto_order(losses, np.array([GOALS.violation(r) for r in results]))
        assert all((reached[k].budget or 0) > rung for k in order[: len(reached) // 3])


def test_asha_interrupted_in_a_promotion_promotes_that_trial_again_on_resume(
    tmp_path: Path,
) -> None:
    objective_module(tmp_path)
    (tmp_path / "drive.py").write_text(textwrap.dedent(DRIVE))
    (tmp_path / "hold-after").touch()  # a promotion waits once it has reported every epoch
    with driver(tmp_path, ["drive.py", "run"]) as process:
        wait_until(
            lambda: (
                count_lines(tmp_path / "held.log") >= 1
                and any(step == 3 for _, step in snapshot(tmp_path / "runs.db", "mo").reports)
            ),
            DEADLINE,
            "a promotion held after it reported epoch 3",
        )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, (tmp_path / "driver.err").read_text()
    (tmp_path / "hold-after").unlink()
    stopped = snapshot(tmp_path / "runs.db", "mo")
    held = int((tmp_path / "held.log").read_text().split(",")[0])
    assert (stopped.trials[held].budget, (held, 3) in stopped.reports) == (1, True)
    finish(tmp_path, ["drive.py", "resume"])
    assert_asha_kept_its_rule(tmp_path)


def reports_error_alone(config: dict[str, float], ctx: pt.Context) -> dict[str, float]:
    """The error each epoch (reported alone), and at the end every metric at the budget."""
    budget = int(ctx.budget or 1)
    for epoch in range(ctx.start_step, budget):
        ctx.report(epoch + 1, error=(config["x"] - 0.1) ** 2 + 1 / (epoch + 1))
    return {"error": (config["x"] - 0.1) ** 2 + 1 / budget, "latency": config["w"] * budget}


def test_resuming_a_finished_asha_run_promotes_nothing_more(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    run = dict(
        metric=["error", "latency"],
        scheduler={"type": "asha", "budget": "epochs", "min_budget": 1, "max_budget": 9},
        executor="simulated", workers=3, max_trials=20, seed=0, store=store, name="done",
    )  # fmt: skip
    space = {"x": pt.Float(0, 1), "w": pt.Int(8, 64)}
    first = pt.tune(reports_error_alone, space, **run)  # type: ignore[arg-type]
    again = pt.tune(reports_error_alone, space, resume=True, **run)  # type: ignore[arg-type]
    assert {t.trial_id: t.budget for t in again.trial_list} == {
        t.trial_id: t.budget for t in first.trial_list
    }
    assert max(t.budget or 0 for t in first.trial_list) == 9  # promotions happened


def test_nsga2_killed_and_resumed_on_the_command_line_loses_no_trial(tmp_path: Path) -> None:
    objective_module(tmp_path)
    (tmp_path / "mo.yaml").write_text(SPEC)
    run = ["-m", "paratune", "run", "mo.yaml", "--store", "runs.db", "-q"]
    # Killed past the first population (24), while children bred from it run.
    killed = kill_once_held(
        tmp_path,
        run,
        lambda store: sum(t.status == "done" for t in store.trials.values()) >= 26,
        "26 trials done",
    )
    assert any(row.status == "running" for row in killed.trials.values())
    finish(tmp_path, ["-m", "paratune", "resume", "mo", "--store", "runs.db", "-q"])
    result = pt.load(str(tmp_path / "runs.db"), "mo")
    trials = result.trial_list
    assert [t.trial_id for t in trials] == list(range(40))
    assert all(t.status is pt.Status.DONE for t in trials)
    assert set(result.pareto_front["trial_id"]) == front_by_definition(trials)
    assert {t.trial_id for t in result.best_trials} == front_by_definition(trials)


GARBAGE: list[dict[str, Any]] = [
    {"latency": 10**400},
    {"memory": 10**400},
    {"latency": np.array(2.0)},
    {"latency": float("nan")},
    {"memory": float("inf")},
    {"latency": "fast"},
    {"latency": True},
    {"latency": None},
    {"latency": [1, 2]},
    {"latency": "y" * 10_000},
]
"""What trials 0 to 9 return in place of a tuned or constrained metric; trial 10 returns
no latency at all."""


def garbage(config: dict[str, Any], ctx: pt.Context) -> dict[str, Any]:
    """Every metric, but garbage in one of them for the first trials; NumPy scalars and
    extra metrics for the rest."""
    x = config["x"]
    result: dict[str, Any] = {
        "error": np.float32(x),
        "latency": np.float64((1 - x) ** 2),
        "memory": np.int64(round(100 * x)),
        "note": "text",
        "curve": [1.0, 2.0],
    }
    if ctx.trial_id < len(GARBAGE):
        result.update(GARBAGE[ctx.trial_id])
    elif ctx.trial_id == len(GARBAGE):
        del result["latency"]
    return result


def invoke(*args: str) -> str:
    """Run the command line in this process; it must succeed."""
    done = CliRunner().invoke(cli, list(args))
    assert done.exit_code == 0 and done.exception is None, done.output
    return done.output


def test_garbage_in_a_metric_fails_its_trial_alone_and_every_view_still_works(
    tmp_path: Path,
) -> None:
    store = str(tmp_path / "runs.db")
    result = pt.tune(garbage, {"x": pt.Float(0, 1)}, metric=["error", "latency"],
                     constraints={"memory": ("<=", 80)}, executor="serial", max_trials=30,
                     store=store, name="g", seed=0, progress=False)  # fmt: skip
    for loaded in (result, pt.load(store, "g")):
        trials = loaded.trial_list
        broken = trials[: len(GARBAGE) + 1]
        assert all(t.status is pt.Status.FAILED and t.value is None for t in broken)
        assert all(len(t.error or "") < 200 for t in broken)
        assert "'latency'" in (broken[0].error or "") and "too large" in (broken[0].error or "")
        assert all(t.status is pt.Status.DONE for t in trials[len(GARBAGE) + 1 :])
        assert set(loaded.pareto_front["trial_id"]) == front_by_definition(trials)
        curve = analysis.hypervolume_curve(loaded)  # one point per ended trial
        assert len(curve) == 30 and curve["hypervolume"].iloc[-1] > 0
        assert set(analysis.reference_point(loaded)) == {"error", "latency"}
        assert plots.plot_pareto_front(loaded).axes and plots.plot_hypervolume(loaded).axes
    front = len(front_by_definition(result.trial_list))
    assert f"front {front} (min error, min latency)" in invoke("status", "--store", store)
    assert f"front      {front} trials" in invoke("status", "g", "--store", store)
    invoke("report", "g", "--store", store, "--out", str(tmp_path / "report"))
    for kind in ("csv", "json", "parquet", "trace"):
        invoke("export", "g", "--format", kind, "--store", store, "--out", str(tmp_path / kind))
        assert (tmp_path / kind).stat().st_size > 0


def ten_metrics(config: dict[str, float]) -> dict[str, float]:
    """Ten metrics at odds: most trials of a run are on its front."""
    x, y = config["x"], config["y"]
    return {f"m{i}": ((i + 1) * x + (10 - i) * y) % 1.0 for i in range(10)}


def test_ten_metrics_give_a_curve_and_views_at_the_cost_of_one_estimate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "runs.db")
    metrics = [f"m{i}" for i in range(10)]
    result = pt.tune(ten_metrics, {"x": pt.Float(0, 1), "y": pt.Float(0, 1)}, metric=metrics,
                     mode=["min", "max"] * 5, executor="serial", max_trials=200, seed=1,
                     store=store, name="ten", progress=False)  # fmt: skip
    assert len(result.pareto_front) > 60  # past exact volumes: 60 ** 8 slices
    boxes: list[int] = []
    made = _coverage.Coverage.__init__

    def counted(box: _coverage.Coverage, *args: Any) -> None:
        boxes.append(1)
        made(box, *args)

    monkeypatch.setattr(_coverage.Coverage, "__init__", counted)
    frame = analysis.hypervolume_curve(result)
    assert len(boxes) == 2  # the curve's one box, and the whole front's volume at its end
    curve = frame["hypervolume"].to_numpy()
    assert np.all(np.diff(curve) >= 0)
    summary = json.loads(invoke("status", "ten", "--store", store, "--json"))
    assert curve[-1] == summary["hypervolume"] and summary["front_size"] == len(
        result.pareto_front
    )
    # Halfway, the curve's estimate is the volume of the front then, within the estimates'
    # error (each about 0.5%).
    half = len(curve) // 2
    _, losses, _ = result.goals.of_trials(result.trial_list[: frame["trials"][half]])
    bound = np.array(list(analysis.reference_point(result).values())) * result.goals.signs
    assert curve[half] == pytest.approx(hypervolume(losses, bound), rel=0.02)
    assert f"front {len(result.pareto_front)} (min m0" in invoke("status", "--store", store)
    reader = Reader(Path(store), refresh_every=0, cpu_share=None)
    try:
        assert len(json.loads(reader.experiment("ten", None))["front"]) == summary["front_size"]
    finally:
        reader.close()


def opened(store: Path) -> Reader | None:
    """A dashboard's reader of ``store``, or None while the driver has not made it whole
    (no file yet, or an empty one)."""
    try:
        return Reader(store, refresh_every=0, cpu_share=None)
    except StoreError:
        return None


def test_the_dashboard_follows_a_run_of_several_metrics_and_a_second_driver_is_refused(
    tmp_path: Path,
) -> None:
    objective_module(tmp_path)
    (tmp_path / "mo.yaml").write_text(SPEC)
    store = tmp_path / "runs.db"
    (tmp_path / "hold").touch()  # every job waits once 26 have ended
    seen: dict[str, Any] = {"cursor": None}

    def look(reader: Reader) -> dict[str, Any]:
        """Poll as a page does: what changed since the cursor, the front when it changed
        (nothing while the experiment is not in the store yet)."""
        try:
            answer: dict[str, Any] = json.loads(reader.experiment("mo", seen["cursor"]))
        except NotFound:
            return {"experiment": {"done": 0, "state": "new"}}
        seen["cursor"] = answer["cursor"]
        seen.update(front=answer.get("front", seen.get("front")), state=answer["experiment"])
        return answer

    def done_by_definition() -> set[int]:
        return front_by_definition(pt.load(str(store), "mo").trial_list)

    with driver(tmp_path, ["-m", "paratune", "run", "mo.yaml", "--store", "runs.db", "-q"]):
        reader = wait_until(lambda: opened(store), DEADLINE, "the store's schema")
        assert reader is not None
        try:
            wait_until(lambda: look(reader)["experiment"]["done"] >= 26, DEADLINE, "26 done")
            assert seen["state"]["state"] == "running"
            assert {point[0] for point in seen["front"]} == done_by_definition()
            # A second driver on the experiment is refused, by name, and changes nothing.
            for again in (["run", "mo.yaml"], ["resume", "mo"]):
                second = subprocess.run(
                    [sys.executable, "-m", "paratune", *again, "--store", "runs.db", "-q"],
                    cwd=tmp_path, env=env("second"), capture_output=True, text=True,
                    timeout=DEADLINE,
                )  # fmt: skip
                assert second.returncode == 1 and "being run by another driver" in second.stderr
            (tmp_path / "hold").unlink()
            wait_until(lambda: look(reader)["experiment"]["state"] == "ended", DEADLINE, "end")
        finally:
            reader.close()
    assert seen["state"]["done"] == 40
    assert {point[0] for point in seen["front"]} == done_by_definition()


def two_metrics(config: dict[str, float]) -> dict[str, float]:
    """An error, a latency and a memory."""
    return {"error": config["x"], "latency": 1 - config["x"], "memory": 3.0}


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"mode": ["min", "min"]}, "modes ['min', 'min'] (stored: ['min', 'max'])"),
        ({"constraints": {"memory": ("<=", 6)}}, "constraints {'memory': ['<=', 6.0]} (stored"),
        ({"constraints": {"memory": (">=", 5)}}, "constraints {'memory': ['>=', 5.0]} (stored"),
        ({"constraints": None}, "constraints {} (stored: {'memory': ['<=', 5.0]})"),
        ({"metric": ["latency", "error"], "mode": ["max", "min"]}, "metrics ['latency', 'error']"),
        ({"metric": "error", "mode": "min"}, "metrics ['error'] (stored: ['error', 'latency'])"),
    ],
)
def test_resuming_with_other_objectives_is_refused_naming_the_difference(
    tmp_path: Path, changed: dict[str, Any], named: str
) -> None:
    setup: dict[str, Any] = dict(
        metric=["error", "latency"], mode=["min", "max"], constraints={"memory": ("<=", 5)},
        executor="serial", max_trials=3, store=str(tmp_path / "runs.db"), name="e", seed=0,
        progress=False,
    )  # fmt: skip
    pt.tune(two_metrics, {"x": pt.Float(0, 1)}, **setup)
    with pytest.raises(StoreError, match="another setup") as refused:
        pt.tune(two_metrics, {"x": pt.Float(0, 1)}, resume=True, **{**setup, **changed})
    assert named in str(refused.value)
    same = {**setup, "max_trials": 5, "constraints": {"memory": ("<=", 5.0)}}  # 5 is 5.0
    assert len(pt.tune(two_metrics, {"x": pt.Float(0, 1)}, resume=True, **same).trial_list) == 5


def test_an_experiment_of_one_metric_resumes_and_refuses_several(tmp_path: Path) -> None:
    setup: dict[str, Any] = dict(
        executor="serial", store=str(tmp_path / "runs.db"), name="old", seed=0, progress=False
    )
    space = {"x": pt.Float(0, 1)}
    pt.tune(lambda config: config["x"], space, max_trials=3, **setup)
    setup["max_trials"] = 5
    resumed = pt.tune(lambda config: config["x"], space, resume=True, **setup)
    assert len(resumed.trial_list) == 5 and resumed.best_value is not None
    with pytest.raises(StoreError, match=r"metrics \['error', 'latency'\] \(stored: \['value'\]"):
        pt.tune(two_metrics, space, metric=["error", "latency"], resume=True, **setup)
    with pytest.raises(
        StoreError, match=r"constraints \{'memory': \['<=', 5.0\]\} \(stored: \{\}"
    ):
        pt.tune(lambda config: config["x"], space, constraints={"memory": ("<=", 5)},
                resume=True, **setup)  # fmt: skip


def near_the_largest_float(config: dict[str, float]) -> dict[str, float]:
    """Finite metrics whose front dominates more than the largest float."""
    return {"error": 1e308 * config["x"], "latency": 1e308 * config["x"] ** 2}


def test_a_volume_past_the_largest_float_is_inf_without_a_warning(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    result = pt.tune(near_the_largest_float, {"x": pt.Float(0, 1)}, metric=["error", "latency"],
                     mode=["min", "max"], executor="serial", max_trials=8, store=store,
                     name="huge", seed=0, progress=False)  # fmt: skip
    assert len(result.pareto_front) == 8  # each trial trades one metric for the other
    assert analysis.hypervolume_curve(result)["hypervolume"].iloc[-1] == np.inf
    assert "hypervolume inf" in invoke("status", "huge", "--store", store)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("mode: [min]", "mode must have one entry per metric: 2 metrics (error, latency), 1"),
        ("mode: [min, max, min]", "2 metrics (error, latency), 3 modes"),
        ("mode: {error: min}", "mode must give a mode for each metric"),
        ("mode: MIN", "mode must be 'min' or 'max', got 'MIN'"),
        ('constraints: {memory: ["<=", "50"]}', "a finite number, got ['<=', '50']"),
        ('constraints: {memory: "<= 50"}', "got '<= 50'"),
        ('constraints: {memory: ["<", 50]}', "the operator '<=' or '>='"),
        ('constraints: {memory: ["<=", .inf]}', "a finite number, got ['<=', inf]"),
        ("metric: [error, error]", "metric names a metric twice"),
    ],
)
def test_a_spec_with_bad_objectives_is_refused_by_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, says: str
) -> None:
    objective_module(tmp_path)
    key = line.partition(":")[0] + ":"
    lines = [kept for kept in SPEC.splitlines() if not kept.startswith(key)] + [line]
    (tmp_path / "mo.yaml").write_text("\n".join(lines))
    asked = [
        kept for kept in lines if not kept.startswith(("objective:", "executor:", "workers:"))
    ]
    (tmp_path / "ask.yaml").write_text("\n".join(asked))
    monkeypatch.chdir(tmp_path)
    store = ["--store", "runs.db"]
    for command in (["run", "mo.yaml", *store, "-q"], ["ask", "ask.yaml", *store]):
        done = CliRunner().invoke(cli, command)
        assert done.exit_code == 1 and says in done.output, done.output
        assert isinstance(done.exception, SystemExit)  # an error message, no traceback


def degenerate(config: dict[str, Any]) -> dict[str, float]:
    """What ``kind`` asks for: every trial failed, every trial infeasible, or every trial
    with the same results; else two metrics in tension."""
    if config["kind"] == "failed":
        raise RuntimeError("fails on purpose")
    memory = 100.0 if config["kind"] == "infeasible" else 1.0
    if config["kind"] == "identical":
        return {"error": 0.5, "latency": 2.0, "memory": memory}
    return {"error": config["x"], "latency": 1 - config["x"], "memory": memory}


@pytest.mark.parametrize(
    ("name", "trials", "front"),
    [("failed", 4, 0), ("infeasible", 4, 0), ("identical", 4, 4), ("one", 1, 1)],
)
def test_degenerate_runs_have_a_front_a_status_and_figures(
    tmp_path: Path, name: str, trials: int, front: int
) -> None:
    store = str(tmp_path / "runs.db")
    space = {"x": pt.Float(0, 1), "kind": pt.Choice([name])}
    result = pt.tune(degenerate, space, metric=["error", "latency"],
                     mode=["min", "max"], constraints={"memory": ("<=", 50)}, searcher="nsga2",
                     executor="serial", max_trials=trials, store=store, name=name, seed=0,
                     progress=False)  # fmt: skip
    assert len(result.pareto_front) == len(result.best_trials) == front
    assert len(analysis.hypervolume_curve(result)) == trials
    assert plots.plot_pareto_front(result).axes and plots.plot_hypervolume(result).axes
    assert f"front {front} (min error, max latency)" in invoke("status", "--store", store)
    detail = json.loads(invoke("status", name, "--store", store, "--json"))
    assert detail["front_size"] == front and (detail["hypervolume"] is None) == (front == 0)


def test_a_constraint_on_a_tuned_metric_keeps_the_front_within_it() -> None:
    result = pt.tune(two_metrics, {"x": pt.Float(0, 1)}, metric=["error", "latency"],
                     constraints={"error": ("<=", 0.5)}, executor="serial", max_trials=20,
                     store=None, seed=0, progress=False)  # fmt: skip
    front = result.pareto_front
    assert len(front) and (front["metric.error"] <= 0.5).all()
    broken = [t for t in result.trial_list if t.metrics["error"] > 0.5]
    assert broken and all(t.status is pt.Status.DONE and t.value is None for t in broken)


NAMES = ["value", "lat ms", "ошибка.✓"]
"""Metric names a view could trip on: the trials table's own column, a space, a dot and
letters beyond ASCII."""


def oddly_named(config: dict[str, float]) -> dict[str, float]:
    """Three metrics in tension under odd names, and a constrained one named trial_id."""
    x = config["x"]
    return {NAMES[0]: x, NAMES[1]: (1 - x) ** 2, NAMES[2]: 3 * x % 1, "trial_id": 5.0}


def test_odd_metric_names_go_through_every_view(tmp_path: Path) -> None:
    store = str(tmp_path / "runs.db")
    result = pt.tune(oddly_named, {"x": pt.Float(0, 1)}, metric=NAMES, mode=["min", "min", "max"],
                     constraints={"trial_id": ("<=", 6)}, executor="serial", max_trials=12,
                     store=store, name="n m.✓", seed=0, progress=False)  # fmt: skip
    loaded = pt.load(store, "n m.✓")
    assert [f"metric.{name}" for name in NAMES] == [
        c for c in loaded.pareto_front.columns if c.startswith("metric.")
    ][:3]
    assert loaded.pareto_front["trial_id"].tolist() == result.pareto_front["trial_id"].tolist()
    assert [t.value for t in loaded.trial_list] == [t.metrics["value"] for t in loaded.trial_list]
    assert "(min value, min lat ms, max ошибка.✓)" in invoke("status", "n m.✓", "--store", store)
    invoke("export", "n m.✓", "--format", "csv", "--store", store, "--out", str(tmp_path / "c"))
    assert "metric.ошибка.✓" in (tmp_path / "c").read_text()
    reader = Reader(Path(store), refresh_every=0, cpu_share=None)
    try:
        listed = json.loads(reader.experiments())["experiments"][0]
        assert listed["metrics"] == NAMES and listed["front_size"] == len(result.pareto_front)
    finally:
        reader.close()
