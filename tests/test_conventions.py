"""What users type from habit with other tools: ``best_params`` beside ``best_config``, and a
store given as an SQLAlchemy-style URL (``sqlite:///runs.db``) wherever a path is."""

from __future__ import annotations

from pathlib import Path

import pytest

import paratune as pt

from .test_cli import run_cli

SPACE = {"x": pt.Float(0, 1)}


def test_best_params_is_best_config() -> None:
    result = pt.tune(lambda c: c["x"], SPACE, max_trials=5, store=None)
    assert result.best_params == result.best_config and result.best_params is not None
    failing = pt.tune(lambda c: 1 / 0, SPACE, max_trials=2, store=None)
    assert failing.best_params is None  # no trial ended with a value


def test_a_sqlite_url_names_the_file_in_python_and_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ran = pt.tune(lambda c: c["x"], SPACE, max_trials=3, store="sqlite:///runs.db", name="a")
    assert (tmp_path / "runs.db").is_file() and (tmp_path / "runs-checkpoints").is_dir()
    assert pt.load("sqlite:///runs.db", "a").best_value == ran.best_value
    absolute = f"sqlite:///{tmp_path / 'abs.db'}"  # sqlite:////... : an absolute path
    pt.tune(lambda c: c["x"], SPACE, max_trials=2, store=absolute, name="b")
    assert pt.load(tmp_path / "abs.db", "b").best_value is not None
    for args in (["status", "a"], ["status", "--check"], ["export", "a", "--format", "csv"]):
        done = run_cli(*args, "--store", "sqlite:///runs.db", cwd=tmp_path)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ("postgresql://user@host/db", "keeps experiments in SQLite files"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
    ],
)
def test_a_url_of_no_sqlite_file_is_refused_by_name(tmp_path: Path, store: str, says: str) -> None:
    with pytest.raises(pt.StoreError, match=says):
        pt.tune(lambda c: c["x"], SPACE, max_trials=1, store=store, name="a")
    done = run_cli("status", "--store", store, cwd=tmp_path)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made anywhere
