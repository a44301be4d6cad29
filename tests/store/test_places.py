"""Read-only places, full disks, readers racing a creation, private files: the store
reads what it can, stops a run with one message naming the file, keeps what was committed,
and never leaves a half-made or world-readable store."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import paratune as pt
from paratune.store import Experiment, SQLiteStore
from paratune.trial import Status, Trial

from ..test_cli import run_cli
from .stores import OBJECTIVE, SPEC, files, raw_count, resume_in_python


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the file or folder ``path`` read-only for this process, for real: its mode
    for a user; for root, whom modes do not stop, the immutable attribute."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root (modes do not stop root) and there is no chattr")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and this filesystem has no immutable files: {done.stderr}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def cannot_write(path: Path) -> bool:
    target = path / "probe" if path.is_dir() else path
    try:
        with target.open("ab"):
            pass
    except OSError:
        return True
    if path.is_dir():
        target.unlink()
    return False


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_read_only_store_is_read_and_refused_to_writers(folder: Path, what: str) -> None:
    path = folder / "runs.db"
    whole = pt.load(path, "spec").trial_list
    before = files(folder)
    with read_only(folder if what == "folder" else path):
        assert cannot_write(folder if what == "folder" else path)
        assert pt.load(path, "spec").trial_list == whole
        listing = run_cli("status", "--store", str(path), cwd=folder.parent)
        assert listing.returncode == 0 and " 300 " in listing.stdout, listing.stderr
        out = folder.parent / "spec.csv"
        export = run_cli("export", "spec", "--format", "csv", "--store", str(path),
                         "--out", str(out), cwd=folder.parent)  # fmt: skip
        assert export.returncode == 0 and out.exists(), export.stderr
        with pytest.raises(pt.StoreError, match=rf"runs\.db cannot be written: its {what}"):
            resume_in_python(path)
        done = run_cli("resume", "spec", "--store", str(path), cwd=folder)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"runs.db cannot be written: its {what}" in done.stderr
    after = files(folder)
    assert {n: after[n] for n in before} == before


def test_a_read_only_folder_with_an_unreadable_log_is_refused_not_misread(
    folder: Path,
) -> None:
    """Without a -shm file, SQLite reads a read-only folder only as 'immutable', which
    ignores the -wal: trials a killed driver committed there would silently be missing."""
    path = folder / "runs.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("DELETE FROM trials WHERE trial_id >= 100")  # committed to the -wal only
    left = {name: (folder / name).read_bytes() for name in ("runs.db", "runs.db-wal")}
    writer.close()
    for name, data in left.items():
        (folder / name).write_bytes(data)
    (folder / "runs.db-shm").unlink(missing_ok=True)
    assert raw_count(path) == 300  # what the file alone says
    with read_only(folder), pytest.raises(pt.StoreError, match=r"runs\.db-wal holds trials"):
        pt.load(path, "spec")


def test_a_read_only_filesystem(folder: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "4m") as mount:
        for name in ("runs.db", "my_objective.py"):  # resuming imports the objective
            shutil.copy(folder / name, mount / name)
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=False)
        assert remounted.returncode == 0
        assert cannot_write(mount)
        assert len(pt.load(mount / "runs.db", "spec").trial_list) == 300
        with pytest.raises(pt.StoreError, match=r"runs\.db cannot be written"):
            resume_in_python(mount / "runs.db")


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A real small filesystem: a tmpfs of ``size`` mounted at ``mount`` (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a filesystem needs root and mount")
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# ---- full disks and I/O errors ----------------------------------------------------------


def a_trial(trial_id: int) -> Trial:
    return Trial(trial_id, {"x": 0.5}, trial_id, Status.DONE, 1.0, {"loss": 1.0},
                 traceback="t" * 3000)  # fmt: skip


def test_a_full_disk_is_one_store_error_and_the_committed_trials_stay(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    store.open(Experiment("e", {}, "loss", "min", 0), resume=False, overwrite=False)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 8}")  # a disk that fills up
    saved = []
    with pytest.raises(pt.StoreError) as raised:
        for trial_id in range(100):
            store.save([a_trial(trial_id)])
            saved.append(trial_id)
    assert str(raised.value) == (
        f"the disk holding {path} is full (saving trials): the trials committed so far are "
        "kept; free some space and resume"
    )
    assert 0 < len(saved) < 100
    store.close()
    reader = SQLiteStore(path, readonly=True)
    reader.select("e")
    assert [t.trial_id for t in reader.trials()] == saved
    reader.close()


def run_limited(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m paratune ARGS`` whose files may not grow past ``limit`` bytes: a write
    beyond fails as on a full quota (RLIMIT_FSIZE, with SIGXFSZ ignored)."""
    code = (
        "import resource, runpy, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        f"sys.argv = ['paratune', *{list(args)!r}]\n"
        "runpy.run_module('paratune', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_a_write_error_mid_run_stops_it_cleanly_and_it_resumes(tmp_path: Path) -> None:
    (tmp_path / "my_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC % (3000, 60))
    done = run_limited(96 * 1024, "run", "spec.yaml", "--store", "runs.db", "-q", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "runs.db" in done.stderr and "the trials committed so far are kept" in done.stderr
    kept = pt.load(tmp_path / "runs.db", "spec").trial_list
    assert 0 < len(kept) < 60
    resumed = run_cli("resume", "spec", "--store", "runs.db", "-q", "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert pt.load(tmp_path / "runs.db", "spec").trial_list[: len(kept)] == kept


def test_a_creation_that_fails_leaves_no_file(tmp_path: Path) -> None:
    (tmp_path / "my_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC % (0, 5))
    done = run_limited(0, "run", "spec.yaml", "--store", "new.db", "-q", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "new.db" in done.stderr
    assert not list(tmp_path.glob("new.db*"))


def test_a_real_full_disk_then_room_again(tmp_path: Path) -> None:
    (tmp_path / "my_objective.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(SPEC % (3000, 80))
    with tmpfs(tmp_path / "mnt", "192k") as mount:
        store = str(mount / "runs.db")
        done = run_cli("run", "spec.yaml", "--store", store, "-q", cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert f"the disk holding {store} is full" in done.stderr
        kept = pt.load(store, "spec").trial_list
        assert 0 < len(kept) < 80
        subprocess.run(["mount", "-o", "remount,size=8m", str(mount)], check=True)
        resumed = run_cli("resume", "spec", "--store", store, "-q", "--json", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert pt.load(store, "spec").trial_list[: len(kept)] == kept


# ---- creation: racing readers, private files --------------------------------------------


def test_readers_racing_creations_see_an_empty_file_or_a_whole_store(tmp_path: Path) -> None:
    count = 150
    creator = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom paratune.store import SQLiteStore\n"
         f"for i in range({count}):\n    SQLiteStore(sys.argv[1] + f'/s{{i}}.db').close()\n",
         str(tmp_path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    seen: dict[str, int] = {}
    latest = 0
    while creator.poll() is None:
        while (tmp_path / f"s{latest + 1}.db").exists():
            latest += 1
        try:
            SQLiteStore(tmp_path / f"s{latest}.db", readonly=True).close()
            outcome = "a store"
        except pt.StoreError as exc:
            outcome = str(exc).replace(str(tmp_path / f"s{latest}.db"), "FILE")
        seen[outcome] = seen.get(outcome, 0) + 1
    assert creator.returncode == 0
    expected = {"a store", "FILE is an empty file, not a paratune store", "no store at FILE"}
    assert set(seen) <= expected, seen
    assert seen.get("a store", 0) > 0


def test_a_new_store_and_its_logs_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = SQLiteStore(tmp_path / "runs.db")
        store.open(Experiment("e", {}, "loss", "min", 0), resume=False, overwrite=False)
        store.save([a_trial(0)])
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("runs.db*")}
        store.close()
    finally:
        os.umask(old)
    assert modes == {"runs.db": 0o600, "runs.db-wal": 0o600, "runs.db-shm": 0o600}
