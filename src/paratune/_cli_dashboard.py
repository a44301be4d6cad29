"""``paratune dashboard``: a live web view of a store, served until Ctrl-C
(`paratune.dashboard` serves; this checks the arguments and says what went wrong)."""

from __future__ import annotations

import click

from ._api import DEFAULT_STORE
from .errors import ParatuneError


@click.command()
@click.argument("store", required=False, default=DEFAULT_STORE)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Where to listen; anything but this machine's loopback needs --token.",
)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="The port (0: a free one).",
)
@click.option("--token", help="A secret every visitor gives once (the printed URL has it).")
def dashboard(store: str, host: str, port: int, token: str | None) -> None:
    """Serve a live view of STORE (default: paratune.db) in the browser: its experiments,
    each one's trials as they run and end, best-so-far, worker timeline and efficiency.
    Prints the URL and serves until Ctrl-C. Reads only: safe while runs write to it.

    Only this machine can open it unless --host names another interface (0.0.0.0: all),
    which needs --token: the page shows configs, errors and tracebacks."""
    try:
        from .dashboard import serve
    except ImportError as exc:
        raise click.ClickException(
            f"{exc}"
            if "paratune[dashboard]" in str(exc)
            else f"the dashboard needs its extra ({exc}): pip install 'paratune[dashboard]'"
        ) from exc
    try:
        serve(store, host=host, port=port, token=token)
    except ParatuneError as exc:
        raise click.ClickException(str(exc)) from exc
