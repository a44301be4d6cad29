"""A spec's objective is imported from the folder beside the spec, even when this process
imported a module of the same name from elsewhere before (two specs in one notebook)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import paratune as pt
from paratune.spec import load_run_spec

from .conftest import imports_undone

SPEC = "objective: {module}:objective\nspace:\n  x: {{type: float, low: 0.0, high: 1.0}}\n"


@pytest.fixture(autouse=True)
def _imports_undone() -> Iterator[None]:
    with imports_undone("twin_"):
        yield


def spec_returning(folder: Path, value: float, module: str = "twin_objective") -> Path:
    """A spec in ``folder`` whose objective, in ``module`` beside it, returns ``value``."""
    folder.mkdir()
    source = f"def objective(config):\n    return {value} + 0 * config['x']\n"
    if "." in module:  # a package's module
        package, _, name = module.partition(".")
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text("")
        (folder / package / f"{name}.py").write_text(source)
    else:
        (folder / f"{module}.py").write_text(source)
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(module=module))
    return spec


def values(spec: Path) -> set[float | None]:
    result = pt.tune(**load_run_spec(spec), max_trials=2, store=None)
    return {trial.value for trial in result.trial_list}


@pytest.mark.parametrize("module", ["twin_objective", "twin_package.objectives"])
def test_two_specs_whose_modules_share_a_name_each_run_their_own(
    tmp_path: Path, module: str
) -> None:
    first = spec_returning(tmp_path / "first", 1.0, module)
    second = spec_returning(tmp_path / "second", 2.0, module)
    assert values(first) == {1.0}
    assert values(second) == {2.0}
    assert values(first) == {1.0}  # and back


def test_a_helper_module_beside_each_spec_is_its_own(tmp_path: Path) -> None:
    specs = []
    for name, value in (("first", 1.0), ("second", 2.0)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "twin_helper.py").write_text(f"VALUE = {value}\n")
        (folder / "twin_main.py").write_text(
            "import twin_helper\n\ndef objective(config):\n"
            "    return twin_helper.VALUE + 0 * config['x']\n"
        )
        (folder / "spec.yaml").write_text(SPEC.format(module="twin_main"))
        specs.append(folder / "spec.yaml")
    assert [values(spec) for spec in specs] == [{1.0}, {2.0}]


def test_a_library_module_a_spec_folder_shadows_is_left_alone(tmp_path: Path) -> None:
    import json

    spec = spec_returning(tmp_path / "only", 1.0)
    (tmp_path / "only" / "json.py").write_text("BROKEN = True\n")
    assert values(spec) == {1.0}
    assert sys.modules["json"] is json


def test_a_spec_read_twice_imports_its_module_once(tmp_path: Path) -> None:
    spec = spec_returning(tmp_path / "only", 1.0)
    assert load_run_spec(spec)["objective"] is load_run_spec(spec)["objective"]
