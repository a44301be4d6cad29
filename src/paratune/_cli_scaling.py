"""``paratune scaling``: the command that tables a spec's run time, speedup and efficiency
at several worker counts (`paratune.scaling` computes, this formats)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._api import DEFAULT_STORE
from .errors import ParatuneError

if TYPE_CHECKING:
    import pandas as pd


STORE_HELP = f"SQLite store file (default: {DEFAULT_STORE}; ':memory:' keeps nothing)."
"""The ``--store`` option's help, shared by the commands."""


class _Counts(click.ParamType):  # type: ignore[type-arg]
    """Comma-separated worker counts: ``1,2,4,8``."""

    name = "counts"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            counts = [int(part) for part in str(value).split(",")]
        except ValueError:
            counts = []
        if not counts or min(counts) < 1:
            self.fail(
                f"expected positive integers separated by commas, such as 1,2,4,8; got {value!r}",
                param,
                ctx,
            )
        return counts


def _options(command: Any) -> Any:
    """`scaling`'s options."""
    options = [
        click.option(
            "--workers",
            "counts",
            type=_Counts(),
            required=True,
            help="Worker counts to compare, such as 1,2,4,8 (1 is needed).",
        ),
        click.option(
            "--simulate",
            is_flag=True,
            help="Run the spec once (or reuse its stored run) and replay its trial "
            "durations at each count on the simulated executor.",
        ),
        click.option(
            "--executor",
            type=click.Choice(["threads", "processes", "simulated"]),
            help="Where trials run (default: the spec's, else processes).",
        ),
        click.option("--max-trials", type=click.IntRange(min=1), help="Trials per run."),
        click.option("--store", type=str, help=f"{STORE_HELP} Used with --simulate only."),
        click.option(
            "--plot",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Where to save the figure (.png or .svg; default: SPEC-scaling.png).",
        ),
        click.option(
            "--no-warm-up",
            "cold",
            is_flag=True,
            help="Time each run from a cold pool, start-up included (no untimed warm-up trials).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No line per run."),
        click.option("--json", "as_json", is_flag=True, help="Print the table as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@_options
def scaling(
    spec: Path,
    counts: list[int],
    simulate: bool,
    plot: Path | None,
    cold: bool,
    quiet: bool,
    as_json: bool,
    **overrides: Any,
) -> None:
    """Run the experiment of SPEC at each worker count and print number_of_workers, time,
    speedup_vs_sequential (the 1-worker time over this time), efficiency (speedup /
    workers) and startup, and save the time, speedup and efficiency figures with the ideal
    lines. Each real run starts from scratch in memory, on a pool of its own that is
    started and warmed up first (one untimed warm-up trial per worker), so the counts may
    come in any order and the start-up is shown apart. A spec that names no executor runs
    on processes. --simulate predicts the table from one run instead."""
    from .plots import plot_scaling, save

    given = {key: value for key, value in overrides.items() if value is not None}
    target = plot or Path(f"{spec.stem}-scaling.png")
    try:
        if target.suffix.lower() not in (".png", ".svg"):
            raise click.BadParameter(f"{target} must end in .png or .svg", param_hint="--plot")
        table, label, title = _scaling_table(
            spec, counts, given, simulate=simulate, quiet=quiet, warm_up=not cold
        )
        save(plot_scaling(table, title=title, label=label), target)
    except (ParatuneError, ImportError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(table.to_json(orient="records"))
        return
    click.echo(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    click.echo(f"plot: {target}")


def _scaling_table(
    spec: Path,
    counts: list[int],
    given: dict[str, Any],
    *,
    simulate: bool,
    quiet: bool,
    warm_up: bool,
) -> tuple[pd.DataFrame, str, str]:
    """`scaling`'s table, with the label and title of its plot: replayed from one run with
    ``simulate``, else measured by one run per count (each in memory: no store)."""
    from .scaling import WARM_UP, measure_scaling, simulate_scaling

    if simulate:
        table, run = simulate_scaling(spec, counts, overrides=given)
        if not quiet:
            click.echo(
                f"[paratune] {run.name}: {len(run.trial_list)} trials on {run.workers} "
                f"workers in {run.wall_time:.2f} s, replayed below",
                err=True,
            )
        return table, "predicted", f"{run.name}: what-if replay of {len(run.trial_list)} trials"

    def say(line: str) -> None:
        if not quiet:
            click.echo(f"[paratune] {line}", err=True)

    say(WARM_UP if warm_up else "each count runs on a cold pool: start-up is in its time")
    warm: dict[int, float] = {}
    measured = {key: value for key, value in given.items() if key != "store"}
    table = measure_scaling(
        spec,
        counts,
        overrides=measured,
        warm_up=warm_up,
        on_warm=lambda n, seconds: warm.__setitem__(n, seconds),
        on_run=lambda n, result: say(
            f"{n} workers: "
            + (f"start-up {warm[n]:.2f} s, " if n in warm else "")
            + f"run {result.wall_time:.2f} s"
        ),
    )
    return table, "measured", f"{spec.stem}: scaling"
