"""Helpers shared by the benchmarks: options, timing, medians, peers and table printing.

Every benchmark module exposes ``run(options) -> list[Table]`` and a ``main()`` that parses
the command line, runs and prints; `run_all.py` runs them all and adds a summary of goals.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

DASH = "-"

# Peers that are too heavy to install on a small machine: their rows say so.
HEAVY_PEERS: tuple[tuple[str, str], ...] = (("Ray Tune", "ray"), ("Syne Tune", "syne_tune"))


# ---- options --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """How much work a benchmark does.

    Attributes:
        quick: one repetition and smaller sizes: a smoke run, not a measurement.
        repeat: repetitions per measurement (None: 5 for runs under ~3 s, else 3).
        jobs: processes that share out independent runs, where a benchmark measures what
            runs find rather than how fast the machine runs them (B8, B10 part 5 and B12).
    """

    quick: bool = False
    repeat: int | None = None
    jobs: int = 1

    def reps(self, seconds_each: float) -> int:
        """How many times to repeat a measurement whose one run takes ``seconds_each``."""
        if self.repeat is not None:
            return self.repeat
        if self.quick:
            return 1
        return 5 if seconds_each < 3.0 else 3

    def describe(self) -> str:
        """How the figures are summarised, for a table's title."""
        if self.repeat is not None:
            return "1 run" if self.repeat == 1 else f"median of {self.repeat} runs"
        if self.quick:
            return "1 run (quick)"
        return "median of 5 runs (3 where one run takes over ~3 s)"

    def size(self, full: int, quick: int) -> int:
        """``full`` normally, ``quick`` under ``--quick``."""
        return quick if self.quick else full


def parse_options(description: str, argv: Sequence[str] | None = None) -> Options:
    """Parse ``--quick``, ``--repeat N`` and ``--jobs N``."""
    parser = argparse.ArgumentParser(description=description)
    add_option_arguments(parser)
    args = parser.parse_args(argv)
    return options_from(args)


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--quick``, ``--repeat`` and ``--jobs`` flags to ``parser``."""
    parser.add_argument(
        "--quick", action="store_true", help="1 repetition and smaller sizes (a smoke run)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="repetitions per measurement (default: 5, or 3 for runs over ~3 s)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="processes for B8, B10 part 5 and B12 (figures that do not depend on timing)",
    )


def options_from(args: argparse.Namespace) -> Options:
    """The `Options` from parsed arguments."""
    repeat: int | None = args.repeat
    if repeat is not None and repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    jobs: int = args.jobs
    if jobs < 1:
        raise SystemExit("--jobs must be >= 1")
    return Options(quick=bool(args.quick), repeat=repeat, jobs=jobs)


# ---- timing ---------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Call ``fn`` and return (seconds it took, what it returned)."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def interleaved(jobs: Sequence[tuple[str, Callable[[], T], int]]) -> dict[str, list[T]]:
    """Run each ``(key, fn, times)`` job ``times`` times, going round the jobs (one run of
    each per round), so that a burst of other work on the machine falls on every contender
    rather than on one; return each key's results."""
    results: dict[str, list[T]] = {key: [] for key, _, _ in jobs}
    for round_ in range(max((times for *_, times in jobs), default=0)):
        for key, fn, times in jobs:
            if round_ < times:
                results[key].append(fn())
    return results


def in_fresh_interpreter(script: str, *args: str) -> dict[str, float]:
    """Run ``python SCRIPT ARGS...`` (a measurement that must not share this process's
    imports or memory) and read the figures it prints as JSON on its last line.

    Raises:
        RuntimeError: the child failed (the end of its stderr is in the message).
    """
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        what = " ".join([os.path.basename(script), *args])
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def median(values: Iterable[float]) -> float:
    """The median (NaN for no values)."""
    items = list(values)
    return statistics.median(items) if items else float("nan")


