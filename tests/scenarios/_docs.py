"""The code blocks of the Markdown pages (README.md and docs/*.md), and the steps that run
them: what `test_docs.py` checks and runs.

A page's examples run in document order as one script: its ```python blocks in one Python
process (so a block builds on those before it), and, at their place, the commands of its
```sh, ```bash and ```console blocks, each of which must be a ``paratune ...`` or
``python ...`` command (``python`` being the interpreter the tests run under). A Python
block whose first line is ``# name.py`` is a module: it is written to that file, for the
blocks after it to import, instead of being run. Blocks in other languages (```yaml,
```json, or none) are data, output or diagrams, and are not run.

A block that cannot run in the test suite (it needs a cluster, a GPU, an install, hours) is
preceded, on the line right before its opening fence, by ``<!-- not run: why -->``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
"""Every Markdown page whose examples run."""

RUNNER = Path(__file__).with_name("_docs_runner.py")
"""The script that runs a page's steps (`steps`), in a folder of its own."""

SHELL = ("sh", "bash", "console", "shell")
NOT_RUN = re.compile(r"^\s*<!-- not run: (?P<why>.*?) -->\s*$")
MARKER = re.compile(r"^\s*<!--\s*not run")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w-]*)\s*$")
MODULE = re.compile(r"# (?P<name>\w+\.py)\n")
PROGRAMS = ("paratune", "python")
"""What a shell block's commands may start with."""


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page."""

    page: Path
    line: int
    """The page's line number of the block's first line of code."""
    language: str
    text: str
    """The code, its fence's indentation removed."""
    not_run: str | None
    """Why the block does not run, when a marker says so; None for a block that runs."""

    @property
    def where(self) -> str:
        """The page and line, for messages."""
        inside = self.page.is_relative_to(REPOSITORY)
        return f"{self.page.relative_to(REPOSITORY) if inside else self.page}, line {self.line}"

    @property
    def module(self) -> str | None:
        """The file a Python block names on its first line (``# name.py``), or None."""
        named = MODULE.match(self.text) if self.language == "python" else None
        return named["name"] if named else None


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order."""
    lines = page.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = textwrap.dedent("\n".join(lines[index + 1 : end]))
        marker = NOT_RUN.match(lines[index - 1]) if index > 0 else None
        why = marker["why"].strip() if marker else None
        text = code + "\n" if code else ""
        found.append(Block(page, index + 2, opening["language"], text, why))
        index = end + 1
    return found


def markers(page: Path) -> list[tuple[int, str]]:
    """Every ``not run`` marker of ``page``: its line number and the line."""
    lines = page.read_text().splitlines()
    return [(number, line) for number, line in enumerate(lines, 1) if MARKER.search(line)]


def commands(block: Block) -> list[tuple[int, list[str]]]:
    """The commands of a shell block, each with the page's line number where it starts and
    split into words: lines joined where they end in a backslash, comments dropped, and in a
    ```console block only the lines after ``$ `` (the others are what the commands print)."""
    found: list[tuple[int, list[str]]] = []
    pending: tuple[int, str] | None = None  # a command whose line ends in a backslash
    for number, line in enumerate(block.text.splitlines(), block.line):
        if pending is None and block.language == "console":
            if not line.startswith("$ "):
                continue
            line = line[2:]
        start, text = pending if pending else (number, "")
        text += line
        if text.endswith("\\"):
            pending = (start, text[:-1])
            continue
        pending = None
        words = shlex.split(text, comments=True)
        if words:
            found.append((start, words))
    return found


def refusals(block: Block) -> list[str]:
    """What stops a block from running as the tests run blocks: empty when it runs (or is
    marked not to)."""
    if block.not_run is not None or block.language not in SHELL:
        return []
    return [
        f"{block.where}: `{shlex.join(words)}` is neither a paratune nor a python command; "
        "mark the block `<!-- not run: why -->`"
        for _, words in commands(block)
        if words[0] not in PROGRAMS
    ]


def steps(page: Path) -> list[dict[str, Any]]:
    """What `_docs_runner.py` does for ``page``, in order: run a Python block, write a
    module, or run a command."""
    done: list[dict[str, Any]] = []
    for block in blocks(page):
        if block.not_run is not None:
            continue
        where = {"page": str(block.page), "line": block.line}
        if block.module is not None:
            done.append({**where, "module": block.module, "text": block.text})
        elif block.language == "python":
            done.append({**where, "python": block.text})
        elif block.language in SHELL:
            for line, words in commands(block):
                done.append({"page": str(block.page), "line": line, "command": words})
    return done


def run_steps(steps: list[dict[str, Any]], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run ``steps`` with `_docs_runner.py` in ``folder`` (made), beside a copy of the
    repository's examples, as ``python`` and ``paratune`` commands run there."""
    shutil.copytree(
        REPOSITORY / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    plan = folder / ".steps.json"
    plan.write_text(json.dumps(steps))
    return subprocess.run(
        [sys.executable, str(RUNNER), str(plan)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
