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


def _summary(p: Progress, *, time_left: float | None = None) -> list[tuple[str, str]]:
    ended = p.done + p.pruned + p.failed + p.cancelled
    total = f"/{p.max_trials}" if p.max_trials is not None else ""
    outcome = f"{p.done} done, {p.pruned} pruned, {p.failed} failed, {p.cancelled} cancelled"
    if p.interrupted:
        outcome += f", {p.interrupted} interrupted (run again on resume)"
    rows = [
        ("trials", f"{ended}{total} ended, {p.running} running" + _queued(p)),
        ("outcome", outcome),
        ("workers busy", _busy(p)),
        ("elapsed", f"{p.elapsed:.1f} s"),
    ]
    if not p.finished and (left := _estimate(p, ended, time_left)) is not None:
        rows.append(("left (estimate)", f"{left:.1f} s"))
    # With several metrics no one trial is best: the snapshot's front size stands in.
    if p.front is not None:
        rows.append(("Pareto front", f"{p.front} trial{'' if p.front == 1 else 's'}"))
    elif p.best_value is not None:
        rows.append(("best", f"{p.best_value:.6g}  {p.best_config}"))
    return rows


def _queued(p: Progress) -> str:
    return f", {p.queued} queued" if p.queued else ""


def _busy(p: Progress) -> str:
    """Busy workers out of those there: a lost worker is neither busy nor idle."""
    present = p.workers - p.lost
    busy = f"{min(p.running, present)}/{present}"
    return f"{busy} ({p.lost} of {p.workers} lost)" if p.lost else busy


def _estimate(p: Progress, ended: int, time_left: float | None) -> float | None:
    """Seconds left: the trials still to run at the pace so far, or the time ``max_time``
    leaves, whichever ends the run first."""
    by_trials = None
    if p.max_trials is not None and ended > 0:
        by_trials = p.elapsed / ended * max(0, p.max_trials - ended)
    if time_left is None:
        return by_trials
    return time_left if by_trials is None else min(by_trials, time_left)


class ConsoleProgress:
    """A progress callback for `tune`: a live table when ``stream`` is a terminal, otherwise
    (CI logs, pipes) a plain line every few seconds and one at the end.

    Shows trials ended (done, pruned, failed, cancelled) and running, workers busy, the
    elapsed time and an estimate of what is left (from ``max_trials`` at the pace so far, and
    from ``max_time``), and the best value and config so far (with several metrics, where
    the snapshot has ``front``, the size of the Pareto front so far instead).

    Args:
        stream: where to write (default: standard error).
        quiet: write nothing.
        max_time: the session's ``max_time`` (seconds), so the estimate of what is left can
            use it.
    """

    def __init__(
        self, stream: TextIO | None = None, *, quiet: bool = False, max_time: float | None = None
    ) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._max_time = max_time
        self._session_start: float | None = None  # elapsed at the first call (a resume)
        self._console = Console(file=self._stream)
        self._live: Live | None = None
        self._last_line = 0.0

    def __call__(self, progress: Progress) -> None:
        """Show one snapshot."""
        if self._quiet:
            return
        if self._session_start is None:
            self._session_start = progress.elapsed
        if self._console.is_terminal:
            self._show_live(progress)
        else:
            self._show_plain(progress)

    def _time_left(self, progress: Progress) -> float | None:
        """What ``max_time`` leaves of this session (elapsed counts earlier sessions too)."""
        if self._max_time is None or self._session_start is None:
            return None
        return max(0.0, self._max_time - (progress.elapsed - self._session_start))

    def _show_live(self, progress: Progress) -> None:
        table = Table.grid(padding=(0, 2))
        for name, text in _summary(progress, time_left=self._time_left(progress)):
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
        rows = _summary(progress, time_left=self._time_left(progress))
        line = "; ".join(f"{name}: {text}" for name, text in rows)
        print(f"[paratune] {line}", file=self._stream, flush=True)
