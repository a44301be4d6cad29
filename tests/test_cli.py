"""The command line, end to end in subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

OBJECTIVE = """
def loss(config):
    return (config["x"] - 0.25) ** 2 + (0.1 if config["kind"] == "b" else 0.0)

def broken(config):
    raise RuntimeError("broken on purpose")
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "paratune", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "my_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(
        "objective: my_objective:loss\n"
        "space:\n"
        "  x: {type: float, low: 0.0, high: 1.0}\n"
        "  kind: [a, b]\n"
        "  epochs: 3\n"
        "metric: loss\n"
        "max_trials: 20\n"
        "seed: 1\n"
    )
    return tmp_path


def test_run_prints_progress_and_the_best_config(folder: Path) -> None:
    done = run_cli("run", "spec.yaml", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "20 trials in" in done.stdout
    assert "best loss:" in done.stdout and '"kind": "a"' in done.stdout
    assert re.search(r"^searcher: \d+\.\d\d ms per suggestion$", done.stdout, re.MULTILINE)
    assert "[paratune] trials: 20/20 ended" in done.stderr  # plain progress: not a terminal


def test_run_says_which_executor_it_chose(folder: Path) -> None:
    alone = run_cli("run", "spec.yaml", "--max-trials", "2", cwd=folder)
    assert alone.returncode == 0, alone.stderr
    assert "[paratune] executor: serial\n" in alone.stderr
    two = run_cli("run", "spec.yaml", "--workers", "2", "--max-trials", "4", "--overwrite",
                  cwd=folder)  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert "[paratune] executor: processes (2 workers)" in two.stderr
    quiet = run_cli("run", "spec.yaml", "--max-trials", "5", "-q", "--json", cwd=folder)
    assert quiet.returncode == 0, quiet.stderr
    assert "executor:" not in quiet.stderr and json.loads(quiet.stdout)


def test_flags_override_the_spec(tmp_path: Path, folder: Path) -> None:
    spec = folder / "spec.yaml"
    done = run_cli(
        "run",
        str(spec),
        "--executor",
        "processes",
        "--workers",
        "2",
        "--max-trials",
        "8",
        "--json",
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["trials"] == 8 and summary["stop_reason"] == "max_trials"
    assert summary["searcher_time"] >= 0
    assert done.stderr == ""


def test_same_seed_same_best_from_json_spec(folder: Path) -> None:
    (folder / "spec.json").write_text(
        json.dumps(
            {
                "objective": "my_objective:loss",
                "space": {"x": {"type": "float", "low": 0, "high": 1}, "kind": ["a", "b"]},
                "metric": "loss",
                "max_trials": 10,
                "searcher": "sobol",
            }
        )
    )
    first = run_cli("run", "spec.json", "--json", "-q", cwd=folder)
    second = run_cli("run", "spec.json", "--json", "-q", "--executor", "threads", cwd=folder)
    assert first.returncode == second.returncode == 0
    assert json.loads(first.stdout)["best_config"] == json.loads(second.stdout)["best_config"]


def test_python_m_and_the_script_agree(folder: Path) -> None:
    script = Path(sys.executable).with_name("paratune")
    if not script.exists():
        pytest.skip("the paratune script is not installed beside this interpreter")
    done = subprocess.run(
        [str(script), "run", "spec.yaml", "-q", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["trials"] == 20


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "objective: my_objective:loss\nspace: {x: [1, 2]}\nmax_trails: 3\n",
            "unknown key 'max_trails' (did you mean 'max_trials'?)",
        ),
        ("space: {x: [1, 2]}\n", "missing key 'objective'"),
        (
            "objective: my_objective\nspace: {x: [1, 2]}\n",
            "key 'objective' must be 'module:function'",
        ),
        ("objective: nowhere:loss\nspace: {x: [1, 2]}\n", "cannot import module 'nowhere'"),
        ("objective: my_objective:nothing\nspace: {x: [1, 2]}\n", "has no 'nothing'"),
        (
            "objective: my_objective:loss\nspace: {x: [1, 2]}\nmax_trials: many\n",
            "key 'max_trials' must be int, got str 'many'",
        ),
        (
            "objective: my_objective:loss\nspace: {x: {type: float, low: 2, high: 1}}\n",
            "key 'space': parameter 'x'",
        ),
        ("objective: my_objective:loss\nspace: {x: [1, 2]}\nmode: up\n", "mode must be 'min'"),
        ("objective: my_objective:loss\nspace: [1, 2]\n", "key 'space' must be dict"),
        ("objective: my_objective:loss\nspace: {x: [1, 2]\n", "spec.yaml"),
    ],
)
def test_a_bad_spec_gets_one_clear_message(folder: Path, spec: str, message: str) -> None:
    (folder / "spec.yaml").write_text(spec)
    done = run_cli("run", "spec.yaml", cwd=folder)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_spec_file(folder: Path) -> None:
    done = run_cli("run", "nothing.yaml", cwd=folder)
    assert done.returncode != 0 and "nothing.yaml" in done.stderr


def test_every_searcher_name_is_a_choice_of_the_searcher_flag() -> None:
    from paratune import cli, searchers

    assert sorted(cli._SEARCHERS.choices) == sorted(searchers._BY_NAME)


def test_bad_flags_are_refused(folder: Path) -> None:
    done = run_cli("run", "spec.yaml", "--workers", "0", cwd=folder)
    assert done.returncode == 2 and "--workers" in done.stderr
    done = run_cli("run", "spec.yaml", "--executor", "gpu", cwd=folder)
    assert done.returncode == 2 and "'gpu' is not one of" in done.stderr


def test_a_run_where_every_trial_fails_exits_non_zero(folder: Path) -> None:
    (folder / "spec.yaml").write_text(
        "objective: my_objective:broken\nspace: {x: [1, 2]}\nsearcher: grid\n"
    )
    done = run_cli("run", "spec.yaml", "-q", cwd=folder)
    assert done.returncode == 1
    assert "no trial finished with a value" in done.stderr


def test_running_a_spec_again_continues_its_experiment(folder: Path) -> None:
    first = run_cli("run", "spec.yaml", "--max-trials", "5", "--json", "-q", cwd=folder)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["name"] == "spec"  # the spec's file name
    more = run_cli("run", "spec.yaml", "--max-trials", "8", "--json", "-q", cwd=folder)
    assert json.loads(more.stdout)["trials"] == 8
    over = run_cli(
        "run", "spec.yaml", "--max-trials", "3", "--overwrite", "--json", "-q", cwd=folder
    )
    assert json.loads(over.stdout)["trials"] == 3


def test_status_lists_experiments_and_details_one(folder: Path) -> None:
    run_cli("run", "spec.yaml", "--max-trials", "4", "-q", cwd=folder)
    listing = run_cli("status", cwd=folder)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[1].split()[:5] == ["spec", "4", "0", "0", "0"]
    detail = run_cli("status", "spec", "--json", cwd=folder)
    data = json.loads(detail.stdout)
    assert data["counts"]["done"] == 4 and data["state"] == "ended (max_trials)"
    assert data["objective"] == "my_objective:loss"


def test_resume_by_name_from_the_store(folder: Path, tmp_path: Path) -> None:
    run_cli("run", "spec.yaml", "--max-trials", "4", "-q", "--store", "s.db", cwd=folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli(
        "resume",
        "spec",
        "--store",
        str(folder / "s.db"),
        "--max-trials",
        "9",
        "--json",
        "-q",
        cwd=elsewhere,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trials"] == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "nobody", "--store", "s.db"], "no experiment 'nobody' in s.db"),
        (["resume", "nobody", "--store", "s.db"], "no experiment 'nobody' in s.db"),
        (["status", "--store", "missing.db"], "no store at missing.db"),
        (["status", "--store", "my_objective.py"], "my_objective.py is not an SQLite database"),
        (["run", "spec.yaml", "--store", "my_objective.py"], "is not an SQLite database"),
    ],
)
def test_bad_store_inputs_exit_non_zero_and_change_nothing(
    folder: Path, args: list[str], message: str
) -> None:
    run_cli("run", "spec.yaml", "--max-trials", "2", "-q", "--store", "s.db", cwd=folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    done = run_cli(*args, cwd=folder)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_a_changed_spec_is_refused_until_overwritten(folder: Path) -> None:
    run_cli("run", "spec.yaml", "--max-trials", "2", "-q", cwd=folder)
    spec = folder / "spec.yaml"
    spec.write_text(spec.read_text().replace("high: 1.0", "high: 2.0"))
    done = run_cli("run", "spec.yaml", cwd=folder)
    assert done.returncode == 1 and "was run with another setup (space" in done.stderr
    assert run_cli("run", "spec.yaml", "--overwrite", "-q", cwd=folder).returncode == 0
