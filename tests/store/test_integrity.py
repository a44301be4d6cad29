"""Damaged files: the store refuses what it cannot trust, in one message naming the file,
changing nothing; `paratune status --check` lists the problems and `paratune recover` saves
what SQLite can still read."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest

import paratune as pt
from paratune.store import SQLiteStore

from ..test_cli import run_cli
from .stores import files, raw_count, resume_in_python

LEAF_INDEX_PAGE = 0x0A  # SQLite's page type of a leaf of a WITHOUT ROWID table


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


def test_a_reader_checking_meanwhile_refuses_at_checked_and_changes_nothing(
    folder: Path,
) -> None:
    path = folder / "runs.db"
    whole = SQLiteStore(path, readonly=True, check_meanwhile=True)
    whole.select("spec")
    assert len(whole.trial_columns()) == 300
    whole.checked()
    whole.close()
    halve_a_page(path)
    before = files(folder)
    db = SQLiteStore(path, readonly=True, check_meanwhile=True)  # opens: the check runs on
    db.select("spec")
    assert 0 < len(db.trial_columns()) < 300  # SQLite's reading alone sees nothing wrong
    for _ in range(2):  # and again: what it found stays found
        with pytest.raises(pt.StoreError, match=r"runs\.db is damaged \(SQLite's quick_check"):
            db.checked()
    db.close()
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


def reporting(config: dict[str, Any], ctx: pt.Context) -> float:
    for step in range(12):
        ctx.report(step, loss=config["x"] / (step + 1), note="r" * 40)
    return float(config["x"])


def stored_reports(path: Path) -> dict[tuple[int, int], Any]:
    store = SQLiteStore(path, readonly=True)
    try:
        store.select("curves")
        return {(r.trial_id, r.step): r for r in store.reports()}
    finally:
        store.close()


def test_recover_keeps_every_report_sqlite_can_read(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    pt.tune(reporting, {"x": pt.Float(0, 1)}, max_trials=120, store=path, name="curves")
    whole = stored_reports(path)
    db = sqlite3.connect(path)
    try:
        pages = db.execute(
            "SELECT pageno FROM dbstat WHERE name = 'reports' AND pagetype = 'leaf'"
        )
        leaves = sorted(row[0] for row in pages)
    except sqlite3.OperationalError:  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
        pytest.skip("this SQLite has no dbstat table to find the pages of the reports")
    finally:
        db.close()
    size = struct.unpack(">H", path.read_bytes()[16:18])[0]
    with path.open("r+b") as file:  # zero a page of reports in the middle
        file.seek((leaves[len(leaves) // 2] - 1) * size)
        file.write(bytes(size))
    readable = set()
    db = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    for trial_id, step in whole:
        with contextlib.suppress(sqlite3.DatabaseError):
            row = db.execute(
                "SELECT 1 FROM reports WHERE experiment = 'curves' AND trial_id = ? AND step = ?",
                (trial_id, step),
            ).fetchone()
            readable |= {(trial_id, step)} if row else set()
    db.close()
    from paratune.store._recover import recover

    done = recover(path, tmp_path / "saved.db")
    saved = stored_reports(tmp_path / "saved.db")
    assert done.skipped["reports"] >= 1 and 0 < len(readable) < len(whole)
    assert set(saved) == readable  # every readable report, each one exactly as it was
    assert all(report == whole[key] for key, report in saved.items())
    assert done.missing == {}  # the trials themselves were not damaged
