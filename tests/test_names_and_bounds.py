"""Names that cannot escape their folder, folders paratune alone may remove, and bounds on
input that would exhaust the machine: through `pt.tune` and through real subprocesses of
``python -m paratune``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune._folders import MARKER, folder_name, remove_stale_temporary
from paratune.executors import (
    MAX_SIMULATED_WORKERS,
    MAX_THREADS,
    make_executor,
    max_process_workers,
)
from paratune.schedulers import ASHA, Hyperband, SuccessiveHalving
from paratune.spec import MAX_SPEC_BYTES, load_run_spec

from .conftest import wait_for_file

OBJECTIVE = """
import os
import time
from pathlib import Path


def saves(config, ctx):
    earlier = ctx.load_checkpoint()
    ctx.save_checkpoint({"x": config["x"]})
    return {"value": float(config["x"]), "resumed": float(earlier is not None)}


def waits(config, ctx):
    ctx.save_checkpoint(config)
    Path(os.environ["READY_FILE"]).write_text("saved")
    time.sleep(60)  # the test kills this process long before
    return 0.0
"""

BLOCKS_ON_IMPORT = """
import time
from pathlib import Path

Path("imported").write_text("")
time.sleep(60)  # the test interrupts this process long before


def f(config):
    return 0.0
"""

SPEC = "objective: names_objective:saves\nspace: {x: [1, 2, 3]}\nsearcher: grid\n"

# Names a run accepts: each must stay inside its checkpoint folder.
ESCAPING = ["..", ".", "a/b", "../x", "../../etc", "a\\b", ".hidden", "x" * 255, "实验", "data"]
# Names refused before anything starts: not resumable, or not text a store can keep.
REFUSED = ["", "   ", "\t", "a\nb", "a\x00b", "a\x7fb", "a\u202eb", "x" * 256, "\udcff"]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "paratune", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def snapshot(folder: Path) -> dict[Path, bytes]:
    """Every file under ``folder`` but the store and checkpoints, with its bytes."""
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and "paratune-checkpoints" not in path.parts
    }


def assert_kept(before: dict[Path, bytes]) -> None:
    for path, content in before.items():
        assert path.is_file(), f"{path} was deleted"
        assert path.read_bytes() == content, f"{path} was changed"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working folder as a user has it: a spec, its objective, data, a store and the
    store's checkpoint folder."""
    folder = tmp_path / "work"
    (folder / "paratune-checkpoints").mkdir(parents=True)
    (folder / "names_objective.py").write_text(OBJECTIVE)
    (folder / "spec.yaml").write_text(SPEC)
    (folder / "data.csv").write_text("x,y\n1,2\n")
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("1,2\n")
    return folder


def saves(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    earlier = ctx.load_checkpoint()
    ctx.save_checkpoint({"x": config["x"]})
    return {"value": float(config["x"]), "resumed": float(earlier is not None)}


# ------------------------------------------------------------------------- the mapping


def test_every_name_maps_to_a_plain_folder_name_of_its_own() -> None:
    names = [*ESCAPING, "run/1", "run_1", "a_b", "_.", "x" * 300, "x" * 301, "Exp", "exp"]
    folders = [folder_name(name) for name in names]
    assert len(set(folders)) == len(names)  # two names never share a folder
    for name, folder in zip(names, folders, strict=True):
        assert folder not in (".", "..") and not folder.startswith(".")
        assert set(folder) <= set(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
        )
        assert 0 < len(folder) <= 64 + 9
        assert (folder == name) == (name in ("run_1", "a_b", "_.", "Exp", "exp", "data"))


# ------------------------------------------------------------------------- pt.tune


@pytest.mark.parametrize("name", ESCAPING, ids=repr)
def test_tune_keeps_every_file_whatever_the_name(name: str, project: Path) -> None:
    before = snapshot(project)
    store = project / "paratune.db"
    for overwrite in (False, True):  # a new experiment, then one started over
        result = pt.tune(
            saves, {"x": [1, 2]}, searcher="grid", store=store, name=name, overwrite=overwrite
        )
        assert [t.metrics["resumed"] for t in result.trial_list] == [0.0, 0.0]
    assert_kept(before)
    folder = project / "paratune-checkpoints" / folder_name(name)
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "trial-0.pkl", "trial-1.pkl"]
    assert pt.load(store, name).name == name  # the store keeps the name as given