def medians(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over several runs that report the same figures."""
    return {key: median(run[key] for run in runs) for key in runs[0]} if runs else {}


# ---- peers ----------------------------------------------------------------------------------


def installed(module: str) -> bool:
    """True when ``module`` can be imported."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"?"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def optuna_name() -> str:
    """``Optuna <version>`` (whether or not it is installed)."""
    return f"Optuna {version('optuna')}" if installed("optuna") else "Optuna"


def quiet_optuna() -> None:
    """Silence Optuna's per-trial log lines and its experimental-feature warnings."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _optuna_storage(kind: str, path: str) -> Any:
    """A journal-file or SQLite storage at ``path``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if kind == "journal":
        return JournalStorage(JournalFileBackend(path))
    if kind == "sqlite":
        return optuna.storages.RDBStorage(f"sqlite:///{path}")
    raise ValueError(f"unknown storage kind {kind!r}")


def _optuna_worker(
    kind: str, path: str, study_name: str, n_trials: int, work: Callable[[], object], index: int
) -> None:
    """One Optuna worker process: load the shared study and run trials until there are
    ``n_trials`` (finished or running)."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    quiet_optuna()
    study = optuna.load_study(
        study_name=study_name,
        storage=_optuna_storage(kind, path),
        sampler=optuna.samplers.RandomSampler(seed=index),
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        work()
        return float(x)

    # Counting running trials too stops each worker once the last trials are handed out, so
    # the run makes n_trials (give or take a race), not n_trials + workers - 1.
    done = MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.RUNNING))
    study.optimize(objective, callbacks=[done])


def optuna_processes(
    kind: str, workers: int, n_trials: int, work: Callable[[], object]
) -> tuple[float, int]:
    """Run Optuna on ``workers`` `multiprocessing` processes that share a ``kind`` storage
    (``"journal"``: `JournalFileBackend`; ``"sqlite"``: ``sqlite:///``) until ``n_trials``
    trials are done; each trial calls ``work()``.

    Returns (wall seconds around study creation, process start-up and the run; trials run).
    """
    import multiprocessing
    import tempfile

    import optuna

    quiet_optuna()
    with tempfile.TemporaryDirectory(prefix="paratune-bench-") as folder:
        path = os.path.join(folder, "study.db" if kind == "sqlite" else "journal.log")
        start = time.perf_counter()
        storage = _optuna_storage(kind, path)
        study = optuna.create_study(study_name="bench", storage=storage)
        processes = [
            multiprocessing.Process(
                target=_optuna_worker, args=(kind, path, "bench", n_trials, work, index)
            )
            for index in range(workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        wall = time.perf_counter() - start
        codes = [p.exitcode for p in processes]
        if any(codes):
            raise RuntimeError(f"Optuna {kind} worker processes failed: exit codes {codes}")
        trials = len(study.get_trials(deepcopy=False))
        if kind == "sqlite":
            storage.engine.dispose()
    return wall, trials


def durable_store() -> bool:
    """True when this paratune can keep its trials in an SQLite file (``store=path``; its
    default). The benchmarks otherwise pass ``store=None``: trials in memory."""
    try:
        from paratune import store
    except ImportError:
        return False
    return hasattr(store, "SQLiteStore")


@contextlib.contextmanager
def scratch_file(name: str) -> Iterator[str]:
    """A path ``name`` in a fresh temporary folder, removed afterwards."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="paratune-bench-") as folder:
        yield os.path.join(folder, name)


def status_mb(field: str) -> float | None:
    """A ``kB`` field of ``/proc/self/status`` (``"VmRSS:"``, ``"VmHWM:"``) in MB, or None
    where there is no such file."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) / 2**10
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---- formatting -----------------------------------------------------------------------------


def fmt_int(value: float) -> str:
    """``12,345``."""
    return DASH if value != value else f"{value:,.0f}"


def fmt_s(value: float, digits: int = 3) -> str:
    """Seconds with ``digits`` decimals."""
    return DASH if value != value else f"{value:.{digits}f}"


def fmt_eff(value: float) -> str:
    """An efficiency, ``0.987``."""
    return DASH if value != value else f"{value:.3f}"


def fmt_pct(value: float) -> str:
    """A signed percentage, ``+1.2%``."""
    return DASH if value != value else f"{value:+.1%}"


def fmt_mb(value: float) -> str:
    """Megabytes, ``123.4``."""
    return DASH if value != value else f"{value:.1f}"


def fmt_ratio(value: float | None) -> str:
    """``4.93x``."""
    if value is None or value != value:
        return DASH
    return f"{value:.2f}x"


def ratio(paratune: float, peer: float) -> float | None:
    """paratune / peer, or None when the peer figure is zero or missing."""
    if peer != peer or paratune != paratune or peer == 0:
        return None
    return paratune / peer


# ---- tables ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One contender in a table.

    Attributes:
        contender: who was measured.
        cells: the measured figures, one per column of the table.
        goal: the goal this row is judged against ("" when none).
        passed: whether the goal is met (None when no goal applies).
        ratio: paratune's figure over this contender's (None on paratune's own rows).
        achieved: the figure the goal is judged on, for the summary of goals.
    """

    contender: str
    cells: list[str]
    goal: str = ""
    passed: bool | None = None
    ratio: float | None = None
    achieved: str = ""


@dataclass
class Table:
    """A benchmark's table: one row per contender, then notes."""

    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ratio_label: str = "paratune / peer"

    def add(self, row: Row) -> None:
        """Append ``row``."""
        self.rows.append(row)

    def missing(self, contender: str, why: str = "not installed") -> None:
        """Append a row for a contender that could not be measured."""
        cells = [why] + [DASH] * (len(self.columns) - 1)
        self.rows.append(Row(contender, cells))

    def heavy_peers(self) -> None:
        """Rows for the peers this machine does not run (Ray Tune, Syne Tune)."""
        for name, module in HEAVY_PEERS:
            self.missing(name, "installed, not run" if installed(module) else "not installed")

    def goals(self) -> list[tuple[str, str, bool]]:
        """(what, goal, passed) for every row with a goal; ``what`` names the contender, the
        setting (from the title) and the figure achieved."""
        setting = self.title.split(": ", 1)[-1].split(";")[0]
        return [
            (f"{r.contender} [{setting}]" + (f": {r.achieved}" if r.achieved else ""), r.goal,
             r.passed)
            for r in self.rows
            if r.passed is not None
        ]  # fmt: skip

    def render(self) -> str:
        """The table as text."""
        header = ["contender", *self.columns, "goal", "result", self.ratio_label]
        body = [
            [
                row.contender,
                *row.cells,
                row.goal or DASH,
                DASH if row.passed is None else ("PASS" if row.passed else "FAIL"),
                fmt_ratio(row.ratio),
            ]
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            first = cells[0].ljust(widths[0])
            rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest]).rstrip()

        rule = "-" * len(line(header))
        out = [self.title, rule, line(header), rule, *(line(cells) for cells in body), rule]
        out.extend(f"  * {note}" for note in self.notes)
        return "\n".join(out)

    def print(self) -> None:
        """Print the table and a blank line."""
        print(self.render(), end="\n\n", flush=True)


def machine() -> str:
    """One line about the machine and the interpreter."""
    cores = os.cpu_count() or 1
    py = platform.python_version()
    parts = [f"{cores} cores", f"Python {py}", f"{platform.system()} {platform.machine()}"]
    parts.append(f"paratune {version('paratune')}")
    for name, dist in (("Optuna", "optuna"), ("hyperopt", "hyperopt"), ("psutil", "psutil")):
        parts.append(f"{name} {version(dist)}" if installed(dist) else f"{name}: not installed")
    return ", ".join(parts)


def print_header(what: str, options: Options) -> None:
    """The line printed before a benchmark's tables."""
    print(f"{what} -- {machine()}")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average before the run: {load} (other work on the machine skews timings)")
    if options.quick:
        print("QUICK mode: 1 repetition and smaller sizes; a smoke run, goals are indicative.")
    print(flush=True)


def main_for(
    description: str, run: Callable[[Options], list[Table]], argv: Sequence[str] | None = None
) -> None:
    """Parse the options, run one benchmark and print its tables."""
    options = parse_options(description, argv)
    print_header(description, options)
    for table in run(options):
        table.print()
    sys.stdout.flush()
