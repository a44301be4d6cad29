"""The worker timeline's bars, drawn as one collection per status, or, when there are more
bars than the figure has pixels for, as bands: each worker's busy share per time bin.

A run of a million trials on 64 workers puts thousands of bars on every row of a plot a few
hundred pixels wide: drawn one by one they take minutes and show a smear. The bands show what
the smear hid (when each worker was busy, and with what) in one image, whatever the count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.ticker import MaxNLocator
    from numpy.typing import NDArray

MAX_BARS = 5_000
"""Above this many bars in all, the timeline draws busy bands instead of bars."""

MAX_BARS_PER_WORKER = 200
"""Above this many bars on one worker's row (a few pixels each), bands instead of bars."""

MAX_ROWS = 128
"""Above this many workers' rows (a figure over 35 inches tall), bands instead of bars."""

BINS = 400
"""How many time bins the bands have: about one per pixel of the figure's width."""


def summarises(bars: pd.DataFrame, rows: int = 0) -> bool:
    """Whether a timeline of ``bars`` (as `paratune.analysis.timeline` gives them) on
    ``rows`` workers is drawn as bands: more bars in all than `MAX_BARS`, or on one worker
    than `MAX_BARS_PER_WORKER`, or more rows than `MAX_ROWS`."""
    if len(bars) > MAX_BARS or (len(bars) > 0 and rows > MAX_ROWS):
        return True
    return len(bars) > 0 and int(bars["worker"].value_counts().max()) > MAX_BARS_PER_WORKER


def draw_bars(axes: Axes, bars: pd.DataFrame, colours: dict[str, str]) -> None:
    """One bar per row of ``bars`` on its worker's row, coloured by status: one collection
    per status (a figure of one artist per bar took seconds per thousand bars)."""
    import numpy as np
    from matplotlib.collections import PolyCollection

    for status, group in bars.groupby("status", observed=True, sort=True):
        start = group["start"].to_numpy(dtype=float)
        end = group["end"].to_numpy(dtype=float)
        low = group["worker"].to_numpy(dtype=float) - 0.4
        high = low + 0.8
        corners = np.stack(
            [np.column_stack(c) for c in ((start, low), (start, high), (end, high), (end, low))],
            axis=1,
        )
        axes.add_collection(
            PolyCollection(
                list(corners),
                facecolors=colours[str(status)],
                edgecolors="white",
                linewidths=0.5,
            ),
            autolim=False,
        )


def worker_ticks() -> MaxNLocator:
    """A few worker numbers along the rows, not one tick per worker."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=10, integer=True)


def busy_shares(
    bars: pd.DataFrame, rows: int, end: float, bins: int = BINS
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """How much of each time bin each worker spent on trials of each status.

    Returns:
        The bin edges (``bins + 1``, from 0 to ``end``), and for each status an array of
        ``rows`` workers by ``bins`` bins: the share of the bin (0 to 1) that worker spent
        running trials that ended with that status.
    """
    import numpy as np

    edges = np.linspace(0.0, end, bins + 1)
    width = end / bins if end > 0 else 1.0
    shares: dict[str, NDArray[np.float64]] = {}
    for status, group in bars.groupby("status", observed=True, sort=True):
        worker = group["worker"].to_numpy(dtype=np.int64)
        # Each bar is a ramp up at its start and down at its end: the busy time up to an edge
        # is the sum of the ramps begun before it, so the whole grid costs two bincounts.
        times = np.concatenate([group["start"].to_numpy(float), group["end"].to_numpy(float)])
        slopes = np.concatenate([np.ones(len(group)), -np.ones(len(group))])
        cell = np.concatenate([worker, worker]) * (bins + 1) + np.searchsorted(edges, times)
        size = rows * (bins + 1)
        begun = np.bincount(cell, weights=slopes, minlength=size)[:size]
        offset = np.bincount(cell, weights=slopes * times, minlength=size)[:size]
        running = begun.reshape(rows, bins + 1).cumsum(axis=1)
        busy = edges * running - offset.reshape(rows, bins + 1).cumsum(axis=1)
        shares[str(status)] = np.clip(np.diff(busy, axis=1) / width, 0.0, 1.0)
    return edges, shares


def draw_bands(
    axes: Axes, below: Axes, bars: pd.DataFrame, rows: int, end: float, colours: dict[str, str]
) -> None:
    """Each worker's busy share per time bin as one image (white: idle; a status's colour:
    busy with trials that ended so; mixed where a bin held both), and below it the busy
    workers averaged over each bin."""
    import numpy as np
    from matplotlib.colors import to_rgb

    edges, shares = busy_shares(bars, rows, end)
    image = np.ones((rows, len(edges) - 1, 3))
    total = np.zeros((rows, len(edges) - 1))
    for status, share in shares.items():
        image -= share[:, :, None] * (1.0 - np.array(to_rgb(colours[status])))
        total += share
    axes.imshow(
        np.clip(image, 0.0, 1.0),
        aspect="auto",
        extent=(0.0, end, rows - 0.5, -0.5),
        interpolation="antialiased",
    )
    busy = np.append(total.sum(axis=0), 0.0)
    below.step(edges, busy, where="post", color="#264653")
    below.fill_between(edges, busy, step="post", alpha=0.3, color="#264653")
