"""The command line: ``paratune run | resume | status | recover | report | export | scaling |
ask | tell | dashboard`` (also ``python -m paratune ...``). It formats; `paratune.analysis`,
`paratune.report`, `paratune.export` and `paratune.scaling` compute."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ._api import DEFAULT_STORE
from ._cli_asktell import ask, tell
from ._cli_dashboard import dashboard
from ._cli_front import infeasible_text, run_fields, run_lines
from ._cli_scaling import STORE_HELP, scaling
from ._hypervolume import count_infeasible
from .errors import ParatuneError
from .progress import ConsoleProgress
from .result import TuneResult
from .store import Experiment
from .tuner import StopReason

_EXECUTORS = click.Choice(["serial", "threads", "processes", "simulated", "dask"])
_SEARCHERS = click.Choice(["random", "grid", "sobol", "lhs", "gp", "cmaes", "tpe", "nsga2"])
_STORE_HELP = STORE_HELP


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paratune")
def cli() -> None:
    """paratune: parallel hyperparameter optimisation that keeps every worker busy."""


def _run_options(command: Any) -> Any:
    """The options `run` and `resume` share: each overrides the spec or the stored setting."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), help="Trials run at once."),
        click.option("--executor", type=_EXECUTORS, help="Where trials run."),
        click.option(
            "--address",
            help="The Dask scheduler to run on (with --executor dask), tcp://host:8786.",
        ),
        click.option("--max-trials", type=click.IntRange(min=1), help="Trials in all."),
        click.option(
            "--max-time",
            type=click.FloatRange(min=0, min_open=True),
            help="Seconds this session may run.",
        ),
        click.option("--target", type=float, help="Stop once the metric is this good."),
        click.option("--retries", type=click.IntRange(min=0), help="Reruns of a failed trial."),
        click.option(
            "--trial-timeout",
            type=click.FloatRange(min=0, min_open=True),
            help="Seconds a trial may run (processes, simulated).",
        ),
        click.option("--store", type=str, help=_STORE_HELP),
        click.option("-q", "--quiet", is_flag=True, help="No progress display."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--searcher", type=_SEARCHERS, help="How configurations are proposed.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), help="Experiment seed.")
@click.option("--name", help="Experiment name (default: the spec's name, or its file name).")
@click.option("--overwrite", is_flag=True, help="Start the experiment over if it exists.")
@_run_options
def run(spec: Path, overwrite: bool, quiet: bool, as_json: bool, **overrides: Any) -> None:
    """Run the experiment described by SPEC, a JSON or YAML file whose keys are the keyword
    arguments of paratune.tune (objective as "module:function", space, metric, mode,
    searcher, executor, workers, max_trials, max_time, target, seed, retries, ...).
    Options given here override the file.

    Trials are kept in the store. Running a spec again continues its experiment where it
    stopped (same name, same setup); --overwrite starts it over."""
    from .spec import load_run_spec

    def arguments() -> dict[str, Any]:
        kwargs = load_run_spec(spec)
        kwargs.setdefault("name", spec.stem)
        kwargs.setdefault("store", DEFAULT_STORE)
        return {**kwargs, "resume": not overwrite, "overwrite": overwrite}

    _tune_and_report(arguments, overrides, quiet=quiet, as_json=as_json)


@cli.command()
@click.argument("name")
@_run_options
def resume(name: str, quiet: bool, as_json: bool, **overrides: Any) -> None:
    """Continue experiment NAME from the store: its finished trials are kept, the trials that
    were running when it stopped run again with the same config and seed, and its stopping
    rules count the trials already done."""
    from .spec import resume_arguments

    store = overrides.get("store") or DEFAULT_STORE

    def arguments() -> dict[str, Any]:
        kwargs = resume_arguments(_experiment(store, name), source=str(store))
        return {**kwargs, "store": store, "name": name, "resume": True}

    _tune_and_report(arguments, overrides, quiet=quiet, as_json=as_json)


def _tune_and_report(
    arguments: Any, overrides: dict[str, Any], *, quiet: bool, as_json: bool
) -> None:
    """Build the arguments, apply the flags, tune, print the summary; a bad input is one
    message and a non-zero exit."""
    from ._api import tune

    try:
        kwargs = arguments()
        kwargs.update({key: value for key, value in overrides.items() if value is not None})
        if not quiet:  # on standard error, so that --json output stays clean
            click.echo(f"[paratune] executor: {_chosen(kwargs)}", err=True)
        display = ConsoleProgress(quiet=quiet, max_time=kwargs.get("max_time"))
        result = tune(**kwargs, progress=display)
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(result, as_json=as_json)


def _chosen(kwargs: dict[str, Any]) -> str:
    """The executor a run uses, as `tune` chooses it when none is named, and its workers."""
    from .executors import chosen_executor

    workers = kwargs.get("workers")
    executor = chosen_executor(kwargs.get("executor"), workers, kwargs.get("address"))
    name = executor if isinstance(executor, str) else type(executor).__name__
    return f"{name} ({workers} workers)" if workers else name


