"""The shape of the source: the largest modules and the longest functions in ``src/``.

Run: ``python benchmarks/code_shape.py [--top N]``. A function's length counts its lines
from ``def`` to its last line, without its docstring; the project's limits are 500 lines a
module and 60 lines a function (``tests/test_code_shape.py`` holds them).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import NamedTuple

SOURCE = Path(__file__).resolve().parent.parent / "src" / "paratune"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


class Function(NamedTuple):
    """One function or method of the source, and its length without its docstring."""

    where: str
    lines: int


def module_sizes(root: Path = SOURCE) -> dict[str, int]:
    """Each module's path (relative to the package's parent) and its number of lines."""
    return {
        str(path.relative_to(root.parent)): len(path.read_text().splitlines())
        for path in sorted(root.rglob("*.py"))
    }


def function_lengths(root: Path = SOURCE) -> list[Function]:
    """Every function and method of the source, longest first."""
    found: list[Function] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        relative = path.relative_to(root.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append(Function(f"{relative}:{node.name}", _length(node)))
    return sorted(found, key=lambda function: -function.lines)


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    assert node.end_lineno is not None
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    lines = node.end_lineno - first + 1
    first_statement = node.body[0]
    if (
        isinstance(first_statement, ast.Expr)
        and isinstance(first_statement.value, ast.Constant)
        and isinstance(first_statement.value.value, str)
        and first_statement.end_lineno is not None
    ):
        lines -= first_statement.end_lineno - first_statement.lineno + 1  # the docstring
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many of each to list")
    top = parser.parse_args().top
    sizes = sorted(module_sizes().items(), key=lambda item: -item[1])
    functions = function_lengths()
    print(f"modules: {len(sizes)}, over {MAX_MODULE_LINES} lines: "
          f"{sum(lines > MAX_MODULE_LINES for _, lines in sizes)}")  # fmt: skip
    for name, lines in sizes[:top]:
        print(f"  {lines:5d}  {name}")
    over = sum(function.lines > MAX_FUNCTION_LINES for function in functions)
    print(f"functions: {len(functions)}, over {MAX_FUNCTION_LINES} lines: {over}, "
          f"over 50: {sum(function.lines > 50 for function in functions)}")  # fmt: skip
    for function in functions[:top]:
        print(f"  {function.lines:5d}  {function.where}")


if __name__ == "__main__":
    main()
