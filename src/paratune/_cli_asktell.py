"""``paratune ask`` and ``paratune tell``: an ask-and-tell experiment from a shell loop or a
batch system. Each call is a session of its own: it opens the experiment (resuming it),
asks or tells, and closes it. A trial asked and not told stays waiting for its result
across calls (``paratune tell`` takes it by id); it is never handed out twice."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ._api import DEFAULT_STORE
from ._cli_scaling import STORE_HELP
from .errors import ExperimentBusy, ParatuneError, SpecError

# What "nothing to evaluate now" exits with, so a shell loop can end on it:
# ``while trial=$(paratune ask spec.yaml); do ...; done``.
NOTHING_TO_ASK = 3

_WAIT_HELP = "Seconds to wait while another driver holds the experiment (default: none)."
_RETRY = 0.1  # seconds between tries while another driver holds the experiment

# Keys of a run spec that say how trials run, which the caller decides in ask and tell.
_NOT_HERE = ("executor", "address", "resources", "setup", "trial_timeout", "synchronous")


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-n", "--count", type=click.IntRange(min=1), default=1, help="Trials to ask.")
@click.option("--name", help="Experiment name (default: the spec's name, or its file name).")
@click.option("--store", type=str, help=STORE_HELP)
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, help=_WAIT_HELP)
def ask(spec: Path, count: int, name: str | None, store: str | None, wait: float) -> None:
    """Ask for trials of the experiment described by SPEC (a run spec without an
    objective: space, metric, mode, searcher, scheduler, seed, max_trials, ...), starting
    it if it is new. Prints one JSON line per trial: trial_id, config, seed, budget,
    start_step. Exits with status 3 when there is nothing to evaluate now (the experiment
    has ended, or its scheduler waits for results of trials asked before)."""
    with _opened(spec, name, store, wait) as study:
        asked = 0
        while asked < count and (trial := study.ask()) is not None:
            asked += 1
            line = {
                "trial_id": trial.trial_id,
                "config": trial.config,
                "seed": trial.seed,
                "budget": trial.budget,
                "start_step": trial.start_step,
            }
            click.echo(json.dumps(line))
    if asked == 0:
        click.echo("nothing to evaluate now", err=True)
        sys.exit(NOTHING_TO_ASK)


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("trial_id", type=click.IntRange(min=0))
@click.argument("value", type=float, required=False)
@click.option("--metrics", help='The result as a JSON object of metrics, {"loss": 0.3}.')
@click.option("--error", help="The trial failed, for this reason.")
@click.option("--name", help="Experiment name (default: the spec's name, or its file name).")
@click.option("--store", type=str, help=STORE_HELP)
@click.option("--wait", type=click.FloatRange(min=0), default=0.0, help=_WAIT_HELP)
def tell(
    spec: Path,
    trial_id: int,
    value: float | None,
    metrics: str | None,
    error: str | None,
    name: str | None,
    store: str | None,
    wait: float,
) -> None:
    """Tell the result of trial TRIAL_ID of the experiment described by SPEC: its VALUE
    (the metric), or --metrics, or --error. Prints the trial's status and value as one
    JSON line."""
    given = [what for what in (value, metrics, error) if what is not None]
    if len(given) != 1:
        raise click.UsageError("give the trial's VALUE, or --metrics, or --error (one of them)")
    result = value if value is not None else _metrics(metrics) if metrics is not None else None
    with _opened(spec, name, store, wait) as study:
        try:
            study.tell(trial_id, result, error=error)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    ended = next(t for t in study.result().trial_list if t.trial_id == trial_id)
    line = {"trial_id": trial_id, "status": ended.status.value, "value": ended.value}
    click.echo(json.dumps(line))


class _opened:
    """The experiment of a spec, open for one call; a bad input is one message and a
    non-zero exit, never a traceback. While another driver holds the experiment, it waits
    up to ``wait`` seconds for it (a batch system's jobs asking at once)."""

    def __init__(self, spec: Path, name: str | None, store: str | None, wait: float) -> None:
        from .asktell import AskTell

        deadline, told = time.monotonic() + wait, False
        try:
            kwargs = _arguments(spec, name, store)
            while True:
                try:
                    # resume=True starts the experiment when it is new: whether it is was
                    # decided under the store's write lock, never from a look beforehand
                    # (another call may be making the store or the experiment meanwhile).
                    self.study = AskTell(**kwargs, resume=True, rerun=False)
                    return
                except ExperimentBusy as exc:
                    if time.monotonic() >= deadline:
                        raise
                    if not told:
                        click.echo(f"{exc}; waiting up to {wait:g} s", err=True)
                        told = True
                    time.sleep(_RETRY)
        except ParatuneError as exc:
            raise click.ClickException(str(exc)) from exc

    def __enter__(self) -> Any:
        return self.study

    def __exit__(self, *_: object) -> None:
        try:
            self.study.close()
        except ParatuneError as exc:
            raise click.ClickException(str(exc)) from exc


def _arguments(spec: Path, name: str | None, store: str | None) -> dict[str, Any]:
    """`AskTell`'s arguments from the spec and the flags."""
    from ._files import load_mapping
    from .spec import resolve_run_spec

    data = load_mapping(spec)
    for key in _NOT_HERE:
        if data.get(key) is not None:
            raise SpecError(f"{spec}: key {key!r} does not apply to ask and tell")
    kwargs = resolve_run_spec(data, source=spec, objective=False)
    if kwargs.get("scheduler", "fifo") != "fifo":
        # A promotion out when a call ends would go back to where its trial stood, and be
        # handed out again by the next call: promotions need one session.
        raise SpecError(
            f"{spec}: key 'scheduler': paratune ask and tell run each configuration once "
            "(fifo); for successive halving, ASHA or Hyperband use pt.AskTell in one "
            "Python session"
        )
    for key in ("resume", "overwrite", "progress"):
        kwargs.pop(key, None)
    kwargs["name"] = name or kwargs.get("name") or spec.stem
    kwargs["store"] = store or kwargs.get("store") or DEFAULT_STORE
    return kwargs


def _metrics(text: str) -> dict[str, Any]:
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--metrics") from exc
    if not isinstance(metrics, dict):
        raise click.BadParameter("must be a JSON object of metrics", param_hint="--metrics")
    return metrics
