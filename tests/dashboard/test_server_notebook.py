"""`paratune.dashboard.start`, the notebook's form: it serves from a thread and returns at
once a `Dashboard` with its URL, which a notebook shows as an inline frame of the live page,
and whose `stop` ends the serving and frees the port; it refuses what `serve` refuses."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import paratune as pt

from .conftest import base, fetch


def test_start_serves_until_stopped(run_store: Path) -> None:
    from paratune.dashboard import Dashboard, start

    board = start(run_store)
    assert isinstance(board, Dashboard) and board.running
    assert board.url.startswith("http://127.0.0.1:") and board.url.endswith("/")
    assert fetch(f"{base(board.url)}/api/experiments").json()["store"] == "runs.db"
    shown = board._repr_html_()
    assert shown.startswith("<iframe ") and f'src="{board.url}"' in shown
    assert "running=True" in repr(board)
    port = int(board.url.split(":")[2].rstrip("/"))
    board.stop()
    assert not board.running
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there now


def test_start_escapes_its_url_in_the_frame(run_store: Path) -> None:
    from paratune.dashboard import start

    board = start(run_store, token='a"b<c>')
    try:
        shown = board._repr_html_()
        assert '"b<c>' not in shown and fetch(board.url).status == 200
    finally:
        board.stop()


def test_start_refuses_what_serve_refuses(tmp_path: Path, run_store: Path) -> None:
    from paratune.dashboard import DashboardError, start

    with pytest.raises(pt.StoreError, match="no store at"):
        start(tmp_path / "missing.db")
    with pytest.raises(DashboardError, match="--token"):
        start(run_store, host="0.0.0.0")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(DashboardError, match=f"port {taken} on 127.0.0.1 is in use"):
            start(run_store, port=taken)


def test_start_listens_beyond_loopback_with_a_token(run_store: Path) -> None:
    from paratune.dashboard import start

    board = start(run_store, host="0.0.0.0", token="t")
    try:
        assert board.url.startswith(f"http://{socket.gethostname()}:")
        port = board.url.split(":")[2].split("/")[0]
        assert fetch(f"http://127.0.0.1:{port}/api/experiments?token=t").status == 200
    finally:
        board.stop()
