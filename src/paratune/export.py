"""Write a run's trials table to a file: CSV, JSON (one object per trial) or Parquet; or
the run as a trace for Perfetto and chrome://tracing (``"trace"``, see `paratune._trace`).

>>> import pandas as pd
>>> import paratune as pt
>>> from paratune.export import export_trials
>>> result = pt.tune(lambda c: c["x"], {"x": pt.Float(0, 1)}, max_trials=3, store=None)
>>> path = export_trials(result, "trials.csv")
>>> len(pd.read_csv(path))
3
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._csv import write_csv
from .errors import ParatuneError

if TYPE_CHECKING:
    import pandas as pd

    from .result import TuneResult

FORMATS = ("csv", "json", "parquet", "trace")
"""The formats `export_trials` writes."""


def export_frame(result: TuneResult) -> pd.DataFrame:
    """`TuneResult.trials` made plain for files: ``status`` as text, ``seed`` as a 64-bit
    integer, a parameter whose values are integers as integers where it is inactive in some
    trials (left empty there), and a column whose values are not all of one simple type (a
    choice among a number and a string, a list) as JSON text."""
    frame = result.trials.copy(deep=False)  # copy on write: the cached table stays as it is
    frame["status"] = frame["status"].astype(str)
    frame["seed"] = frame["seed"].astype("int64")  # trial seeds are below 2**63
    _keep_integers(frame, result)
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        kinds = {type(v) for v in frame[column] if v is not None}
        if len(kinds) > 1 or not kinds <= {str, int, float, bool}:
            frame[column] = [None if v is None else json.dumps(v, default=str)
                             for v in frame[column]]  # fmt: skip
    return frame


def _keep_integers(frame: pd.DataFrame, result: TuneResult) -> None:
    """Make each float column of a parameter that is absent from some configs (inactive
    there) and an integer in all the others a nullable integer column, which pandas
    would otherwise write as 3.0."""
    import pandas as pd

    from .result import config_values

    for column in frame.columns:
        name = column.removeprefix("config.")
        if name == column or frame[column].dtype != float or not frame[column].isna().any():
            continue
        values = config_values(result, name)  # a stored run's, without building its trials
        given = [value for value in values if value is not None]
        if given and all(type(value) is int for value in given):
            frame[column] = pd.array(values, dtype="Int64")


def _write_json(frame: pd.DataFrame, target: Path) -> None:
    """One object per trial, floats written exactly (pandas' own writer rounds them to 15
    digits), missing values as null and infinities as the text "inf" or "-inf" (strict
    JSON has no number for them)."""
    import numpy as np
    import pandas as pd

    def plain(value: Any) -> Any:
        if value is None or value is pd.NA:
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else str(value)
        return value

    rows = [
        {column: plain(value) for column, value in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]
    target.write_text(json.dumps(rows, indent=1, default=str, allow_nan=False) + "\n")


def export_trials(
    result: TuneResult,
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Write the trials of ``result`` (see `export_frame`) to ``path``, or with ``"trace"``
    the run in the Chrome / Perfetto trace event format (`paratune._trace.build_trace`).

    Args:
        result: the run.
        path: the file to write (its folder is created).
        format: ``"csv"``, ``"json"``, ``"parquet"`` or ``"trace"`` (default: from the
            path's suffix, ``.trace.json`` meaning ``"trace"``).
        settings: for a trace, the experiment's stored settings, which give a
            multi-fidelity run's rungs (`paratune._trace.stored_settings`).

    Raises:
        ValueError: the format is not one of these.
        ImportError: Parquet was asked and pyarrow is not installed.
        ParatuneError: a value Parquet cannot hold (an integer beyond 64 bits).
    """
    target = Path(path)
    chosen = format or target.suffix.lstrip(".").lower()
    if format is None and target.name.lower().endswith(".trace.json"):
        chosen = "trace"
    if chosen not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {chosen!r}")
    if chosen == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "export to Parquet needs pyarrow: pip install 'paratune[parquet]'"
            ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "trace":
        from ._trace import build_trace

        trace = build_trace(result, settings)
        target.write_text(json.dumps(trace, allow_nan=False, separators=(",", ":")) + "\n")
        return target
    frame = export_frame(result)
    writers: dict[str, Any] = {
        "csv": lambda: write_csv(frame, target),  # as frame.to_csv writes it, faster
        "json": lambda: _write_json(frame, target),
        "parquet": lambda: _write_parquet(frame, target),
    }
    writers[chosen]()
    return target


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    """The table as Parquet, or a `ParatuneError` for a value Parquet has no type for (an
    integer beyond 64 bits, which the store keeps: CSV and JSON write it)."""
    import pyarrow

    try:
        frame.to_parquet(target, index=False)
    except (OverflowError, pyarrow.ArrowException) as exc:
        raise ParatuneError(
            f"cannot write {target} as Parquet: {exc}; export as csv or json instead"
        ) from exc
