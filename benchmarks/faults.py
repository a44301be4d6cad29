"""Faults: kill the driver of real runs at hundreds of seeded random points, resume, and count
what was lost.

Each run is one scenario (random search with failures on purpose; ASHA with checkpoints and
a report every epoch; the GP searcher) on the process executor with 2 workers, started with
``python -m paratune run`` and killed at ``--per-run`` random points of its progress, each
with a random signal: SIGKILL, SIGTERM or SIGINT to the driver, or SIGINT to its process
group (a terminal's Ctrl-C). After each kill it is resumed (``paratune run`` again or
``paratune resume``), and after the last it runs to its end. The checks, and the code, are
those of ``tests/faults`` (which runs a fixed seed with 24 kill points):

- exactly ``max_trials`` trials, each done (or pruned), failed only where the objective
  fails on purpose, none left running, interrupted or cancelled;
- every result and report committed before a kill is unchanged at the end, and no
  committed (trial, budget) was evaluated again (the objective logs every evaluation);
- no gap in any learning curve; ``PRAGMA integrity_check`` is ok after every kill;
- after SIGINT or SIGTERM the driver stopped cleanly (its trials in flight interrupted),
  and after any kill the driver and its workers were gone within a minute.

    python benchmarks/faults.py --kills 300 --seed 1
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from _common import Row, Table, fmt_int, fmt_s, machine

# The harness lives with the tests that run it on every change; this script runs it longer.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.harness import KINDS, Outcome, run_with_faults
from tests.faults.scenarios import SCENARIOS

COLUMNS = [
    "runs",
    *KINDS,
    "survived",
    "missed",
    "in flight",
    "trials lost",
    "evaluated twice",
    "integrity ok",
    "seconds",
]
GOAL = "all survived, 0 lost, 0 twice, integrity ok"


def run_faults(
    kills: int, seed: int, per_run: int, names: Sequence[str], folder: Path
) -> list[Outcome]:
    """Runs of the scenarios ``names`` in turn, ``per_run`` kill points each, until
    ``kills`` kill points are planned; run ``i`` uses seed ``seed * 100_000 + i``."""
    outcomes: list[Outcome] = []
    planned = 0
    while planned < kills:
        index = len(outcomes)
        name = names[index % len(names)]
        count = min(per_run, kills - planned)
        try:
            outcome = run_with_faults(
                SCENARIOS[name],
                folder / f"{index:04d}-{name}",
                seed=seed * 100_000 + index,
                kinds=KINDS,
                kills=count,
            )
        except Exception as exc:  # one run's harness failure must not lose the others
            outcome = Outcome(name, problems=[f"the harness stopped: {exc!r}"[:2000]])
        planned += count
        outcomes.append(outcome)
        injected = sum(outcome.injected.values())
        status = "ok" if not outcome.problems else f"{len(outcome.problems)} problem(s)"
        print(
            f"run {index + 1}: {name}, {injected} kill points, {outcome.seconds:.1f} s: {status}",
            file=sys.stderr,
            flush=True,
        )
    return outcomes


def _row(label: str, outcomes: Sequence[Outcome]) -> Row:
    """One line of the table: the outcomes of one scenario (or of all) added up."""
    injected: Counter[str] = Counter()
    integrity: Counter[str] = Counter()
    for outcome in outcomes:
        injected.update(outcome.injected)
        integrity.update(outcome.integrity)
    total = sum(injected.values())
    survived = sum(o.survived for o in outcomes)
    lost, twice = sum(o.lost for o in outcomes), sum(o.twice for o in outcomes)
    checks = sum(integrity.values())
    cells = [
        fmt_int(len(outcomes)),
        *(fmt_int(injected[kind]) for kind in KINDS),
        f"{survived}/{total}",
        fmt_int(sum(o.missed for o in outcomes)),
        fmt_int(sum(o.cut_short for o in outcomes)),
        fmt_int(lost),
        fmt_int(twice),
        f"{integrity['ok']}/{checks}",
        fmt_s(sum(o.seconds for o in outcomes), 1),
    ]
    clean = not any(o.problems for o in outcomes)
    passed = clean and survived == total and lost == twice == 0 and integrity["ok"] == checks
    return Row(label, cells, GOAL, passed, achieved=f"{lost} lost, {twice} twice")


def table(outcomes: Sequence[Outcome], kills: int, seed: int) -> Table:
    """The outcomes by scenario, a total row, and every problem found as a note."""
    result = Table(
        f"Faults: {kills} kill points, seed {seed}; process executor, 2 workers",
        COLUMNS,
        ratio_label="",
    )
    for name in SCENARIOS:
        mine = [o for o in outcomes if o.scenario == name]
        if mine:
            result.add(_row(name, mine))
    result.add(_row("all", outcomes))
    result.notes += [
        "columns SIGKILL..SIGINT-group: kill points injected, by how; SIGINT-group is a "
        "terminal's Ctrl-C (the driver's whole process group)",
        "survived: the driver and its workers exited within a minute, integrity_check said ok "
        "and, after SIGINT or SIGTERM, the stop was clean (trials in flight interrupted, the "
        "session's end recorded, no traceback)",
        "missed: planned kill points the run finished before; in flight: trials running or "
        "interrupted in the store after a kill, summed over the kills",
        "trials lost: missing at the end, not ended as expected, or a committed result "
        "changed; evaluated twice: a committed (trial, budget) evaluated again",
    ]
    for outcome in outcomes:
        result.notes += [f"{outcome.scenario}: {problem}" for problem in outcome.problems[:5]]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run, print the table; 1 when anything was lost or broken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=240, help="kill points in all")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill points")
    parser.add_argument("--per-run", type=int, default=6, help="kill points per run")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="which scenarios, comma-separated"
    )
    parser.add_argument("--keep", type=Path, help="keep the runs' folders here")
    args = parser.parse_args(argv)
    names = [name for name in args.scenarios.split(",") if name]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown or not names or args.kills < 1 or args.per_run < 1 or args.seed < 0:
        parser.error(
            f"--scenarios takes {', '.join(SCENARIOS)} (got {unknown or 'none'}); "
            "--kills and --per-run must be >= 1, --seed >= 0"
        )
    print(f"Faults -- {machine()}", flush=True)
    start = time.monotonic()
    if args.keep is not None:
        outcomes = run_faults(args.kills, args.seed, args.per_run, names, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="paratune-faults-") as folder:
            outcomes = run_faults(args.kills, args.seed, args.per_run, names, Path(folder))
    result = table(outcomes, args.kills, args.seed)
    result.print()
    print(f"{time.monotonic() - start:.0f} s in all")
    return 0 if all(row.passed for row in result.rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
