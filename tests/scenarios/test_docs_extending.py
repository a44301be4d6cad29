"""docs/extending.md runs as written: its modules (a block whose first line is ``# name.py``),
the scripts that tune with them, and its contract test modules, which pytest runs in a
process of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
FILE_NAME = re.compile(r"# (\w+\.py)\n")


def python_blocks() -> list[str]:
    """Every ```python block of the page, in order."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def files() -> dict[str, str]:
    """The blocks that name their file: modules and test modules, by file name."""
    named = (FILE_NAME.match(block) for block in python_blocks())
    return {match[1]: match.string for match in named if match}


def scripts() -> list[str]:
    """The blocks that name no file: scripts, run as they are."""
    return [block for block in python_blocks() if not FILE_NAME.match(block)]


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


@pytest.mark.parametrize("index", range(len(scripts())))
def test_script_runs(tmp_path: Path, index: int) -> None:
    write_files(tmp_path)
    script = tmp_path / "script.py"
    script.write_text(scripts()[index])
    done = run_python(tmp_path, str(script))
    assert done.returncode == 0, done.stderr


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
