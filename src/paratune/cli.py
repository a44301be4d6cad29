"""The command line: ``paratune run SPEC`` (also ``python -m paratune run SPEC``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .errors import ParatuneError
from .progress import ConsoleProgress

_EXECUTORS = click.Choice(["serial", "threads", "processes", "simulated"])
_SEARCHERS = click.Choice(["random", "grid", "sobol", "lhs"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paratune")
def cli() -> None:
    """paratune: parallel hyperparameter optimisation that keeps every worker busy."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), help="Trials run at once.")
@click.option("--executor", type=_EXECUTORS, help="Where trials run.")
@click.option("--searcher", type=_SEARCHERS, help="How configurations are proposed.")
@click.option("--seed", type=click.IntRange(min=0), help="Experiment seed.")
@click.option("--max-trials", type=click.IntRange(min=1), help="Stop after this many trials.")
@click.option("--max-time", type=click.FloatRange(min=0, min_open=True), help="Seconds.")
@click.option("--target", type=float, help="Stop once the metric is this good.")
@click.option("--retries", type=click.IntRange(min=0), help="Runs again of a failing trial.")
@click.option("--name", help="Experiment name.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(spec: Path, quiet: bool, as_json: bool, **overrides: Any) -> None:
    """Run the experiment described by SPEC, a JSON or YAML file whose keys are the keyword
    arguments of paratune.tune (objective as "module:function", space, metric, mode,
    searcher, executor, workers, max_trials, max_time, target, seed, retries, ...).
    Options given here override the file."""
    from ._api import tune
    from .spec import load_run_spec

    try:
        kwargs = load_run_spec(spec)
        kwargs.update({key: value for key, value in overrides.items() if value is not None})
        result = tune(**kwargs, progress=ConsoleProgress(quiet=quiet))
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {
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
            f"{summary['trials']} trials in {result.wall_time:.2f} s "
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


def main() -> None:
    """Entry point of the ``paratune`` command."""
    cli()
