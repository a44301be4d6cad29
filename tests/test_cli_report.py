"""The report, export and scaling commands (and status during a run), end to end in
subprocesses."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import paratune as pt
from paratune.export import export_trials
from paratune.scaling import WARM_UP

from ._wait import wait_until
from .test_cli import run_cli

OBJECTIVE = """
import os
from tests._wait import wait_until

def loss(config, ctx):
    ctx.elapse(0.01 + 0.02 * config["x"])
    return {"loss": (config["x"] - 0.25) ** 2, "half": config["x"] / 2}

def gated(config, ctx):
    # Waits for the test to say go, so that the test sees the run while it is running.
    wait_until(lambda: os.path.exists("go"), 60, "the test to say go")
    return config["x"]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "my_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(
        "objective: my_objective:loss\n"
        "space:\n"
        "  x: {type: float, low: 0.0, high: 1.0}\n"
        "  kind: [a, b]\n"
        "metric: loss\n"
        "executor: threads\n"
        "workers: 2\n"
        "max_trials: 12\n"
        "seed: 1\n"
    )
    return tmp_path


def test_status_while_running_then_report(folder: Path) -> None:
    (folder / "gated.yaml").write_text(
        "objective: my_objective:gated\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "executor: threads\nworkers: 2\nmax_trials: 4\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen(
        [sys.executable, "-m", "paratune", "run", "gated.yaml", "-q", "--json"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def both_running() -> Any:
            seen = run_cli("status", "gated", "--json", cwd=folder)
            if seen.returncode == 0 and json.loads(seen.stdout)["counts"]["running"] == 2:
                return seen
            assert run.poll() is None, run.communicate()
            return None

        seen = wait_until(both_running, 60, "the status of both workers' trials running")
        detail = json.loads(seen.stdout)
        assert detail["state"].startswith("running (driver")
        assert detail["counts"]["done"] == 0
    finally:
        (folder / "go").touch()
        out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert json.loads(out)["trials"] == 4
    done = run_cli("status", "gated", "--json", cwd=folder)
    assert json.loads(done.stdout)["state"] == "ended (max_trials)"
    page = run_cli("report", "gated", "--out", "reports", cwd=folder)
    assert page.returncode == 0, page.stderr
    assert page.stdout.strip() == str(Path("reports") / "gated.html")
    assert "<h2>Worker use</h2>" in (folder / "reports" / "gated.html").read_text()


def test_report_with_figures(folder: Path) -> None:
    assert run_cli("run", "spec.yaml", "-q", cwd=folder).returncode == 0
    done = run_cli("report", "spec", "--figures", "svg", cwd=folder)
    assert done.returncode == 0, done.stderr
    written = done.stdout.split()
    assert written[-1] == "spec.html"
    assert sorted(written[:-1]) == [
        "spec-best_so_far.svg", "spec-parallel_coordinates.svg", "spec-parameters.svg",
        "spec-timeline.svg",
    ]  # fmt: skip
    html = (folder / "spec.html").read_text()
    assert '"objective": "my_objective:loss"' in html  # the spec, from the store


def test_report_of_a_large_run_summarises_its_figures(folder: Path) -> None:
    spec = (folder / "spec.yaml").read_text()
    spec = spec.replace("executor: threads", "executor: simulated").replace(
        "workers: 2", "workers: 64"
    )
    (folder / "big.yaml").write_text(spec.replace("max_trials: 12", "max_trials: 6000"))
    ran = run_cli("run", "big.yaml", "-q", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    done = run_cli("report", "big", "--figures", "svg", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (folder / "big.html").stat().st_size < 5_000_000
    # matplotlib writes each text of an SVG beside its glyphs, as a comment.
    titles = {name: (folder / f"big-{name}.svg").read_text() for name in
              ("best_so_far", "parameters", "parallel_coordinates", "timeline")}  # fmt: skip
    assert "2,000 sampled of 6,000 trials" in titles["best_so_far"]
    assert "best 500 + 2,000 sampled of 6,000" in titles["parameters"]
    assert "best 500 + 2,000 sampled of 6,000" in titles["parallel_coordinates"]
    assert "busy share per worker in 400 time bins (6,000 trials)" in titles["timeline"]


@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_export_round_trip(folder: Path, file_format: str) -> None:
    assert run_cli("run", "spec.yaml", "-q", cwd=folder).returncode == 0
    done = run_cli("export", "spec", "--format", file_format, cwd=folder)
    assert done.returncode == 0, done.stderr
    path = folder / done.stdout.strip()
    assert path.name == f"spec.{file_format}"
    readers: dict[str, Any] = {"csv": pd.read_csv, "json": pd.read_json,
                               "parquet": pd.read_parquet}  # fmt: skip
    frame = readers[file_format](path)
    assert frame["trial_id"].tolist() == list(range(12))
    assert set(frame["status"]) == {"done"}
    assert set(frame["config.kind"]) == {"a", "b"}
    assert (frame["metric.half"] * 2 - frame["config.x"]).abs().max() < 1e-12
    best = json.loads(run_cli("status", "spec", "--json", cwd=folder).stdout)["best_value"]
    assert frame["value"].min() == pytest.approx(best)


def test_export_that_cannot_write_its_file_says_so(folder: Path) -> None:
    assert run_cli("run", "spec.yaml", "-q", cwd=folder).returncode == 0
    done = run_cli(
        "export", "spec", "--format", "csv", "--out", "spec.yaml/trials.csv", cwd=folder
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot write spec.yaml/trials.csv: ")
    assert "Traceback" not in done.stderr


def test_json_export_writes_infinities_as_text(tmp_path: Path) -> None:
    def objective(config: dict[str, Any]) -> dict[str, float]:
        ratio = math.inf if config["x"] > 0.5 else -math.inf if config["x"] < 0.2 else 0.5
        return {"loss": config["x"], "ratio": ratio}

    result = pt.tune(objective, {"x": pt.Choice([0.1, 0.3, 0.9])}, searcher="grid",
                     store=None, metric="loss")  # fmt: skip
    written = export_trials(result, tmp_path / "trials.json", "json")
    rows = json.loads(written.read_text())  # strict JSON: no Infinity
    assert [row["metric.ratio"] for row in rows] == ["-inf", 0.5, "inf"]


def test_parquet_export_of_an_integer_beyond_64_bits_says_so(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    result = pt.tune(lambda c: {"loss": c["x"], "count": 2**64}, {"x": pt.Float(0, 1)},
                     max_trials=2, store=None, metric="loss")  # fmt: skip
    (tmp_path / "trials.parquet").write_text("kept")
    with pytest.raises(pt.ParatuneError, match=r"as Parquet: .*export as csv or json"):
        export_trials(result, tmp_path / "trials.parquet", "parquet")
    assert (tmp_path / "trials.parquet").read_text() == "kept"  # a file there stays as it was
    assert export_trials(result, tmp_path / "trials.csv", "csv").exists()


def test_scaling_real_and_simulated(folder: Path) -> None:
    real = run_cli("scaling", "spec.yaml", "--workers", "1,2", "--max-trials", "6",
                   "--json", "--plot", "real.svg", cwd=folder)  # fmt: skip
    assert real.returncode == 0, real.stderr
    table = json.loads(real.stdout)
    assert [row["number_of_workers"] for row in table] == [1, 2]
    assert table[0]["speedup_vs_sequential"] == 1.0 and table[0]["efficiency"] == 1.0
    assert table[1]["efficiency"] == pytest.approx(table[1]["speedup_vs_sequential"] / 2)
    assert all(row["startup"] > 0 for row in table)  # the warm-up, timed apart
    said = real.stderr.splitlines()
    assert said[0] == f"[paratune] {WARM_UP}"
    for n, row in zip((1, 2), table, strict=True):
        assert (
            f"[paratune] {n} workers: start-up {row['startup']:.2f} s, run {row['time']:.2f} s"
            in said
        )
    assert b"<svg" in (folder / "real.svg").read_bytes()[:1000]
    assert not (folder / "paratune.db").exists()  # real scaling runs keep nothing
    simulated = run_cli("scaling", "spec.yaml", "--workers", "1,2,4", "--simulate", "-q",
                        cwd=folder)  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    lines = simulated.stdout.splitlines()
    assert lines[0].split() == ["number_of_workers", "time", "speedup_vs_sequential",
                                "efficiency"]  # fmt: skip
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "4"]
    assert lines[4] == "plot: spec-scaling.png" and (folder / "spec-scaling.png").exists()
    # The run it replayed is in the store, so the same command does not run it again.
    assert (
        json.loads(run_cli("status", "spec", "--json", cwd=folder).stdout)["counts"]["done"] == 12
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scaling", "spec.yaml", "--workers", "2,4"], "workers: include 1"),
        (["scaling", "spec.yaml", "--workers", "1,x"], "Invalid value for '--workers'"),
        (["scaling", "spec.yaml", "--workers", "0,1"], "Invalid value for '--workers'"),
        (["scaling", "spec.yaml"], "Missing option '--workers'"),
        (["scaling", "spec.yaml", "--workers", "1", "--plot", "a.jpg"], "must end in .png"),
        (["scaling", "nothing.yaml", "--workers", "1"], "nothing.yaml"),
        (["report", "nobody"], "no store at paratune.db"),
        (["export", "spec"], "Missing option '--format'"),
        (["export", "spec", "--format", "xml"], "'xml' is not one of"),
        (["report"], "Missing argument 'NAME'"),
    ],
)
def test_bad_arguments_get_one_clear_message(folder: Path, args: list[str], message: str) -> None:
    done = run_cli(*args, cwd=folder)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_scaling_refuses_a_serial_spec(folder: Path) -> None:
    spec = folder / "spec.yaml"
    spec.write_text(spec.read_text().replace("executor: threads", "executor: serial"))
    done = run_cli("scaling", "spec.yaml", "--workers", "1,2", cwd=folder)
    assert done.returncode == 1
    assert "executor 'serial' runs one trial at a time" in done.stderr


def test_scaling_from_a_cold_start_says_so(folder: Path) -> None:
    done = run_cli("scaling", "spec.yaml", "--workers", "2,1", "--max-trials", "4",
                   "--no-warm-up", "--json", cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "[paratune] each count runs on a cold pool: start-up is in its time"
    )
    said = done.stderr.splitlines()[1:]
    assert len(said) == 2 and all(
        re.fullmatch(rf"\[paratune\] {n} workers: run \d+\.\d\d s", line)
        for n, line in zip((2, 1), said, strict=True)
    ), said
    table = json.loads(done.stdout)
    assert [row["number_of_workers"] for row in table] == [2, 1]
    assert [row["startup"] for row in table] == [0.0, 0.0]


@pytest.mark.parametrize("command", ["report", "export", "scaling"])
def test_every_command_has_help(folder: Path, command: str) -> None:
    done = run_cli(command, "--help", cwd=folder)
    assert done.returncode == 0 and "Usage: python -m paratune" in done.stdout
