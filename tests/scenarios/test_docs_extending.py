"""docs/extending.md: each part it shows has a module (a block whose first line is ``# name.py``),
a script that tunes with it, and a contract test module; the contract suites pass, run by
pytest in a process of its own. `test_docs.py` runs the page's scripts, as every page's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ._docs import REPOSITORY, blocks

DOC = REPOSITORY / "docs" / "extending.md"


def python_blocks() -> list[str]:
    """Every ```python block of the page, in order."""
    return [block.text for block in blocks(DOC) if block.language == "python"]


def files() -> dict[str, str]:
    """The blocks that name their file: modules and test modules, by file name."""
    return {block.module: block.text for block in blocks(DOC) if block.module is not None}


def scripts() -> list[str]:
    """The blocks that name no file: scripts, run as they are."""
    named = set(files().values())
    return [text for text in python_blocks() if text not in named]


def modules() -> list[str]:
    """The file names of the parts (the named blocks that are no test module)."""
    return [name for name in files() if not name.startswith("test_")]


def write_files(folder: Path) -> None:
    """Write the modules and test modules into ``folder``."""
    for name, text in files().items():
        (folder / name).write_text(text)


def run_python(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python in ``folder``, which the blocks import their modules from."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_part_has_a_module_a_script_that_runs_it_and_a_contract_test() -> None:
    names = set(files())
    parts = modules()
    assert len(parts) == 4, parts  # searcher, scheduler, executor, store
    for module in parts:
        stem = module.removesuffix(".py")
        assert f"test_{module}" in names, f"no contract test for {module}"
        assert any(f"from {stem} import" in script for script in scripts()), (
            f"no script runs {module}"
        )
        assert "Contract" in files()[f"test_{module}"]
    assert len(python_blocks()) == len(names) + len(scripts())


def test_the_contract_suites_of_the_examples_pass(tmp_path: Path) -> None:
    write_files(tmp_path)
    done = run_python(
        tmp_path, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "-v", str(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tests = [name for name in files() if name.startswith("test_")]
    assert len(tests) == 4
    for test in tests:
        passed = re.findall(rf"^{test}::Test\w+::test_\w+(?:\[[^\]]*\])? PASSED", done.stdout,
                            flags=re.MULTILINE)  # fmt: skip
        assert len(passed) >= 5, f"{test}: {len(passed)} checks passed\n{done.stdout}"
