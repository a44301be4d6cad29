"""Progress in the terminal: a live panel on a terminal, plain lines in logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from .tuner import Progress

# Seconds between two plain progress lines (logs should not fill up).
_PLAIN_EVERY = 5.0


def _summary(p: Progress) -> list[tuple[str, str]]:
    total = f"/{p.max_trials}" if p.max_trials is not None else ""
    rows = [
        ("trials", f"{p.done + p.failed + p.cancelled}{total} ended, {p.running} running"),
        ("outcome", f"{p.done} done, {p.failed} failed, {p.cancelled} cancelled"),
        ("workers busy", f"{p.running if p.running < p.workers else p.workers}/{p.workers}"),
        ("elapsed", f"{p.elapsed:.1f} s"),
    ]
    if p.max_trials is not None and p.done + p.failed > 0 and not p.finished:
        ended = p.done + p.failed + p.cancelled
        left = p.elapsed / ended * max(0, p.max_trials - ended)
        rows.append(("left (estimate)", f"{left:.1f} s"))
    if p.best_value is not None:
        rows.append(("best", f"{p.best_value:.6g}  {p.best_config}"))
    return rows


class ConsoleProgress:
    """A progress callback for `tune`: a live table when ``stream`` is a terminal, otherwise
    (CI logs, pipes) a plain line every few seconds and one at the end.

    Args:
        stream: where to write (default: standard error).
        quiet: write nothing.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._console = Console(file=self._stream)
        self._live: Live | None = None
        self._last_line = 0.0

    def __call__(self, progress: Progress) -> None:
        """Show one snapshot."""
        if self._quiet:
            return
        if self._console.is_terminal:
            self._show_live(progress)
        else:
            self._show_plain(progress)

    def _show_live(self, progress: Progress) -> None:
        table = Table.grid(padding=(0, 2))
        for name, text in _summary(progress):
            table.add_row(f"[bold]{name}[/bold]", text)
        if self._live is None:
            # No auto-refresh thread: a thread in the driver must not be forked with workers.
            self._live = Live(table, console=self._console, auto_refresh=False)
            self._live.start()
        self._live.update(table, refresh=True)
        if progress.finished:
            self._live.stop()
            self._live = None

    def _show_plain(self, progress: Progress) -> None:
        now = time.monotonic()
        if not progress.finished and now - self._last_line < _PLAIN_EVERY:
            return
        self._last_line = now
        line = "; ".join(f"{name}: {text}" for name, text in _summary(progress))
        print(f"[paratune] {line}", file=self._stream, flush=True)
