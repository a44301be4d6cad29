"""The runs the fault harness kills: an objective module, and one spec per scenario.

The objectives write two logs beside their module, each line appended with ``O_APPEND`` in
one ``write`` (so lines from two workers never interleave, and a killed worker leaves whole
lines only):

- ``progress.log``: one line when a trial (``flat``) or an epoch (``epochs``) starts. The
  harness measures "a little later" in these lines rather than in seconds.
- ``evaluations.log``: ``trial_id,attempt,budget,value`` when an evaluation finishes, just
  before the objective returns (``-`` for no budget, ``failed`` for a failure on purpose).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OBJECTIVE_MODULE = "fault_objective"
PROGRESS_LOG = "progress.log"
EVALUATIONS_LOG = "evaluations.log"
GATE = "gate.open"
HOLD, HELD_LOG = "hold", "held.log"

OBJECTIVE = '''
"""Objectives of the fault-injection harness (written by tests/faults/scenarios.py)."""

import os

from tests._wait import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


def _append(name, line):
    fd = os.open(os.path.join(HERE, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


def flat(config, ctx):
    """One evaluation per trial; fails on purpose where x > fail_above (when given)."""
    _append("progress.log", str(ctx.trial_id))
    ctx.elapse(config.get("seconds", 0.03))
    if config["x"] > config.get("fail_above", 2.0):
        _append("evaluations.log", f"{ctx.trial_id},{ctx.attempt},-,failed")
        raise ValueError("fails on purpose")
    value = (config["x"] - 0.3) ** 2 + 0.1 * config["k"] + 1e-6 * (ctx.seed % 1000)
    _append("evaluations.log", f"{ctx.trial_id},{ctx.attempt},-,{value!r}")
    return {"loss": value}


def gated(config, ctx):
    """`flat`, but trials after the first two wait until the gate file exists."""
    if ctx.trial_id >= 2:
        wait_until(lambda: os.path.exists(os.path.join(HERE, "gate.open")), 60, "the gate")
    return flat(config, ctx)


def epochs(config, ctx):
    """Trains epoch by epoch from its checkpoint: reports and saves a checkpoint each epoch.

    The state after epoch e depends only on the config, the seed and e, so a run resumed
    from any checkpoint reports exactly what an uninterrupted one would.
    """
    state = ctx.load_checkpoint() or {"step": 0, "w": 0.0, "loss": None}
    budget = int(ctx.budget)
    for epoch in range(ctx.start_step, budget):
        _append("progress.log", f"{ctx.trial_id},{epoch + 1}")
        ctx.elapse(config.get("seconds", 0.005))
        w = state["w"] + (config["x"] - 0.3) ** 2 + config["k"] / (epoch + 1) ** 2
        loss = w / (epoch + 1) + 1e-6 * (ctx.seed % 1000)
        state = {"step": epoch + 1, "w": w, "loss": loss}
        ctx.report(epoch + 1, loss=loss)
        ctx.save_checkpoint(state, step=epoch + 1)
    if state["step"] != budget:
        raise RuntimeError(f"checkpoint at step {state['step']}, budget {budget}")
    _append("evaluations.log", f"{ctx.trial_id},{ctx.attempt},{budget},{state['loss']!r}")
    return {"loss": state["loss"]}


def held(config, ctx):
    """`epochs`, but a promoted job (budget above 1) waits while the hold file exists."""
    if ctx.budget > 1 and os.path.exists(os.path.join(HERE, "hold")):
        _append("held.log", f"{ctx.trial_id},{int(ctx.budget)}")
        hold = os.path.join(HERE, "hold")
        wait_until(lambda: not os.path.exists(hold), 60, "the hold file to go")
    return epochs(config, ctx)
'''


@dataclass(frozen=True)
class Scenario:
    """One kind of run to kill and resume.

    Attributes:
        name: the scenario's name, also the experiment's name in the store.
        spec: the run spec, with ``{seed}`` where the experiment seed goes.
        max_trials: the spec's ``max_trials``.
        rungs: the budgets of a multi-fidelity scheduler's rungs (empty: one full-budget
            evaluation per trial).
        unit: what counts as committed progress: ``"trials"`` (ended trials) or
            ``"reports"`` (rows of the reports table).
        units: at least how much progress, in ``unit``, the whole run commits (a kill point
            leaves room for the kill points after it within this).
        commits: the range ``(low, high)`` of committed progress, in ``unit``, a session
            makes before it is killed (high excluded).
        order_free: True when the run's trials do not depend on the order results come back
            in, so the result can be compared with an uninterrupted run.
    """

    name: str
    spec: str
    max_trials: int
    rungs: tuple[int, ...] = ()
    unit: str = "trials"
    units: int = 0
    commits: tuple[int, int] = (1, 4)
    order_free: bool = False

    def spec_text(self, seed: int) -> str:
        """The spec with its experiment seed."""
        return self.spec.replace("{seed}", str(seed))


_COMMON = "metric: loss\nexecutor: processes\nworkers: 2\nseed: {seed}\n"

RANDOM = Scenario(
    name="random",
    spec=(
        f"name: random\nobjective: {OBJECTIVE_MODULE}:flat\nsearcher: random\n"
        "space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}, "
        "fail_above: 0.85}\nmax_trials: 40\n" + _COMMON
    ),
    max_trials=40,
    units=40,
    order_free=True,
)
ASHA = Scenario(
    name="asha",
    spec=(
        f"name: asha\nobjective: {OBJECTIVE_MODULE}:epochs\n"
        "space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}}\n"
        "scheduler: {type: asha, budget: epochs, min_budget: 1, max_budget: 9, eta: 3}\n"
        "max_trials: 24\n" + _COMMON
    ),
    max_trials=24,
    rungs=(1, 3, 9),
    unit="reports",
    # Every trial reports at rung 1, and at least a third of them twice more at rung 3.
    units=48,
    commits=(1, 8),
)
GP = Scenario(
    name="gp",
    spec=(
        f"name: gp\nobjective: {OBJECTIVE_MODULE}:flat\nsearcher: gp\n"
        "space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}, "
        "seconds: 0.02}\nmax_trials: 20\n" + _COMMON
    ),
    max_trials=20,
    units=20,
    commits=(1, 3),
)
SCENARIOS = {scenario.name: scenario for scenario in (RANDOM, ASHA, GP)}
"""The scenarios the kill-and-resume loop runs."""

OWNED = Scenario(
    name="owned",
    spec=(
        f"name: owned\nobjective: {OBJECTIVE_MODULE}:gated\nsearcher: random\n"
        "space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}, "
        "seconds: 0.01}\nmax_trials: 8\n" + _COMMON
    ),
    max_trials=8,
)
"""A run whose trials after the first two wait for the gate file: it stays alive, with a
trial committed, until the test lets it go on."""

HELD = Scenario(
    name="held",
    spec=(
        f"name: held\nobjective: {OBJECTIVE_MODULE}:held\n"
        "space: {x: {type: float, low: 0, high: 1}, k: {type: int, low: 0, high: 3}}\n"
        "points_to_evaluate: [{x: 0.3, k: 0}, {x: 0.6, k: 0}, {x: 0.9, k: 0}, {x: 0.8, k: 0}]\n"
        "scheduler: {type: asha, budget: epochs, min_budget: 1, max_budget: 3, eta: 3}\n"
        "max_trials: 4\n" + _COMMON
    ),
    max_trials=4,
    rungs=(1, 3),
)
"""ASHA over four given configs, trial 0 the best: once three trials have ended at rung 1,
trial 0 alone is promoted to 3, and that job waits while the hold file exists."""


def write_run(folder: Path, scenario: Scenario, seed: int) -> Path:
    """Write the objective module and the scenario's spec into ``folder``; return the spec."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{OBJECTIVE_MODULE}.py").write_text(OBJECTIVE)
    spec = folder / "spec.yaml"
    spec.write_text(scenario.spec_text(seed))
    return spec


def fails_on_purpose(config: dict[str, Any]) -> bool:
    """True where the objective raises on purpose for ``config``."""
    return bool(config["x"] > config.get("fail_above", math.inf))


def parse_config(text: str) -> dict[str, Any]:
    """A config as the store keeps it (JSON)."""
    config: dict[str, Any] = json.loads(text)
    return config
