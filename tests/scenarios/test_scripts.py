"""Scripts run as a user runs them: objectives from ``__main__``, spawn, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import wait_for_file

SCRIPT = """
import json, sys
import paratune as pt
from paratune.executors import Processes

def main():
    scale = 3.0  # captured by the closure below: it must travel to spawned workers

    def objective(config, ctx):
        return {"loss": scale * (config["x"] - 0.5) ** 2, "trial": ctx.trial_id}

    result = pt.tune(objective, {"x": pt.Float(0, 1)}, metric="loss",
                     executor=Processes(2, start_method=sys.argv[1]), max_trials=10, seed=4)
    print(json.dumps({"n": len(result.trial_list), "best": result.best_value,
                      "statuses": sorted({t.status.value for t in result.trial_list})}))

if __name__ == "__main__":
    main()
"""

SLOW = """
import pathlib

def objective(config, ctx):
    pathlib.Path(config["folder"], f"started-{ctx.trial_id}").touch()
    ctx.elapse(60)
    return 1.0
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_main_module_closure_under_fork_and_spawn(tmp_path: Path, method: str) -> None:
    script = tmp_path / "tune_me.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), method],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["n"] == 10 and summary["statuses"] == ["done"]


def test_ctrl_c_stops_a_process_run_cleanly(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW)
    (tmp_path / "spec.yaml").write_text(
        "objective: slow:objective\n"
        f"space: {{x: {{type: float, low: 0, high: 1}}, folder: {json.dumps(str(tmp_path))}}}\n"
        "executor: processes\nworkers: 2\nmax_trials: 10\n"
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "paratune", "run", "spec.yaml", "--json", "-q"],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_file(tmp_path / "started-0")
        wait_for_file(tmp_path / "started-1")
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
    finally:
        driver.kill()
    # Every trial was cancelled: no best value, so the exit status says so, but cleanly.
    assert driver.returncode == 1, err
    summary = json.loads(out.splitlines()[0])
    assert summary["stop_reason"] == "interrupted" and summary["trials"] == 2
    assert "Traceback" not in err
