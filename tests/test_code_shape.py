"""The source keeps to its limits: no module over 500 lines, no function over 60 (docstrings
aside), as `benchmarks/code_shape.py` counts them."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "code_shape.py"


@pytest.fixture(scope="module")
def shape() -> ModuleType:
    spec = importlib.util.spec_from_file_location("code_shape", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["code_shape"] = module  # dataclasses and NamedTuples look their module up
    spec.loader.exec_module(module)
    return module


def test_no_module_is_over_the_limit(shape: ModuleType) -> None:
    sizes = shape.module_sizes()
    assert len(sizes) > 50  # the whole package was read
    over = {name: lines for name, lines in sizes.items() if lines > shape.MAX_MODULE_LINES}
    assert over == {}


def test_no_function_is_over_the_limit(shape: ModuleType) -> None:
    functions = shape.function_lengths()
    assert len(functions) > 500
    over = [f for f in functions if f.lines > shape.MAX_FUNCTION_LINES]
    assert over == []


def test_a_docstring_does_not_count_but_the_rest_does(shape: ModuleType) -> None:
    source = 'def f(x):\n    """One.\n\n    Two.\n    """\n    y = x\n    return y\n'
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert shape._length(node) == 3  # def, and two lines of body
