"""The tests' own waiting helpers (`tests._wait`)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ._wait import poll, wait_until


def test_wait_until_returns_what_the_condition_returned(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    writer = threading.Timer(0.05, flag.write_text, args=("set",))
    writer.start()
    try:
        assert wait_until(lambda: flag.exists() and flag.read_text(), 30, "the flag") == "set"
    finally:
        writer.join()


def test_wait_until_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"^waited 0.05 s for the gate file, in vain$"):
        wait_until(lambda: False, 0.05, "the gate file")


def test_poll_says_whether_the_condition_came_true() -> None:
    calls: list[int] = []

    def third_call() -> bool:
        calls.append(1)
        return len(calls) >= 3

    assert poll(third_call, 30)
    assert len(calls) == 3
    assert not poll(lambda: None, 0.05)