def _print_summary(result: TuneResult, *, as_json: bool) -> None:
    goals = result.goals
    # With several metrics no one trial is best: the front stands in for the best value.
    front = run_fields(result) if goals.several else None
    summary = {
        "name": result.name,
        "trials": len(result.trial_list),
        "stop_reason": result.stop_reason.value,
        **(front or {"best_value": result.best_value, "best_config": result.best_config}),
        "wall_time": round(result.wall_time, 4),
        "concurrency": round(result.concurrency, 4),
        "utilisation": round(result.utilisation, 4),
        "searcher_time": None if result.searcher_time is None else round(result.searcher_time, 4),
    }
    if goals.constraints and front is None:
        summary["infeasible"] = count_infeasible(result.trials, goals)
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        click.echo(
            f"{result.name}: {summary['trials']} trials in {result.wall_time:.2f} s "
            f"({result.concurrency:.2f} of {result.workers} workers busy on average, "
            f"utilisation {result.utilisation:.3f}; stopped: {summary['stop_reason']})"
        )
    nothing = front["front_size"] == 0 if front is not None else result.best_trial is None
    if nothing:
        errors = [t.error for t in result.trial_list if t.error]
        reason = f"; first error: {errors[0]}" if errors else ""
        what = "a feasible value of every metric" if goals.several else "a value"
        click.echo(f"no trial finished with {what}{reason}", err=True)
        sys.exit(1)
    if not as_json:
        _print_best(result, front, summary.get("infeasible"))
        per_suggestion = result.time_per_suggestion
        if per_suggestion is not None:
            click.echo(f"searcher: {per_suggestion * 1e3:.2f} ms per suggestion")
    if result.stop_reason is StopReason.INTERRUPTED:
        click.echo(
            f"interrupted: the trials it cut short run again on `paratune resume {result.name}`",
            err=True,
        )
        sys.exit(130)  # as a shell reports a command stopped by Ctrl-C


def _print_best(result: TuneResult, front: dict[str, Any] | None, infeasible: Any) -> None:
    """The best value and config, or with several metrics the front; and how many trials
    broke a constraint."""
    if front is not None:
        click.echo("\n".join(run_lines(front)))
        return
    click.echo(f"best {result.metric}: {result.best_value:.6g}")
    click.echo(f"best config: {json.dumps(result.best_config, default=str)}")
    if infeasible is not None:
        rules = [str(constraint) for constraint in result.goals.constraints]
        click.echo(f"infeasible: {infeasible_text(infeasible, rules)}")


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--store", type=str, default=DEFAULT_STORE, show_default=True, help="SQLite store file."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Check the whole file instead (SQLite's integrity_check): print ok or the problems.",
)
def status(name: str | None, store: str, as_json: bool, check: bool) -> None:
    """Show the experiments in the store (trial counts by status, best so far), or one
    experiment in detail. Reads only: safe while a run is writing. A damaged store is
    refused; --check lists its problems, and `paratune recover` saves what can be read."""
    from ._status import format_detail, listed_fronts, status_detail
    from .store import SQLiteStore
    from .store._location import store_file

    if check:
        if name is not None:
            raise click.UsageError("--check checks the whole store: give no experiment NAME")
        _check_store(Path(store_file(store)), as_json=as_json)
        return
    try:
        # SQLite's check of the file runs beside the reading; nothing is printed before it
        # has passed.
        db = SQLiteStore(store, readonly=True, check_meanwhile=True)
        try:
            counts = db.counts()
            if name is not None:
                db.select(name)
                detail = status_detail(db, counts[name])
            else:  # several metrics: the front's size, not the first metric's best
                for experiment, front in listed_fronts(db, list(counts)).items():
                    counts[experiment] |= {**front, "best_value": None}
            db.checked()
        finally:
            db.close()
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    if name is not None:
        click.echo(json.dumps(detail, default=str) if as_json else format_detail(detail))
    elif as_json:
        click.echo(json.dumps(counts, default=str))
    elif not counts:
        click.echo(f"{store}: no experiments")
    else:
        _print_listing(counts)


def _print_listing(counts: dict[str, dict[str, Any]]) -> None:
    """`paratune status`: a line per experiment, its counts and its best value (with
    several metrics, the size of its Pareto front)."""
    click.echo(
        f"{'experiment':<32} {'done':>6} {'failed':>6} {'running':>7} {'cancelled':>9}  best"
    )
    for experiment, row in counts.items():
        c = row["counts"]
        if "front_size" in row:
            aims = ", ".join(f"{m} {n}" for n, m in zip(row["metrics"], row["modes"], strict=True))
            best = f"front {row['front_size']} ({aims})"
        else:
            value = "-" if row["best_value"] is None else f"{row['best_value']:.6g}"
            best = f"{value} ({row['mode']})"
        click.echo(
            f"{experiment:<32} {c['done']:>6} {c['failed']:>6} {c['running']:>7} "
            f"{c['cancelled']:>9}  {best}"
        )


