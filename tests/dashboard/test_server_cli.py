"""``paratune dashboard``: it prints its URL and serves until Ctrl-C (exit 0, nothing more
said), as `paratune.dashboard.serve` does; and it refuses, in one message with no traceback,
what it cannot serve: no store, not a store, a damaged store, a port in use, a host beyond
loopback without a token, the dashboard's extra missing. ``import paratune`` imports none
of the dashboard's packages."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import paratune as pt
from paratune.cli import cli

from ..store.test_integrity import zero_pages
from .conftest import base, fetch


def refusal(*args: str) -> str:
    """What ``paratune dashboard ARGS`` says as it refuses (checked: an error, no trace)."""
    done = CliRunner().invoke(cli, ["dashboard", *args])
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit) and "Traceback" not in done.output
    assert done.output.startswith("Error: ") and done.output.count("\n") == 1, done.output
    return done.output


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_stores_it_cannot_read_are_refused(tmp_path: Path, run_store: Path) -> None:
    assert f"no store at {tmp_path / 'missing.db'}" in refusal(str(tmp_path / "missing.db"))
    (tmp_path / "notes.txt").write_text("not a store")
    assert "is not an SQLite database" in refusal(str(tmp_path / "notes.txt"))
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("CREATE TABLE t (x)")
    assert "an SQLite database but not a paratune store" in refusal(str(tmp_path / "other.db"))
    damaged = tmp_path / "damaged.db"
    pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, executor="serial", max_trials=300,
            store=str(damaged), name="big", progress=False)  # fmt: skip
    zero_pages(damaged)
    said = refusal(str(damaged))
    assert "damaged.db is damaged" in said and "paratune recover" in said


def test_addresses_it_cannot_serve_are_refused(run_store: Path, taken_port: int) -> None:
    said = refusal(str(run_store), "--port", str(taken_port))
    assert f"port {taken_port} on 127.0.0.1 is in use" in said
    said = refusal(str(run_store), "--host", "0.0.0.0")
    assert "--token" in said and "configs" in said
    assert "empty" in refusal(str(run_store), "--token", "")


def test_a_missing_extra_is_named(run_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("paratune.dashboard")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    said = refusal(str(run_store))
    assert "uvicorn" in said and "pip install 'paratune[dashboard]'" in said


def test_importing_paratune_imports_no_dashboard_package() -> None:
    code = (
        "import sys, paratune, paratune.cli\n"
        "print([m for m in ('starlette', 'uvicorn', 'plotly') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, env=_env())  # fmt: skip
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("how", ["command", "serve"])
def test_it_serves_until_ctrl_c(run_store: Path, how: str) -> None:
    if how == "command":
        command = ["-m", "paratune", "dashboard", str(run_store), "--token", "abc"]
    else:
        command = [
            "-c",
            f"import paratune.dashboard as d; d.serve({str(run_store)!r}, token='abc')",
        ]
    server = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert f"paratune dashboard of {run_store} at http://127.0.0.1:" in line
        url = line.split(" at ")[1].split()[0]
        assert url.endswith("/?token=abc")
        assert fetch(url).status == 200 and fetch(base(url)).status == 403
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    finally:
        server.kill()
        server.wait()
    assert server.returncode == 0 and out == "" and err == ""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
