"""The command line: ``paratune run | resume | status`` (also ``python -m paratune ...``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ._api import DEFAULT_STORE
from .errors import ParatuneError
from .progress import ConsoleProgress
from .result import TuneResult

_EXECUTORS = click.Choice(["serial", "threads", "processes", "simulated", "dask"])
_SEARCHERS = click.Choice(["random", "grid", "sobol", "lhs", "gp", "cmaes"])
_STORE_HELP = f"SQLite store file (default: {DEFAULT_STORE}; ':memory:' keeps nothing)."


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
    from .store import SQLiteStore

    store = overrides.get("store") or DEFAULT_STORE

    def arguments() -> dict[str, Any]:
        db = SQLiteStore(store, readonly=True)
        try:
            db.select(name)
            experiment = db.experiment()
        finally:
            db.close()
        kwargs = resume_arguments(experiment, source=str(store))
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
        result = tune(**kwargs, progress=ConsoleProgress(quiet=quiet))
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(result, as_json=as_json)


def _print_summary(result: TuneResult, *, as_json: bool) -> None:
    summary = {
        "name": result.name,
        "trials": len(result.trial_list),
        "stop_reason": result.stop_reason.value,
        "best_value": result.best_value,
        "best_config": result.best_config,
        "wall_time": round(result.wall_time, 4),
        "efficiency": round(result.efficiency, 4),
    }
    if as_json:
        click.echo(json.dumps(summary, default=str))
    else:
        click.echo(
            f"{result.name}: {summary['trials']} trials in {result.wall_time:.2f} s "
            f"(efficiency {result.efficiency:.3f}, stopped: {summary['stop_reason']})"
        )
    if result.best_trial is None:
        errors = [t.error for t in result.trial_list if t.error]
        reason = f"; first error: {errors[0]}" if errors else ""
        click.echo(f"no trial finished with a value{reason}", err=True)
        sys.exit(1)
    if not as_json:
        click.echo(f"best {result.metric}: {result.best_value:.6g}")
        click.echo(f"best config: {json.dumps(result.best_config, default=str)}")


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--store", type=str, default=DEFAULT_STORE, show_default=True, help="SQLite store file."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status(name: str | None, store: str, as_json: bool) -> None:
    """Show the experiments in the store (trial counts by status, best so far), or one
    experiment in detail. Reads only: safe while a run is writing."""
    from .store import SQLiteStore

    try:
        db = SQLiteStore(store, readonly=True)
        try:
            counts = db.counts()
            if name is not None:
                db.select(name)
                detail = _detail(db, counts[name])
        finally:
            db.close()
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    if name is not None:
        click.echo(json.dumps(detail, default=str) if as_json else _format_detail(detail))
    elif as_json:
        click.echo(json.dumps(counts, default=str))
    elif not counts:
        click.echo(f"{store}: no experiments")
    else:
        click.echo(
            f"{'experiment':<32} {'done':>6} {'failed':>6} {'running':>7} {'cancelled':>9}  best"
        )
        for experiment, row in counts.items():
            c = row["counts"]
            best = "-" if row["best_value"] is None else f"{row['best_value']:.6g}"
            click.echo(
                f"{experiment:<32} {c['done']:>6} {c['failed']:>6} {c['running']:>7} "
                f"{c['cancelled']:>9}  {best} ({row['mode']})"
            )


def _detail(db: Any, row: dict[str, Any]) -> dict[str, Any]:
    experiment = db.experiment()
    totals = db.totals()
    trials = db.trials()
    driver = db.running_driver()
    sign = 1.0 if experiment.mode == "min" else -1.0
    done = [t for t in trials if t.value is not None]
    best = min(done, key=lambda t: sign * t.value) if done else None
    return {
        "name": experiment.name,
        "state": _state(driver, totals.stop_reason),
        "objective": experiment.objective,
        "metric": experiment.metric,
        "mode": experiment.mode,
        "seed": experiment.seed,
        "counts": row["counts"],
        "best_value": None if best is None else best.value,
        "best_config": None if best is None else best.config,
        "wall_time": totals.wall_time,
        "busy_time": totals.busy_time,
        "settings": experiment.settings,
    }


def _state(driver: tuple[str, int] | None, stop_reason: str) -> str:
    if driver is None:
        return f"ended ({stop_reason})"
    host, pid = driver
    if host == os.uname().nodename:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped without ending (driver {pid} is gone): resume it"
        except PermissionError:
            pass
    return f"running (driver {pid} on {host})"


def _format_detail(detail: dict[str, Any]) -> str:
    c = detail["counts"]
    lines = [
        f"experiment {detail['name']}: {detail['state']}",
        f"  objective  {detail['objective']}  ({detail['mode']} {detail['metric']})",
        f"  trials     {c['done']} done, {c['failed']} failed, {c['running']} running, "
        f"{c['cancelled']} cancelled",
        f"  time       {detail['wall_time']:.2f} s wall, {detail['busy_time']:.2f} s busy",
    ]
    if detail["best_value"] is not None:
        lines.append(
            f"  best       {detail['best_value']:.6g}  "
            f"{json.dumps(detail['best_config'], default=str)}"
        )
    return "\n".join(lines)


def main() -> None:
    """Entry point of the ``paratune`` command."""
    cli()