def _check_store(store: Path, *, as_json: bool) -> None:
    """`status --check`: SQLite's integrity_check of the whole file; exit 1 if damaged."""
    from .store._integrity import describe_problems, integrity_problems

    try:
        problems = integrity_problems(store)
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    as_dict = {"store": str(store), "ok": not problems, "problems": problems}
    click.echo(json.dumps(as_dict) if as_json else describe_problems(store, problems))
    if problems:
        sys.exit(1)


@cli.command()
@click.argument("store", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def recover(store: Path, out: Path) -> None:
    """Copy what SQLite can still read of the damaged store STORE into OUT, a new store
    file: experiments, trials and reports, row by row, skipping the pages it cannot read
    (and rows whose values no longer decode). STORE is only read, never changed."""
    from .store._recover import recover as recover_store

    try:
        click.echo(recover_store(store, out).describe(store, out))
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc


def _load(store: str, name: str) -> tuple[TuneResult, dict[str, Any]]:
    """The stored run and its setup (space, metric, mode, seed, objective, settings)."""
    from dataclasses import asdict

    from ._api import load

    return load(store, name), asdict(_experiment(store, name))


def _experiment(store: str, name: str) -> Experiment:
    """The stored setup of experiment ``name``, read-only."""
    from .store import SQLiteStore

    db = SQLiteStore(store, readonly=True)
    try:
        db.select(name)
        return db.experiment()
    finally:
        db.close()


@cli.command()
@click.argument("name")
@click.option(
    "--store", type=str, default=DEFAULT_STORE, show_default=True, help="SQLite store file."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write NAME.html to (NAME as a safe file name, see docs/store.md).",
)
@click.option(
    "--figures",
    type=click.Choice(["png", "svg"]),
    help="Also save each figure beside the page, in this format.",
)
def report(name: str, store: str, out: Path, figures: str | None) -> None:
    """Write one self-contained HTML page about experiment NAME: the best configurations
    and best-so-far against wall time (with several metrics: the Pareto front, its
    trials and its hypervolume against wall time), a worker timeline, how busy the
    workers were and where the rest of their time went, resources, a what-if replay on
    other worker counts (its predicted speedup and efficiency), the parameter figures and
    the spec. Figures are embedded: the page opens offline. Reads only: safe while a run
    is writing."""
    from . import plots
    from ._folders import folder_name
    from .report import write_report

    stem = folder_name(name)  # a name such as '../x' must not write outside --out
    try:
        result, spec = _load(store, name)
        page = write_report(result, out / f"{stem}.html", spec=spec)
        if figures is not None:
            first = ("pareto_front", "hypervolume") if result.goals.several else ("best_so_far",)
            for figure in (*first, "timeline", "parameters", "parallel_coordinates"):
                drawn = getattr(plots, f"plot_{figure}")(result)
                click.echo(plots.save(drawn, out / f"{stem}-{figure}.{figures}"))
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    except ImportError as exc:  # matplotlib, an optional extra
        raise click.ClickException(str(exc)) from exc
    click.echo(page)


@cli.command()
@click.argument("name")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "json", "parquet", "trace"]),
    required=True,
    help="File format (parquet needs pyarrow; trace: for Perfetto, NAME.trace.json).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: NAME.FORMAT).",
)
@click.option(
    "--store", type=str, default=DEFAULT_STORE, show_default=True, help="SQLite store file."
)
def export(name: str, file_format: str, out: Path | None, store: str) -> None:
    """Write the trials of experiment NAME to a file, one row per trial: trial_id, status,
    value, config.*, metric.*, attempts, seed, budget, times, duration, worker_time, worker,
    error. JSON is a list of one object per trial. A trace is the run's jobs on its workers
    for ui.perfetto.dev or chrome://tracing."""
    from ._api import load
    from ._folders import folder_name
    from ._trace import stored_settings
    from .export import export_trials

    # A name such as '../x' must not write outside the working folder: named as a folder is.
    suffix = "trace.json" if file_format == "trace" else file_format
    target = out or Path(f"{folder_name(name)}.{suffix}")
    try:
        result = load(store, name)
        settings = stored_settings(store, name) if file_format == "trace" else None
        try:
            written = export_trials(result, target, file_format, settings=settings)
        except OSError as exc:  # a full disk, a file where a folder must be, ...
            raise ParatuneError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except (ParatuneError, ImportError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(written)


cli.add_command(scaling)
cli.add_command(ask)
cli.add_command(tell)
cli.add_command(dashboard)


def main() -> None:
    """Entry point of the ``paratune`` command: a Ctrl-C no command handled ends it with
    the line "interrupted" and exit status 130, not a traceback (see `_entry`)."""
    from ._entry import run_command

    run_command(cli)
