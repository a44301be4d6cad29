"""Run the examples of one Markdown page: ``python _docs_runner.py STEPS.json``, in the
folder they are to run in (see `_docs.steps`).

Python blocks run in this process, one after another in one namespace (this script's
``__main__``, so the objectives they define travel to worker processes as a script's do),
compiled under the page's own name and line numbers: a traceback points at the page.
A deprecation warning raised at a block's own call is an error: a page shows what is
current. Commands run as child processes of the same interpreter (``paratune`` as
``python -m paratune``); the first that fails stops the run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any


def _docs_run_python(text: str, page: str, line: int) -> None:
    """Run a Python block in this script's namespace, its lines numbered as on the page."""
    code = compile("\n" * (line - 1) + text, page, "exec")
    exec(code, globals())


def _docs_run_command(words: list[str], page: str, line: int) -> None:
    """Run a command of a shell block; exit naming it if it fails."""
    if words[0] not in ("paratune", "python"):
        sys.exit(f"{page}, line {line}: `{shlex.join(words)}` is not a command the tests run")
    program = [sys.executable] if words[0] == "python" else [sys.executable, "-m", "paratune"]
    print(f"$ {shlex.join(words)}    # {page}, line {line}", flush=True)
    done = subprocess.run([*program, *words[1:]], check=False)
    if done.returncode != 0:
        sys.exit(f"{page}, line {line}: `{shlex.join(words)}` exited with {done.returncode}")


def _docs_run(steps: list[dict[str, Any]]) -> None:
    """Take the steps in order."""
    for step in steps:
        page, line = step["page"], step["line"]
        if "module" in step:
            Path(step["module"]).write_text(step["text"])
        elif "python" in step:
            print(f"# {page}, line {line}", flush=True)
            _docs_run_python(step["python"], page, line)
        else:
            _docs_run_command(step["command"], page, line)


if __name__ == "__main__":  # not when a spawned process imports this script
    # The blocks import the modules they wrote here, not this script's neighbours.
    sys.path[0] = os.getcwd()
    warnings.filterwarnings("error", category=DeprecationWarning, module="__main__")
    _docs_run(json.loads(Path(sys.argv[1]).read_text()))
