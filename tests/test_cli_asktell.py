"""``paratune ask`` and ``paratune tell``: a shell loop's view, every call a process of its
own (as a batch system would run them), on a real SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import paratune as pt
from paratune import AskTell
from paratune.cli import cli

from .test_cli import run_cli

SPEC = """\
space:
  x: {type: float, low: 0, high: 1}
  kind: [a, b]
max_trials: 4
seed: 7
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path


def asked(folder: Path, *args: str) -> list[dict[str, Any]]:
    done = run_cli("ask", "spec.yaml", *args, cwd=folder)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def told(folder: Path, *args: str) -> dict[str, Any]:
    done = run_cli("tell", "spec.yaml", *args, cwd=folder)
    assert done.returncode == 0, done.stderr
    told: dict[str, Any] = json.loads(done.stdout)
    return told


def in_process(*args: str, cwd: Path) -> Any:
    """The command run in this process (quicker than a process of its own), from ``cwd``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(cli, list(args))


def test_a_shell_loop_asks_and_tells_until_the_experiment_ends(folder: Path) -> None:
    first = asked(folder, "-n", "2")
    assert [t["trial_id"] for t in first] == [0, 1]
    assert set(first[0]) == {"trial_id", "config", "seed", "budget", "start_step"}
    # A trial asked and not told is never handed out again by a later call.
    assert [t["trial_id"] for t in asked(folder)] == [2]
    assert told(folder, "1", "0.5") == {"trial_id": 1, "status": "done", "value": 0.5}
    metrics = json.dumps({"value": 0.25, "seconds": 3})
    assert told(folder, "0", "--metrics", metrics)["value"] == 0.25
    assert told(folder, "2", "--error", "diverged")["status"] == "failed"
    assert [t["trial_id"] for t in asked(folder, "-n", "9")] == [3]
    told(folder, "3", "0.75")
    done = run_cli("ask", "spec.yaml", cwd=folder)
    assert (done.returncode, done.stdout) == (3, "")
    assert "nothing to evaluate now" in done.stderr
    result = pt.load(folder / "paratune.db", "spec")
    assert result.stop_reason is pt.StopReason.MAX_TRIALS
    trials = result.trial_list
    assert [t.status for t in trials] == [pt.Status.DONE] * 2 + [pt.Status.FAILED, pt.Status.DONE]
    assert [t.config for t in trials] == [
        {"x": t["x"], "kind": t["kind"]} for t in (a["config"] for a in first)
    ] + [trials[2].config, trials[3].config]
    assert trials[0].metrics == {"value": 0.25, "seconds": 3}


def test_the_same_seed_asks_the_same_trials_as_the_python_api(folder: Path) -> None:
    shell = asked(folder, "-n", "3")
    space = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", "b"])}
    with AskTell(space, seed=7, max_trials=4, store=None) as study:
        python = [study.ask() for _ in range(3)]
    assert [t["config"] for t in shell] == [t.config for t in python if t is not None]
    assert [t["seed"] for t in shell] == [t.seed for t in python if t is not None]


def test_tell_refuses_what_it_cannot_record(folder: Path) -> None:
    asked(folder)
    cases = [
        (["0"], "give the trial's VALUE, or --metrics, or --error"),
        (["0", "1.0", "--error", "x"], "one of them"),
        (["0", "--metrics", "[1]"], "must be a JSON object"),
        (["0", "--metrics", "{oops"], "not JSON"),
        (["5", "1.0"], "trial 5 is not waiting for a result"),
    ]
    for args, message in cases:
        done = in_process("tell", "spec.yaml", *args, cwd=folder)
        assert done.exit_code != 0 and message in done.stderr, (args, done.stderr)
        assert done.exception is None or isinstance(done.exception, SystemExit)
    assert told(folder, "0", "1.0")["status"] == "done"  # nothing was lost meanwhile


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("objective: m:f\n", "key 'objective' does not apply to ask and tell"),
        ("executor: threads\n", "key 'executor' does not apply to ask and tell"),
        ("max_trails: 3\n", "did you mean 'max_trials'"),
        ("scheduler: asha\n", "use pt.AskTell in one Python session"),
    ],
)
def test_a_spec_that_does_not_fit_is_refused_before_anything_is_stored(
    folder: Path, line: str, message: str
) -> None:
    (folder / "spec.yaml").write_text(SPEC + line)
    done = in_process("ask", "spec.yaml", cwd=folder)
    assert done.exit_code == 1 and message in done.stderr
    assert isinstance(done.exception, SystemExit)  # a message, not a traceback
    assert not (folder / "paratune.db").exists()


def test_one_clear_refusal_while_another_driver_holds_the_experiment(folder: Path) -> None:
    space = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", "b"])}
    store = folder / "paratune.db"
    with AskTell(space, seed=7, max_trials=4, store=store, name="spec") as study:
        trial = study.ask()
        for command in (["ask", "spec.yaml"], ["tell", "spec.yaml", "0", "1.0"]):
            done = run_cli(*command, cwd=folder)
            assert done.returncode == 1, done.stderr
            assert "is being run by another driver" in done.stderr
            assert "Traceback" not in done.stderr
        assert trial is not None
        study.tell(trial, 0.5)
    assert [t["trial_id"] for t in asked(folder)] == [1]


def ask_process(folder: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "paratune", "ask", "spec.yaml", *args]
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_batch_of_asks_at_once_waits_its_turn_and_hands_out_each_trial_once(
    folder: Path,
) -> None:
    (folder / "spec.yaml").write_text(SPEC.replace("max_trials: 4", "max_trials: 20"))
    processes = [ask_process(folder, "--wait", "60") for _ in range(6)]
    outputs = [process.communicate(timeout=100) for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, outputs
    ids = sorted(json.loads(out)["trial_id"] for out, _ in outputs)
    assert ids == list(range(6))


def test_a_store_file_another_call_is_making_is_made_a_store_not_refused(
    folder: Path,
) -> None:
    # What a call finds between another's creating the file and its writing the schema.
    (folder / "paratune.db").touch()
    assert [t["trial_id"] for t in asked(folder)] == [0]
    assert pt.load(folder / "paratune.db", "spec").trials["trial_id"].tolist() == [0]


def test_wait_takes_the_experiment_once_its_driver_lets_go(folder: Path) -> None:
    space = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", "b"])}
    study = AskTell(space, seed=7, max_trials=4, store=folder / "paratune.db", name="spec")
    first = study.ask()
    process = ask_process(folder, "--wait", "60")
    assert process.stderr is not None
    line = process.stderr.readline()  # said once it found the experiment held
    assert "being run by another driver" in line and "waiting up to 60 s" in line
    assert first is not None
    study.tell(first, 0.5)
    study.close()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and json.loads(out)["trial_id"] == 1
