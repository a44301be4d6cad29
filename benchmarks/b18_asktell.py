"""B18 ask and tell: what driving an experiment by hand costs per trial.

A trivial objective (``x**2 + y`` over two floats) evaluated in the caller's own loop:
paratune's `AskTell` (ask, evaluate, tell) against Optuna's ``study.ask`` / ``study.tell``,
both with random search, in memory and in an SQLite file. The ceilings are a bare Python
loop and paratune's own `tune` on the serial executor: `AskTell` runs that very loop, so the
gap between the two is what handing control to the caller and back costs. In SQLite,
`AskTell` commits twice a trial (the trial asked, then its result) where `tune` groups.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from _common import (
    Options,
    Row,
    Table,
    fmt_int,
    fmt_s,
    installed,
    interleaved,
    main_for,
    median,
    optuna_name,
    quiet_optuna,
    ratio,
    scratch_file,
    timed,
)

import paratune as pt

TITLE = "B18 ask and tell"
MEMORY_GOAL = 3.0  # AskTell in memory >= 3x Optuna's ask/tell in memory (trials/s)
SQLITE_GOAL = 10.0  # AskTell in SQLite >= 10x Optuna's ask/tell on its SQLite storage
SPACE = {"x": pt.Float(-5, 5), "y": pt.Float(-5, 5)}


def objective(config: dict[str, float]) -> float:
    return config["x"] ** 2 + config["y"]


def asktell_run(n: int, *, durable: bool) -> float:
    """Wall seconds of ``n`` trials asked and told by hand."""
    with scratch_file("paratune.db") as path:

        def go() -> int:
            with pt.AskTell(SPACE, store=path if durable else None, seed=0) as study:
                for _ in range(n):
                    trial = study.ask()
                    assert trial is not None
                    study.tell(trial, objective(trial.config))
            return len(study.result().trial_list)

        seconds, made = timed(go)
    if made != n:
        raise RuntimeError(f"AskTell made {made} trials, expected {n}")
    return seconds


def tune_run(n: int, *, durable: bool) -> float:
    """Wall seconds of ``n`` trials of `tune` on the serial executor (the same loop)."""
    with scratch_file("paratune.db") as path:
        store = path if durable else None

        def go() -> pt.TuneResult:
            return pt.tune(objective, SPACE, executor="serial", max_trials=n, store=store)

        return timed(go)[0]


def bare_loop(n: int) -> float:
    def go() -> list[float]:
        return [
            objective({"x": random.uniform(-5, 5), "y": random.uniform(-5, 5)}) for _ in range(n)
        ]

    return timed(go)[0]


def optuna_run(n: int, *, durable: bool) -> float:
    """Wall seconds of ``n`` trials of Optuna's ask and tell, random sampler."""
    import optuna

    quiet_optuna()
    distributions: dict[str, Any] = {
        name: optuna.distributions.FloatDistribution(-5, 5) for name in SPACE
    }
    with scratch_file("optuna.db") as path:
        storage = f"sqlite:///{path}" if durable else None

        def go() -> None:
            study = optuna.create_study(
                storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
            )
            for _ in range(n):
                trial = study.ask(distributions)
                study.tell(trial, objective(trial.params))

        return timed(go)[0]


def run(options: Options) -> list[Table]:
    n, slow = options.size(10_000, 1_000), options.size(500, 100)
    have_optuna = installed("optuna")
    plan: list[tuple[str, Callable[[], float], int, float]] = [
        ("asktell", lambda: asktell_run(n, durable=False), n, n / 15_000),
        ("tune", lambda: tune_run(n, durable=False), n, n / 30_000),
        ("bare", lambda: bare_loop(n), n, 0.05),
        ("asktell_db", lambda: asktell_run(slow, durable=True), slow, slow / 2_500),
        ("tune_db", lambda: tune_run(slow, durable=True), slow, slow / 8_000),
    ]
    if have_optuna:
        plan += [
            ("optuna", lambda: optuna_run(n, durable=False), n, n / 4_000),
            ("optuna_db", lambda: optuna_run(slow, durable=True), slow, slow / 40),
        ]
    walls = interleaved([(key, fn, options.reps(guess)) for key, fn, _, guess in plan])
    trials = {key: count for key, _, count, _ in plan}
    rate = {key: trials[key] / median(values) for key, values in walls.items()}
    wall = {key: median(values) for key, values in walls.items()}
    table = Table(
        f"{TITLE}: trivial objective, random search; in memory {n:,} trials, SQLite "
        f"{slow:,} trials; " + options.describe(),
        ["trials/s", "wall s"],
    )

    def row(label: str, key: str, reference: str) -> Row:
        cells = [fmt_int(rate[key]), fmt_s(wall[key])]
        return Row(label, cells, ratio=ratio(rate[reference], rate[key]))

    for key, peer, goal, where in (
        ("asktell", "optuna", MEMORY_GOAL, "in memory"),
        ("asktell_db", "optuna_db", SQLITE_GOAL, "SQLite file"),
    ):
        mine = Row(f"paratune AskTell, {where}", [fmt_int(rate[key]), fmt_s(wall[key])])
        mine.goal = f">= {goal:g}x Optuna"
        if have_optuna:
            mine.passed = rate[key] >= goal * rate[peer]
            mine.achieved = f"{rate[key] / rate[peer]:.2f}x Optuna"
            table.add(mine)
            table.add(row(f"{optuna_name()} ask/tell, {where}", peer, key))
        else:
            table.add(mine)
            table.missing(f"Optuna ask/tell, {where}")
        ceiling = "tune" if key == "asktell" else "tune_db"
        table.add(row(f"paratune tune, serial executor, {where} (the same loop)", ceiling, key))
    table.add(row("bare Python loop (ceiling)", "bare", "asktell"))
    table.notes += [
        "trials/s = trials / wall time of the whole experiment (opening and closing it "
        "included); repetitions go round the contenders. paratune / peer > 1 means "
        "AskTell is faster.",
        "Each contender draws its configurations at random and evaluates them in the "
        "caller's loop; AskTell's SQLite rows commit each trial when asked and again when "
        "told (both durable before the call returns).",
    ]
    return [table]


def main() -> None:
    main_for(TITLE, run)


if __name__ == "__main__":
    main()
