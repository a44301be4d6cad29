"""B7 store: what durability costs, and many workers writing through one driver.

paratune keeps every trial in an SQLite file (WAL, synchronous=NORMAL), written by the driver
alone. Two tables: trials per second of a trivial objective with the SQLite store against
memory, Optuna's SQLite (RDB) and journal-file storages and the raw commit rate of SQLite;
then 8 worker processes finishing trials through the one driver, counting lock errors.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

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
from b1_overhead import SPACE, objective, optuna_objective  # B1's trivial objective

import paratune as pt

TITLE = "B7 store"
RATE_GOAL = 20_000.0  # paratune serial with its SQLite store, trials/s
OPTUNA_SQLITE_GOAL = 200.0  # ... and over 200x Optuna with SQLite


def paratune_run(
    n: int, *, durable: bool, executor: str = "serial", workers: int | None = None
) -> tuple[float, pt.TuneResult, bool]:
    """Wall seconds, the result, and whether SQLite's integrity check passed."""
    with scratch_file("runs.db") as path:
        seconds, result = timed(
            lambda: pt.tune(
                objective,
                SPACE,
                executor=executor,
                workers=workers,
                max_trials=n,
                seed=0,
                store=path if durable else None,
                name="b7",
            )
        )
        intact = True
        if durable:
            db = sqlite3.connect(path)
            intact = db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            db.close()
    if len(result.trial_list) != n:
        raise RuntimeError(f"paratune ran {len(result.trial_list)} trials, expected {n}")
    return seconds, result, intact


def optuna_run(n: int, kind: str) -> float:
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    quiet_optuna()
    with scratch_file("optuna.db" if kind == "sqlite" else "journal.log") as path:
        storage = (
            optuna.storages.RDBStorage(f"sqlite:///{path}")
            if kind == "sqlite"
            else JournalStorage(JournalFileBackend(path))
        )

        def go() -> None:
            study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(0))
            study.optimize(optuna_objective, n_trials=n)

        seconds = timed(go)[0]
        if isinstance(storage, optuna.storages.RDBStorage):
            storage.engine.dispose()
    return seconds


def raw_commits(n: int, synchronous: str) -> float:
    """Commits per second of one small insert per transaction, WAL mode."""
    with scratch_file("raw.db") as path:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL)")

        def go() -> None:
            for i in range(n):
                db.execute("BEGIN")
                db.execute("INSERT INTO t VALUES (?, ?)", (i, i * 0.5))
                db.execute("COMMIT")

        seconds = timed(go)[0]
        db.close()
    return n / seconds


def run(options: Options) -> list[Table]:
    n = options.size(2_000, 500)
    have_optuna = installed("optuna")
    rates = Table(
        f"{TITLE}: trivial objective, random search, {n:,} trials, serial; " + options.describe(),
        ["trials/s", "wall s"],
    )
    plan: list[tuple[str, Callable[[], float], int]] = [
        ("sqlite", lambda: paratune_run(n, durable=True)[0], n),
        ("memory", lambda: paratune_run(n, durable=False)[0], n),
    ]
    if have_optuna:
        plan += [
            ("optuna-sqlite", lambda: optuna_run(min(n, 300), "sqlite"), min(n, 300)),
            ("optuna-journal", lambda: optuna_run(n, "journal"), n),
        ]
    walls = interleaved([(key, fn, options.reps(1.0)) for key, fn, _ in plan])
    counts = {key: count for key, _, count in plan}
    rate = {key: counts[key] / median(values) for key, values in walls.items()}

    def cells(key: str) -> list[str]:
        return [fmt_int(rate[key]), fmt_s(counts[key] / rate[key])]

    mine = Row(
        "paratune serial, SQLite store (WAL, NORMAL)",
        cells("sqlite"),
        goal=f">= {RATE_GOAL:,.0f}/s",
        passed=rate["sqlite"] >= RATE_GOAL,
        achieved=f"{rate['sqlite']:,.0f}/s",
    )
    rates.add(mine)
    rates.add(
        Row(
            "paratune serial, in memory",
            cells("memory"),
            ratio=ratio(rate["sqlite"], rate["memory"]),
        )
    )
    if have_optuna:
        times = rate["sqlite"] / rate["optuna-sqlite"]
        rates.add(
            Row(
                f"{optuna_name()} RandomSampler, SQLite (RDB) storage",
                cells("optuna-sqlite"),
                goal=f">= {OPTUNA_SQLITE_GOAL:g}x slower",
                passed=times >= OPTUNA_SQLITE_GOAL,
                ratio=times,
                achieved=f"{times:,.0f}x Optuna with SQLite",
            )
        )
        rates.add(
            Row(
                f"{optuna_name()} RandomSampler, JournalFileBackend",
                cells("optuna-journal"),
                ratio=ratio(rate["sqlite"], rate["optuna-journal"]),
            )
        )
    else:
        rates.missing("Optuna")
    for level in ("NORMAL", "FULL"):
        commits = median(raw_commits(n, level) for _ in range(options.reps(0.5)))
        rates.add(Row(f"raw sqlite3 commits, WAL, synchronous={level}", [fmt_int(commits), "-"]))
    rates.notes += [
        "paratune commits results in groups (the results taken together, with the trials "
        "started since, in one transaction), always before the searcher sees them; serially "
        "that is one transaction per trial.",
        f"Optuna with SQLite runs {min(n, 300):,} trials (it manages ~100/s); trials/s is "
        "comparable.",
        "raw commits: one small insert per transaction, the ceiling for one commit per trial.",
    ]

    writers = options.size(10_000, 1_000)
    seconds, result, intact = paratune_run(writers, durable=True, executor="processes", workers=8)
    failed = sum(1 for t in result.trial_list if t.status is not pt.Status.DONE)
    locked = sum(1 for t in result.trial_list if t.error and "locked" in t.error)
    many = Table(
        f"{TITLE}: {writers:,} trivial trials from 8 worker processes, one SQLite store; 1 run",
        ["trials/s", "not done", "lock errors", "integrity"],
    )
    many.add(
        Row(
            "paratune processes, 8 workers, SQLite store",
            [fmt_int(writers / seconds), str(failed), str(locked), "ok" if intact else "BROKEN"],
            goal="0 errors, intact",
            passed=failed == 0 and locked == 0 and intact,
            achieved=f"{failed} not done, {locked} lock errors",
        )
    )
    many.notes.append(
        "Workers never touch the file: they send results to the driver, its only writer, so "
        "there is nothing to lock. Trials per second includes the pool start-up."
    )
    return [rates, many]


def main() -> None:
    main_for(__doc__.splitlines()[0] if __doc__ else TITLE, run)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
