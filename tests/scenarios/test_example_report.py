"""The report example runs, writes its report, and (with a browser) its screenshot; the docs
describe every spec key and show the screenshot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paratune._browser import find_chromium
from paratune.spec import spec_keys

from .test_examples import ROOT, run


def test_report_demo_writes_a_report(tmp_path: Path) -> None:
    args = ["--trials", "12", "--out", str(tmp_path)]
    if find_chromium() is not None:
        args += ["--screenshot", str(tmp_path / "shot.png")]
    done = run(str(ROOT / "examples/report_demo.py"), *args)
    assert done.returncode == 0, done.stderr
    assert "report: " in done.stdout and "(12 trials" in done.stdout
    page = (tmp_path / "demo.html").read_text()
    assert "<h2>Learning curves</h2>" in page  # the demo reports every step
    if find_chromium() is not None:
        assert (tmp_path / "shot.png").read_bytes().startswith(b"\x89PNG")


def test_spec_reference_describes_every_key_with_both_examples() -> None:
    text = (ROOT / "docs/spec.md").read_text()
    described = set(re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE))
    assert described == set(spec_keys())
    assert "```yaml" in text and "```json" in text


def test_reporting_docs_show_the_screenshot() -> None:
    text = (ROOT / "docs/reporting.md").read_text()
    shown = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert shown == ["report-screenshot.png", "report-1m.png"]
    for picture, made_by in zip(
        shown, ["examples/report_demo.py", "benchmarks/report_screenshot.py"], strict=True
    ):
        path = ROOT / "docs" / picture
        if not (path.is_file() and path.read_bytes().startswith(b"\x89PNG")):
            pytest.fail(f"docs/{picture} is missing or not a PNG: run {made_by}")
