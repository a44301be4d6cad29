"""Damaged files, read-only places, full disks, readers racing a creation, private files:
the store refuses what it cannot trust (in one message naming the file, changing nothing),
reads what it can, and `paratune recover` saves what SQLite can still read."""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.store import Experiment, SQLiteStore
from paratune.trial import Status, Trial

from ..test_cli import run_cli

OBJECTIVE = """
def loss(config):
    return {"loss": (config["x"] - 0.25) ** 2, "notes": "n" * config["pad"]}
"""
SPEC = (
    "objective: my_objective:loss\n"
    "space:\n"
    "  x: {type: float, low: 0.0, high: 1.0}\n"
    "  pad: %d\n"
    "metric: loss\n"
    "max_trials: %d\n"
    "seed: 1\n"
)
LEAF_INDEX_PAGE = 0x0A  # SQLite's page type of a leaf of a WITHOUT ROWID table


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with an objective, a spec and runs.db: 300 trials, built once."""
    folder = tmp_path_factory.mktemp("built")
    (folder / "my_objective.py").write_text(OBJECTIVE)
    (folder / "spec.yaml").write_text(SPEC % (0, 300))
    done = run_cli("run", "spec.yaml", "--store", "runs.db", "-q", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert not Path(f"{folder}/runs.db-wal").exists()  # all of it is in the file itself
    return folder


@pytest.fixture
def folder(built: Path, tmp_path: Path) -> Path:
    """A copy of the built folder to damage."""
    copy = tmp_path / "work"
    shutil.copytree(built, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def trial_leaves(path: Path) -> list[int]:
    """The pages holding the trials: leaves of a WITHOUT ROWID table with more than a
    couple of rows (the empty reports table and the experiments' index hold fewer)."""
    data = path.read_bytes()
    size = struct.unpack(">H", data[16:18])[0]
    size = 65536 if size == 1 else size
    leaves = []
    for page in range(2, len(data) // size + 1):
        start = (page - 1) * size
        cells = struct.unpack(">H", data[start + 3 : start + 5])[0]
        if data[start] == LEAF_INDEX_PAGE and cells > 2:
            leaves.append(page)
    return leaves


def halve_a_page(path: Path) -> None:
    """Halve the row count written on a trials page in the middle of the file: SQLite
    then reads fewer trials without any error."""
    size = struct.unpack(">H", path.read_bytes()[16:18])[0]
    leaves = trial_leaves(path)
    page = leaves[len(leaves) // 2]
    with path.open("r+b") as file:
        file.seek((page - 1) * size + 3)
        cells = struct.unpack(">H", file.read(2))[0]
        file.seek((page - 1) * size + 3)
        file.write(struct.pack(">H", cells // 2))


def zero_pages(path: Path) -> None:
    """Two trials pages in the middle of the file overwritten with zeros."""
    size = struct.unpack(">H", path.read_bytes()[16:18])[0]
    leaves = trial_leaves(path)
    with path.open("r+b") as file:
        file.seek((leaves[len(leaves) // 2] - 1) * size)
        file.write(bytes(2 * size))


def random_middle(path: Path) -> None:
    """2,000 random bytes written into the middle of the file."""
    middle = path.stat().st_size // 2
    with path.open("r+b") as file:
        file.seek(middle)
        file.write(random.Random(0).randbytes(2000))


def raw_count(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM trials").fetchone()[0])
    finally:
        db.close()


def resume_in_python(path: Path) -> pt.TuneResult:
    """Resume the built experiment, as its spec would (its objective, space, seed)."""
    sys.path.insert(0, str(path.parent))
    try:
        objective = importlib.import_module("my_objective").loss
    finally:
        sys.path.remove(str(path.parent))
    return pt.tune(objective, {"x": pt.Float(0, 1), "pad": 0}, metric="loss",
                   max_trials=400, store=path, name="spec", seed=1, resume=True)  # fmt: skip


# ---- damaged files ------------------------------------------------------------------------


def test_a_page_misread_silently_is_refused_by_readers_and_writers(folder: Path) -> None:
    path = folder / "runs.db"
    halve_a_page(path)
    assert 0 < raw_count(path) < 300  # SQLite alone reads fewer trials, with no error
    before = files(folder)
    damaged = r"runs\.db is damaged \(SQLite's quick_check: .*paratune status --check"
    with pytest.raises(pt.StoreError, match=damaged):
        pt.load(path, "spec")
    with pytest.raises(pt.StoreError, match=damaged):
        SQLiteStore(path, readonly=True)
    with pytest.raises(pt.StoreError, match=damaged):
        resume_in_python(path)
    assert files(folder) == before


@pytest.mark.parametrize("damage", [random_middle, zero_pages])
def test_bytes_or_zeros_in_the_middle_are_refused(folder: Path, damage: Any) -> None:
    path = folder / "runs.db"
    damage(path)
    before = files(folder)
    with pytest.raises(pt.StoreError, match=r"runs\.db is damaged .*paratune recover"):
        pt.load(path, "spec")
    with pytest.raises(pt.StoreError, match=r"runs\.db is damaged .*paratune recover"):
        resume_in_python(path)
    assert files(folder) == before


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "spec"],
        ["resume", "spec", "--max-trials", "400"],
        ["run", "spec.yaml"],
        ["report", "spec", "--out", "."],
        ["export", "spec", "--format", "csv"],
    ],
)
@pytest.mark.parametrize("damage", [halve_a_page, zero_pages])
def test_no_command_prints_a_traceback_for_a_damaged_store(
    folder: Path, args: list[str], damage: Any
) -> None:
    damage(folder / "runs.db")
    before = files(folder)
    done = run_cli(*args, "--store", "runs.db", cwd=folder)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "runs.db is damaged" in done.stderr and "paratune recover runs.db" in done.stderr
    assert files(folder) == before


def test_a_damaged_store_with_a_write_ahead_log_stays_byte_for_byte(folder: Path) -> None:
    """A driver killed mid-run leaves a -wal; a refused opening must not copy it into the
    damaged file, as SQLite does when the last connection closes."""
    path = folder / "runs.db"
    halve_a_page(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("UPDATE experiments SET wall_time = wall_time + 1")  # into the -wal
    left = {name: (folder / name).read_bytes() for name in ("runs.db", "runs.db-wal")}
    writer.close()  # it checkpoints: put back what a killed driver leaves
    for name, data in left.items():
        (folder / name).write_bytes(data)
    before = files(folder)
    with pytest.raises(pt.StoreError, match="is damaged"):
        pt.load(path, "spec")
    after = files(folder)
    assert {n: after[n] for n in before} == before  # a -shm may appear, nothing else


def test_status_check_says_ok_or_lists_the_problems(folder: Path) -> None:
    good = run_cli("status", "--check", "--store", "runs.db", cwd=folder)
    assert good.returncode == 0 and "runs.db: ok" in good.stdout
    halve_a_page(folder / "runs.db")
    bad = run_cli("status", "--check", "--store", "runs.db", cwd=folder)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "runs.db is damaged; SQLite's integrity_check finds:" in bad.stdout
    assert "on page" in bad.stdout and "paratune recover runs.db NEW.db" in bad.stdout


def test_recover_copies_every_readable_trial_into_a_new_store(folder: Path) -> None:
    path = folder / "runs.db"
    whole = {t.trial_id: t for t in pt.load(path, "spec").trial_list}
    zero_pages(path)
    before = files(folder)
    done = run_cli("recover", "runs.db", "saved.db", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "trial ids missing: " in done.stdout
    saved = pt.load(folder / "saved.db", "spec").trial_list
    assert 200 < len(saved) < 300
    assert all(trial == whole[trial.trial_id] for trial in saved)  # each one exactly
    assert {n: data for n, data in files(folder).items() if n in before} == before
    check = run_cli("status", "--check", "--store", "saved.db", cwd=folder)
    assert check.returncode == 0 and "ok" in check.stdout
    again = run_cli("recover", "runs.db", "saved.db", cwd=folder)  # never over a file
    assert again.returncode == 1 and "saved.db exists already" in again.stderr
    resumed = run_cli("resume", "spec", "--store", "saved.db", "--max-trials", "320", "-q",
                      cwd=folder)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr


def test_recover_of_a_page_it_cannot_read_keeps_the_pages_after_it(folder: Path) -> None:
    path = folder / "runs.db"
    zero_pages(path)
    from paratune.store._recover import recover

    done = recover(path, folder / "saved.db")
    readable = raw_readable_ids(path)
    assert [t.trial_id for t in pt.load(folder / "saved.db", "spec").trial_list] == readable
    assert done.skipped["trials"] == 1 and done.copied["trials"] == len(readable)
    assert readable[-1] == 299  # the trials after the damage are back too


def raw_readable_ids(path: Path) -> list[int]:
    """The trial ids SQLite can read one by one, by their key."""
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    found = []
    try:
        for trial_id in range(300):
            with contextlib.suppress(sqlite3.DatabaseError):
                if db.execute(
                    "SELECT 1 FROM trials WHERE experiment = 'spec' AND trial_id = ?", (trial_id,)
                ).fetchone():
                    found.append(trial_id)
    finally:
        db.close()
    return found


# ---- read-only places -------------------------------------------------------------------


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
        shutil.copy(folder / "runs.db", mount / "runs.db")
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


def test_a_lost_first_page_is_named_as_such(folder: Path) -> None:
    path = folder / "runs.db"
    with path.open("r+b") as file:
        file.write(bytes(4096))
    done = run_cli("status", "--store", "runs.db", cwd=folder)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "runs.db begins with zeros where an SQLite file has its header" in done.stderr


def test_the_documented_recovery_runs_as_written(folder: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "store.md").read_text()
    section = docs.split("## Damaged files and full disks")[1].split("\n## ")[0]
    block = next(b for b in section.split("```sh\n")[1:] if "paratune recover" in b)
    zero_pages(folder / "runs.db")
    codes = []
    for line in block.split("```")[0].splitlines():
        command = line.split("#")[0].split()
        assert command[0] == "paratune"
        done = run_cli(*command[1:], cwd=folder)
        assert "Traceback" not in done.stderr
        codes.append(done.returncode)
    assert codes == [1, 0, 0]  # the check finds the damage; recover and status succeed