@pytest.mark.parametrize("name", REFUSED, ids=repr)
def test_tune_refuses_a_name_before_anything_starts(name: str, tmp_path: Path) -> None:
    with pytest.raises(pt.SpecError, match=r"^name must"):
        pt.tune(saves, {"x": [1, 2]}, searcher="grid", store=tmp_path / "runs.db", name=name)
    assert list(tmp_path.iterdir()) == []  # no store, no folder


def test_a_folder_of_the_users_is_never_written_into_or_emptied(project: Path) -> None:
    before = snapshot(project)
    with pytest.raises(pt.SpecError, match=r"paratune did not make it.*name or checkpoint_dir"):
        pt.tune(
            saves,
            {"x": [1]},
            max_trials=1,
            store=project / "runs.db",
            name="data",
            checkpoint_dir=project,
        )
    assert_kept(before)
    assert sorted(p.name for p in (project / "data").iterdir()) == ["train.csv"]
    with pytest.raises(pt.StoreError, match="data"):  # refused before the experiment began
        pt.load(project / "runs.db", "data")
    with pytest.raises(pt.SpecError, match="checkpoint_dir must name a folder"):
        pt.tune(saves, {"x": [1]}, max_trials=1, store=None, checkpoint_dir="")


def test_an_empty_folder_is_taken_and_another_experiments_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ckpt" / "empty").mkdir(parents=True)
    pt.tune(
        saves, {"x": [1]}, max_trials=1, store=None, name="empty", checkpoint_dir=tmp_path / "ckpt"
    )
    assert sorted(p.name for p in (tmp_path / "ckpt" / "empty").iterdir()) == [
        MARKER,
        "trial-0.pkl",
    ]
    # A folder moved under another experiment's name (or names that differ only in case,
    # on a file system that ignores case) holds another experiment's checkpoints.
    (tmp_path / "ckpt" / "empty").rename(tmp_path / "ckpt" / "other")
    with pytest.raises(pt.SpecError, match="holds the checkpoints of experiment 'empty'"):
        pt.tune(
            saves,
            {"x": [1]},
            max_trials=1,
            store=None,
            name="other",
            checkpoint_dir=tmp_path / "ckpt",
        )
    assert (tmp_path / "ckpt" / "other" / "trial-0.pkl").is_file()


def test_a_new_name_is_a_plain_folder_name() -> None:
    result = pt.tune(lambda c: 0.0, {"x": [1]}, searcher="grid", store=None)
    assert result.name.startswith("lambda-") and folder_name(result.name) == result.name


# ------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../x", "x" * 200, "实验"], ids=repr)
def test_the_cli_keeps_every_file_whatever_the_name(name: str, project: Path) -> None:
    before = snapshot(project)
    for extra in ([], ["--overwrite"]):
        done = run_cli("run", "spec.yaml", "-q", "--name", name, *extra, cwd=project)
        assert done.returncode == 0, done.stderr
        assert_kept(before)
    assert (project / "paratune-checkpoints" / folder_name(name) / MARKER).is_file()


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 300], ids=repr)
def test_the_cli_refuses_a_name_with_one_message(name: str, project: Path) -> None:
    before = snapshot(project)
    done = run_cli("run", "spec.yaml", "-q", "--name", name, cwd=project)
    assert done.returncode == 1
    assert "name must" in done.stderr and "Traceback" not in done.stderr
    assert_kept(before)
    assert not (project / "paratune.db").exists()


def test_the_cli_refuses_a_spec_name_holding_nul_or_bytes_not_utf8(project: Path) -> None:
    (project / "nul.yaml").write_text(SPEC + 'name: "a\\0b"\n')
    done = run_cli("run", "nul.yaml", "-q", cwd=project)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "nul.yaml" in done.stderr and "key 'name' must not hold control" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "paratune", "run", "spec.yaml", "-q", "--name", b"a\xffb"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert b"not UTF-8" in done.stderr


def test_report_writes_inside_out_whatever_the_name(project: Path) -> None:
    store = project / "runs.db"
    pt.tune(saves, {"x": [1, 2]}, searcher="grid", store=store, name="../../escaped")
    out = project / "reports" / "deep"
    before = {p for p in project.parent.rglob("*")}
    done = run_cli(
        "report", "../../escaped", "--store", str(store), "--out", str(out), cwd=project
    )
    assert done.returncode == 0, done.stderr
    written = {p for p in project.parent.rglob("*")} - before
    page = out / f"{folder_name('../../escaped')}.html"
    assert page.is_file() and done.stdout.strip() == str(page)
    assert all(out in p.parents or p in (out, out.parent) for p in written), written


