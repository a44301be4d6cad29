"""Every example of README.md and docs/*.md runs as written (see `_docs` for how), every
block that does not run says why, and what the pages show of the command line and of
specs is what paratune accepts."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import pytest
import yaml

from paratune.cli import cli
from paratune.spec import resolve_run_spec

from ._docs import FENCE, NOT_RUN, PAGES, Block, blocks, markers, refusals, run_steps
from ._docs import steps as page_steps

RUNNABLE = ("python", "sh", "bash", "console", "shell")
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_examples_of_the_page_run(page: Path, tmp_path: Path) -> None:
    assert not [problem for block in blocks(page) for problem in refusals(block)]
    done = run_steps(page_steps(page), tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]


def test_the_runner_stops_at_the_first_failing_step_and_names_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n```python\nfrom answer import ANSWER\nprint('answer', ANSWER)\n```\n"
        "<!-- not run: it would fail -->\n```sh\nmake everything\n```\n"
        "```sh\npython -c 'print(6 * 7)'  # a comment\n"
        "paratune status --store missing.db\n```\n"
        "```python\nprint('never')\n```\n"
    )
    module = {"page": str(page), "line": 1, "module": "answer.py", "text": "ANSWER = 42\n"}
    done = run_steps([module, *page_steps(page)], tmp_path / "run")
    assert done.returncode != 0
    assert "answer 42\n" in done.stdout and "42\n" in done.stdout
    assert "make" not in done.stdout + done.stderr
    assert "line 12: `paratune status --store missing.db` exited with 1" in done.stderr
    assert "never" not in done.stdout


def test_a_block_that_calls_what_is_deprecated_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nimport warnings\nwarnings.warn('old', DeprecationWarning)\n```\n")
    done = run_steps(page_steps(page), tmp_path / "run")
    assert done.returncode != 0 and "DeprecationWarning: old" in done.stderr


def test_a_failing_python_block_is_reported_at_its_line_on_the_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n```python\nx = 1\nraise ValueError(x)\n```\n")
    done = run_steps(page_steps(page), tmp_path / "run")
    assert done.returncode != 0
    assert f'File "{page}", line 5' in done.stderr and "ValueError: 1" in done.stderr


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_block_that_does_not_run_says_why(page: Path) -> None:
    lines = page.read_text().splitlines()
    for number, line in markers(page):
        marker = NOT_RUN.match(line)
        assert marker and marker["why"].strip(), f"{page.name}:{number}: a marker without a why"
        assert number < len(lines) and FENCE.match(lines[number]), (
            f"{page.name}:{number}: a marker not right before a block"
        )
    assert not [problem for block in blocks(page) for problem in refusals(block)]


def test_the_pages_have_blocks_that_run() -> None:
    code = [block for page in PAGES for block in blocks(page) if block.language in RUNNABLE]
    assert len([block for block in code if block.not_run is None]) >= 25, len(code)


def command_lines(block: Block) -> list[str]:
    """The ``paratune ...`` commands a block shows (``$ `` prompts and comments removed),
    each with the indented lines that continue it."""
    found: list[str] = []
    going_on = False
    for line in block.text.splitlines():
        line = line.removeprefix("$ ").split("#")[0]
        if line.startswith("paratune "):
            found.append(line)
        elif going_on and line[:1].isspace():
            found[-1] += line
        going_on = line.startswith("paratune ") or (going_on and line[:1].isspace())
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_commands_and_flags_the_page_shows_exist(page: Path) -> None:
    group = cli
    assert isinstance(group, click.Group)
    for block in blocks(page):
        for line in command_lines(block):
            name = line.split()[1]
            if name.startswith("-"):
                continue
            command = group.commands.get(name)
            assert command is not None, f"{block.where}: no command {name!r}: {line}"
            options = [param.opts + param.secondary_opts for param in command.params]
            flags = {"-h", "--help", *(flag for names in options for flag in names)}
            shown = set(FLAG.findall(line))
            unknown = shown - flags
            assert not unknown, f"{block.where}: `paratune {name}` has no {sorted(unknown)}"
            if block.not_run and "synopsis" in block.not_run:
                missing = [names[0] for names in options if names[0].startswith("-")
                           and not shown.intersection(names)]  # fmt: skip
                assert not missing, f"{block.where}: the synopsis of {name} lacks {missing}"


def spec_blocks() -> list[Block]:
    """The ```yaml and ```json blocks of the pages that are run specs."""
    return [
        block
        for page in PAGES
        for block in blocks(page)
        if block.language in ("yaml", "json") and "objective" in block.text
    ]


@pytest.mark.parametrize("block", spec_blocks(), ids=lambda block: block.where)
def test_the_specs_the_pages_show_are_valid(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(block.text) if block.language == "yaml" else json.loads(block.text)
    module, _, function = data["objective"].partition(":")
    # An objective of that name, so that the spec is checked, not the libraries it uses.
    (tmp_path / f"{module}.py").write_text(f"def {function}(config):\n    return 0.0\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    arguments = resolve_run_spec(data, source=tmp_path / f"spec.{block.language}")
    sys.modules.pop(module, None)
    assert set(arguments) == set(data)
    assert arguments["objective"].__module__ == module


@pytest.mark.parametrize(
    ("block", "complaint"),
    [
        ("```sh\nparatune status --store x.db \\\n    --nope\n```\n", "has no ['--nope']"),
        ("```\n$ paratune stats\n```\n", "no command 'stats'"),
        ("<!-- not run: a synopsis -->\n```sh\nparatune status [NAME] [--store PATH]\n"
         "                [--json]  # and no --check\n```\n", "lacks ['--check']"),
    ],
)  # fmt: skip
def test_a_command_or_flag_that_does_not_exist_is_caught(
    block: str, complaint: str, tmp_path: Path
) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"Text.\n\n{block}")
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        test_the_commands_and_flags_the_page_shows_exist(page)
