"""README.md: a quick start of five lines that runs alone, and the names it gives of
searchers and executors are those paratune takes. Every example of it runs in
`test_docs.py`."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from paratune.cli import cli

from ._docs import REPOSITORY, blocks, run_steps

README = REPOSITORY / "README.md"


def test_quick_start_is_five_lines_and_runs_alone(tmp_path: Path) -> None:
    quick_start = next(block for block in blocks(README) if block.language == "python")
    assert len(quick_start.text.strip().splitlines()) == 5
    step = {"page": str(README), "line": quick_start.line, "python": quick_start.text}
    done = run_steps([step], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "{'lr': " in done.stdout


@pytest.mark.parametrize("option", ["--searcher", "--executor"])
def test_the_readme_names_every_searcher_and_executor(option: str) -> None:
    group = cli
    assert isinstance(group, click.Group)
    param = next(p for p in group.commands["run"].params if option in p.opts)
    assert isinstance(param.type, click.Choice)
    text = README.read_text()
    missing = [name for name in param.type.choices if f'"{name}"' not in text]
    assert not missing, f"README.md does not name the {option[2:]}s {missing}"