def test_export_writes_in_the_working_folder_whatever_the_name(project: Path) -> None:
    store = project / "runs.db"
    pt.tune(saves, {"x": [1, 2]}, searcher="grid", store=store, name="../../escaped")
    done = run_cli("export", "../../escaped", "--format", "csv", "--store", str(store),
                   cwd=project)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (project / f"{folder_name('../../escaped')}.csv").is_file()
    assert not list(project.parent.parent.glob("escaped*"))


# ------------------------------------------------------------------------- stale folders

# Folders in the temporary folder that the clean-up must leave: no marker, a live owner,
# another host's process, a file.
_DECOYS = [f"paratune-checkpoints-{kind}" for kind in ("nomarker", "live", "host", "file")]


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(
    project: Path, tmp_path: Path
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "READY_FILE": str(tmp_path / "ready")}
    (temp / "paratune-checkpoints-nomarker").mkdir()
    for suffix, owner in (("live", os.getpid()), ("host", 999_999_999)):
        (temp / f"paratune-checkpoints-{suffix}").mkdir()
        host = socket.gethostname() if suffix == "live" else "another-host"
        (temp / f"paratune-checkpoints-{suffix}" / MARKER).write_text(
            json.dumps({"pid": owner, "host": host})
        )
    (temp / "paratune-checkpoints-file").write_text("")
    (project / "killed.yaml").write_text(SPEC.replace(":saves", ":waits"))
    child = subprocess.Popen(
        [sys.executable, "-m", "paratune", "run", "killed.yaml", "-q", "--store", ":memory:"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_file(tmp_path / "ready")
    finally:
        child.kill()
        child.wait(timeout=30)
    left = [p for p in temp.iterdir() if p.name not in _DECOYS]
    assert len(left) == 1 and json.loads((left[0] / MARKER).read_text())["pid"] == child.pid
    assert list(left[0].rglob("trial-0.pkl"))  # the checkpoint it saved is still there
    done = run_cli("run", "spec.yaml", "-q", "--store", ":memory:", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in temp.iterdir()) == sorted(_DECOYS)
    assert remove_stale_temporary(temp) == []


# ------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("executor", "most"),
    [
        ("simulated", MAX_SIMULATED_WORKERS),
        ("threads", MAX_THREADS),
        ("processes", max_process_workers()),
        ("dask", max_process_workers()),
    ],
)
def test_workers_beyond_any_machine_are_refused(executor: str, most: int) -> None:
    with pytest.raises(pt.SpecError, match=rf"workers must be at most {most:,}"):
        pt.tune(lambda c: 0.0, {"x": [1]}, executor=executor, workers=most + 1, store=None)
    if executor != "dask":  # (a Dask executor would start a cluster)
        assert make_executor(executor, most).workers == most


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"max_budget": 1e308}, "max_budget"),
        ({"min_budget": 5e-324, "max_budget": 1}, "min_budget"),
        ({"max_budget": 1e6, "eta": 1.0000001}, "eta"),
        ({"eta": 1e308}, "eta"),
        ({"max_budget": 10**400}, "max_budget must be finite"),
        ({"eta": 10**400}, "eta must be finite"),
    ],
    ids=str,
)
@pytest.mark.parametrize("kind", [ASHA, Hyperband, SuccessiveHalving], ids=lambda k: k.__name__)
def test_budgets_that_overflow_or_make_absurd_rungs_are_refused(
    kind: Any, options: dict[str, Any], key: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match=key):
        kind(**options)
    assert time.monotonic() - started < 1.0  # refused, not built


