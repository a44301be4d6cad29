"""The README's Python blocks run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_quick_start_is_five_lines_and_runs(tmp_path: Path) -> None:
    blocks = python_blocks()
    quick_start = blocks[0]
    assert len(quick_start.strip().splitlines()) == 5
    script = tmp_path / "quick_start.py"
    script.write_text("\n\n".join(blocks))  # the second block builds on the first
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "{'lr': " in done.stdout
