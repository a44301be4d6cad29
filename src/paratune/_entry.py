"""How the ``paratune`` command ends when no command did: Ctrl-C, end of input, usage errors."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click


def run_command(group: click.Group) -> None:
    """Run ``group`` as a command and exit with its status.

    As click's own standalone mode does, but a Ctrl-C that no command handled (one during
    start-up, say, while the objective is imported) ends the command with the single line
    ``interrupted`` and exit status 130, as a shell reports a command stopped by Ctrl-C,
    rather than with click's "Aborted!" and status 1.
    """
    # A warning (a lease taken over from a driver that is gone, say) is one line for the
    # user, not Python's file, line and source of where it was raised.
    warnings.formatwarning = _one_line
    try:
        code = group.main(standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt) as exc:
        # click turns a Ctrl-C inside a command into Abort, after a blank line that closes
        # the terminal's "^C"; an Abort of its own (an end of input) keeps its message.
        cause = exc if isinstance(exc, KeyboardInterrupt) else exc.__cause__
        if not isinstance(cause, KeyboardInterrupt):
            click.echo("Aborted!", err=True)
            sys.exit(1)
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> str:
    return f"warning: {message}\n"
