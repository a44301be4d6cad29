"""The training-framework callbacks' modules: `import paratune` imports none of their
frameworks, a missing framework is an ImportError that says which extra to install, and
metric names are checked where the callback is made."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import paratune as pt

MODULES = [
    ("paratune.lightning", ("lightning", "lightning.pytorch"), "lightning"),
    ("paratune.xgboost", ("xgboost",), "xgboost"),
    ("paratune.lightgbm", ("lightgbm",), "lightgbm"),
]


def test_importing_paratune_imports_no_framework() -> None:
    frameworks = ("lightning", "xgboost", "lightgbm", "torch")
    code = f"import paratune, sys; print([m for m in {frameworks!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("module", "frameworks", "extra"), MODULES)
def test_a_missing_framework_names_the_extra_to_install(
    module: str, frameworks: tuple[str, ...], extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in frameworks:  # None in sys.modules: the import fails as if not installed
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=rf"^{module} needs .*pip install 'paratune\[{extra}\]'"):
        importlib.import_module(module)


def test_metric_names_must_be_strings() -> None:
    pytest.importorskip("xgboost")
    from paratune.xgboost import ReportCallback

    ctx = pt.Context(trial_id=0, seed=0)
    assert ReportCallback(ctx, "valid-logloss").metrics == ("valid-logloss",)
    assert ReportCallback(ctx, ["a", "b"]).metrics == ("a", "b")
    assert ReportCallback(ctx).metrics is None
    with pytest.raises(TypeError, match="metric names are strings, got 3"):
        ReportCallback(ctx, ["valid-logloss", 3])  # type: ignore[list-item]