def test_spec_files_too_large_or_with_aliases_of_aliases_are_refused(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.yaml"
    lines = ["objective: m:f", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    laughs.write_text("\n".join([*lines, "space: {x: *a8}"]) + "\n")
    with pytest.raises(pt.SpecError, match=r"laughs\.yaml: the file holds more than 1,000,000"):
        load_run_spec(laughs)
    itself = tmp_path / "itself.yaml"
    itself.write_text("objective: m:f\nspace: &s {x: [1, 2], y: *s}\n")
    with pytest.raises(pt.SpecError, match=r"itself\.yaml: a YAML alias is used inside its own"):
        load_run_spec(itself)
    large = tmp_path / "large.json"
    large.write_text(
        '{"objective": "m:f", "space": {"x": [' + "0," * (MAX_SPEC_BYTES // 2) + "1]}}"
    )
    with pytest.raises(pt.SpecError, match=r"large\.json: the file is .* at most 10,485,760"):
        load_run_spec(large)


def test_space_files_are_bounded_as_spec_files_are(tmp_path: Path) -> None:
    laughs = tmp_path / "space.yaml"
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    laughs.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    with pytest.raises(pt.SpecError, match=r"space\.yaml: the file holds more than 1,000,000"):
        pt.Space.from_file(laughs)
    assert time.monotonic() - started < 5.0  # refused, not expanded


BOUNDS = [
    (["--executor", "simulated", "--workers", "1000000000"], "", "workers must be at most"),
    (["--executor", "threads", "--workers", "1000000000"], "", "workers must be at most"),
    (["--executor", "processes", "--workers", "1000000000"], "", "workers must be at most"),
    ([], "workers: 1000000000000000000000000000000\nexecutor: simulated\n", "workers must be"),
    ([], "scheduler: {type: asha, max_budget: 1.0e+308}\n", "max_budget"),
    ([], "scheduler: {type: hyperband, eta: 1.0000001}\n", "eta"),
    ([], "scheduler: {type: successive_halving, min_budget: 5.0e-324}\n", "min_budget"),
    ([], "scheduler: {type: asha, max_budget: 1" + "0" * 400 + "}\n", "max_budget must be"),
    ([], "scheduler: {type: asha, eta: 1.0e+308}\n", "eta=1e+308"),
]


@pytest.mark.parametrize(("args", "spec", "message"), BOUNDS, ids=lambda v: str(v)[:40])
def test_the_cli_refuses_input_beyond_the_bounds(
    args: list[str], spec: str, message: str, project: Path
) -> None:
    (project / "bounds.yaml").write_text(SPEC + spec)
    done = run_cli("run", "bounds.yaml", "-q", "--store", ":memory:", *args, cwd=project)
    assert done.returncode == 1, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr


_LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
)


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        ("laughs.yaml", _LAUGHS + "\n" + SPEC, "aliases"),
        ("large.yaml", SPEC + "#" * MAX_SPEC_BYTES + "\n", "at most 10,485,760"),
    ],
    ids=["a billion laughs", "over 10 MiB"],
)
def test_the_cli_refuses_spec_files_beyond_the_bounds(
    project: Path, spec: str, text: str, message: str
) -> None:
    (project / spec).write_text(text)
    done = run_cli("run", spec, "-q", "--store", ":memory:", cwd=project)
    assert done.returncode == 1
    assert spec in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


_GRID = "".join(f"  y{i}: [{', '.join(map(str, range(1000)))}]\n" for i in range(40))


@pytest.mark.parametrize(
    ("args", "spec"),
    [
        (["--max-trials", "1" + "0" * 30], SPEC),
        (["--max-time", "1e308", "--max-trials", "2"], SPEC + "searcher: random\n"),
        (["--max-trials", "3"], SPEC.replace("{x: [1, 2, 3]}", "\n  x: [1, 2]\n" + _GRID)),
    ],
    ids=["max_trials=1e30", "max_time=1e308", "grid of 1000**40"],
)
def test_the_cli_runs_numbers_that_would_overflow(
    args: list[str], spec: str, project: Path
) -> None:
    (project / "big.yaml").write_text(spec)
    done = run_cli("run", "big.yaml", "-q", "--store", ":memory:", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    assert "trials in" in done.stdout


# ------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_start_up_is_one_line_and_exit_130(project: Path) -> None:
    (project / "blocks_on_import.py").write_text(BLOCKS_ON_IMPORT)
    (project / "slow.yaml").write_text("objective: blocks_on_import:f\nspace: {x: [1]}\n")
    child = subprocess.Popen(
        [sys.executable, "-m", "paratune", "run", "slow.yaml", "--store", ":memory:"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it, even where this test runs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_file(project / "imported")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == 130, err
    assert err.strip() == "interrupted" and out == ""


def test_a_choice_of_millions_is_refused_before_it_is_built() -> None:
    started = time.monotonic()
    with pytest.raises(pt.SpaceError, match="at most 100,000 values, got 10,000,000"):
        pt.Choice(range(10**7))
    assert time.monotonic() - started < 1.0
    assert len(pt.Choice(range(100_000)).values) == 100_000
