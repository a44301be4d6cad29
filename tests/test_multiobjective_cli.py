"""The command line of a run with several metrics: `paratune run` (text and --json) says
the front, its hypervolume and its trials; `paratune status` lists the front's size and
details the metrics, the constraints and the hypervolume; no traceback anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import paratune as pt
from paratune.cli import cli

OBJECTIVE = """
def two(config):
    x = config["x"]
    return {"error": x, "accuracy": x * x, "memory": 10 * x}
"""

SPEC = """
objective: mo_objective:two
space:
  x: [0.2, 0.4, 0.6, 0.8]
searcher: grid
metric: [error, accuracy]
mode: [min, max]
constraints: {memory: ["<=", 7]}
executor: serial
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mo_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    done = CliRunner().invoke(cli, list(args))
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done


def test_run_prints_the_front_and_its_hypervolume(folder: Path) -> None:
    done = invoke("run", "spec.yaml", "-q")
    assert done.exit_code == 0, done.output
    # x = 0.8 breaks memory <= 7; 0.2, 0.4 and 0.6 each trade error for accuracy.
    assert "metrics: error (min), accuracy (max)" in done.output
    assert "front: 3 trials, hypervolume" in done.output
    assert "infeasible: 1 finished trial broke a constraint (memory <= 7)" in done.output
    assert '  trial 0: error 0.2, accuracy 0.04  {"x": 0.2}' in done.output
    assert "best error" not in done.output


def test_run_json_gives_the_front_in_place_of_a_best_value(folder: Path) -> None:
    done = invoke("run", "spec.yaml", "-q", "--json")
    summary = json.loads(done.output)
    assert "best_value" not in summary and summary["front_size"] == 3
    assert summary["metrics"] == ["error", "accuracy"] and summary["modes"] == ["min", "max"]
    assert summary["constraints"] == ["memory <= 7"] and summary["infeasible"] == 1
    # Reference: error 0.6 + 0.04 = 0.64; accuracy 0.04 - 0.032 = 0.008.
    assert summary["reference"] == pytest.approx({"error": 0.64, "accuracy": 0.008})
    # (0.64 - 0.2)(0.04 - 0.008) + (0.64 - 0.4)(0.16 - 0.04) + (0.64 - 0.6)(0.36 - 0.16)
    assert summary["hypervolume"] == pytest.approx(0.01408 + 0.0288 + 0.008)
    assert [t["trial_id"] for t in summary["front"]] == [0, 1, 2]
    assert summary["front"][1]["config"] == {"x": 0.4}
    assert summary["front"][1]["metrics"] == pytest.approx(
        {"error": 0.4, "accuracy": 0.16, "memory": 4.0}
    )


def test_a_run_with_no_feasible_trial_exits_non_zero_without_a_traceback(folder: Path) -> None:
    (folder / "spec.yaml").write_text(SPEC.replace('["<=", 7]', '["<=", 1]'))
    done = invoke("run", "spec.yaml", "-q")
    assert done.exit_code == 1
    assert "no trial finished with a feasible value of every metric" in done.output
    assert "Traceback" not in done.output


def test_one_metric_with_a_constraint_says_how_many_broke_it(folder: Path) -> None:
    (folder / "spec.yaml").write_text(
        SPEC.replace("[error, accuracy]", "error").replace("[min, max]", "min")
    )
    done = invoke("run", "spec.yaml", "-q")
    assert "best error: 0.2" in done.output
    assert "infeasible: 1 finished trial broke a constraint (memory <= 7)" in done.output
    assert json.loads(invoke("run", "spec.yaml", "-q", "--json").output)["infeasible"] == 1


def two(config: dict[str, float]) -> dict[str, float]:
    x = config["x"]
    return {"error": x, "accuracy": x * x, "memory": 10 * x}


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A store with a run of one metric and a run of two, the second with a constraint."""
    path = str(tmp_path / "s.db")
    space = {"x": pt.Choice([0.2, 0.4, 0.6, 0.8])}
    pt.tune(lambda c: c["x"], space, searcher="grid", store=path, name="single",
            executor="serial")  # fmt: skip
    pt.tune(two, space, searcher="grid", metric=["error", "accuracy"], mode=["min", "max"],
            constraints={"memory": ("<=", 7)}, store=path, name="double",
            executor="serial")  # fmt: skip
    pt.tune(two, space, searcher="grid", metric="accuracy", mode="max",
            constraints={"memory": ("<=", 7)}, store=path, name="bounded",
            executor="serial")  # fmt: skip
    return path


def test_status_lists_the_front_size_of_a_run_of_several_metrics(store: str) -> None:
    lines = invoke("status", "--store", store).output.splitlines()
    assert lines[1].split()[0] == "single" and lines[1].endswith("0.2 (min)")
    assert lines[2].split()[0] == "double"
    assert lines[2].endswith("front 3 (min error, max accuracy)")
    listing = json.loads(invoke("status", "--store", store, "--json").output)
    assert listing["double"]["front_size"] == 3 and listing["double"]["best_value"] is None
    assert listing["single"]["best_value"] == 0.2 and "front_size" not in listing["single"]


def test_status_of_a_run_of_several_metrics(store: str) -> None:
    text = invoke("status", "double", "--store", store).output
    assert "(min error, max accuracy)" in text
    assert "infeasible 1 finished trial broke a constraint (memory <= 7)" in text
    assert "front      3 trials, hypervolume 0.05088 (reference point: error 0.64, " in text
    assert "best " not in text
    detail = json.loads(invoke("status", "double", "--store", store, "--json").output)
    assert detail["front_size"] == 3 and detail["best_value"] is None
    assert detail["metrics"] == ["error", "accuracy"] and detail["constraints"] == ["memory <= 7"]
    assert detail["hypervolume"] == pytest.approx(0.05088)
    single = invoke("status", "single", "--store", store).output
    assert "front" not in single and "best       0.2" in single


def test_status_of_one_metric_with_a_constraint(store: str) -> None:
    text = invoke("status", "bounded", "--store", store).output
    assert "(max accuracy)" in text and "front" not in text
    assert "infeasible 1 finished trial broke a constraint (memory <= 7)" in text
    assert 'best       0.36  {"x": 0.6}' in text  # 0.8 would be best, but breaks the bound
    detail = json.loads(invoke("status", "bounded", "--store", store, "--json").output)
    assert detail["infeasible"] == 1 and detail["best_value"] == pytest.approx(0.36)
    assert "front_size" not in detail
    listing = invoke("status", "--store", store).output.splitlines()
    assert listing[3].split()[0] == "bounded" and listing[3].endswith("0.36 (max)")


def test_report_and_its_figures_for_a_run_of_several_metrics(store: str, tmp_path: Path) -> None:
    done = invoke("report", "double", "--store", store, "--out", str(tmp_path / "out"),
                  "--figures", "svg")  # fmt: skip
    assert done.exit_code == 0, done.output
    written = {Path(line).name for line in done.output.splitlines()}
    assert {"double-pareto_front.svg", "double-hypervolume.svg", "double.html"} <= written
    assert "<h2>Pareto front</h2>" in (tmp_path / "out" / "double.html").read_text()
