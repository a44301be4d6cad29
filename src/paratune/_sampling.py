"""Which trials a figure draws when a run has more than it can show one by one.

A scatter of a million points, or a million lines, is slow to draw and no easier to read
than a few thousand: past a threshold the figures draw the best trials and a uniform sample
of the rest, and say so. The sample is seeded, so the same run gives the same figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

BEST = 500
"""How many of the best trials a summarising figure always draws."""

SAMPLED = 2_000
"""How many of the other trials a summarising figure draws, chosen uniformly at random."""

CURVES_BEST = 100
"""How many of the best trials' learning curves a summarising figure always draws."""

CURVES_SAMPLED = 400
"""How many of the other trials' learning curves a summarising figure draws."""

SEED = 20_240_601
"""The seed of every sample, so that a report of the same run is the same report."""


def best_and_sampled(
    frame: pd.DataFrame,
    mode: str,
    *,
    best: int = BEST,
    sampled: int = SAMPLED,
    column: str = "value",
) -> tuple[pd.DataFrame, str]:
    """The rows of ``frame`` a figure draws: every row when there are at most ``best +
    sampled``; else the ``best`` rows by ``column`` (the earliest among equals) and
    ``sampled`` of the others drawn uniformly with a fixed seed, in the frame's order.

    Returns:
        The rows, and a note for the figure's title: ``""`` when every row is drawn, else
        such as ``"best 500 + 2,000 sampled of 1,000,000"``.
    """
    import numpy as np

    if len(frame) <= best + sampled:
        return frame, ""
    values = frame[column].to_numpy(dtype=float)
    # A stable sort keeps equal values in trial order; NaN sorts last either way.
    order = np.argsort(values if mode == "min" else -values, kind="stable")
    top = order[:best]
    others = np.ones(len(frame), dtype=bool)
    others[top] = False
    chosen = sample_positions(int(others.sum()), sampled)
    keep = np.sort(np.concatenate([top, np.flatnonzero(others)[chosen]]))
    return frame.iloc[keep], f"best {best:,} + {sampled:,} sampled of {len(frame):,}"


def sample_positions(length: int, size: int) -> NDArray[np.int64]:
    """``size`` positions out of ``range(length)`` (all of them when ``length <= size``),
    drawn uniformly without replacement with the fixed `SEED`, in increasing order."""
    import numpy as np

    if length <= size:
        return np.arange(length, dtype=np.int64)
    rng = np.random.default_rng(SEED)
    return np.sort(rng.choice(length, size=size, replace=False)).astype(np.int64)


def sampled_note(drawn: int, total: int, what: str = "") -> str:
    """``"2,000 sampled of 1,000,000"`` (with `what` after it when given), or ``""`` when
    every one of ``total`` is drawn."""
    if drawn >= total:
        return ""
    return f"{drawn:,} sampled of {total:,}" + (f" {what}" if what else "")
