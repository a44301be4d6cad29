"""What the parameter figures read from the trials table: which parameters vary, which
are numbers, which span decades, and a choice's values in the order they were first tried.

Each reads a column of a million trials in a fraction of a second: by hashing the values
rather than writing each one out as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def config_columns(trials: pd.DataFrame) -> list[str]:
    """The parameters that vary (constants would only draw a vertical line)."""
    return [c for c in trials.columns if c.startswith("config.") and varies(trials[c])]


def varies(column: pd.Series[Any]) -> bool:
    """Whether the column holds two values that read differently (as 1 and 1.0 do, which
    hash alike: told apart by their text, on the rare column that mixes types)."""
    distinct = distinct_values(column)
    if len(distinct) != 1:
        return len(distinct) > 1
    return len({type(v) for v in column}) > 1 and column.astype(str).nunique(dropna=False) > 1


def distinct_values(column: pd.Series[Any]) -> Any:
    """The column's distinct values in the order the trials first took them: by hashing
    (a million values in a tenth of a second), or as text where they cannot be hashed."""
    import pandas as pd

    try:
        return pd.unique(column.to_numpy(dtype=object))
    except TypeError:  # a list or a dict among the values
        return pd.unique(column.astype(str).to_numpy(dtype=object))


def numeric(column: pd.Series[Any]) -> bool:
    """Whether every value given is a number (not a bool), so the axis is a scale."""
    values = column.dropna()
    return len(values) > 0 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def wide(values: pd.Series[Any]) -> bool:
    """Positive values spanning more than two decades read better on a log scale."""
    low, high = float(values.min()), float(values.max())
    return low > 0 and high / low > 100


def choices(column: pd.Series[Any]) -> list[str]:
    """A choice's values as text, in the order the trials first took them."""
    distinct = distinct_values(column)
    if not all(isinstance(v, str) for v in distinct):  # 1 and 1.0 hash alike, read apart
        distinct = column
    return list(dict.fromkeys(str(v) for v in distinct))
