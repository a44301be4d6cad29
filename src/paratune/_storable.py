"""What a store can hold exactly. Every result and report is checked here before it joins a
commit group, so one result the store cannot hold fails its own trial and never costs
another trial's commit, nor stops the run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, SupportsFloat

from .errors import SpaceError

MAX_RESULT_BYTES = 1_000_000
"""The most a trial's metrics (or one report's) may take as JSON: a result is a summary,
and megabytes per trial would make every read of the store slow."""

MAX_STEP = 2**63 - 1
"""The largest step a report may have: SQLite's largest integer."""

_MAX_DEPTH = 32  # nesting deeper than this is not a summary of a trial


def unstorable(metrics: Mapping[str, Any]) -> str | None:
    """Why ``metrics`` cannot be stored exactly, as `_unstorable` says; also when reading
    them runs code of theirs that raises."""
    try:
        return _unstorable(metrics)
    except Exception as exc:
        return f"could not be read: {shown(exc)}"


def _unstorable(metrics: Mapping[str, Any]) -> str | None:
    """Why ``metrics`` cannot be stored exactly (a phrase naming the metric), or None.

    A store keeps metrics as JSON: names must be strings, and values numbers (NumPy's
    included), strings, booleans, None, or lists and dicts of these.

    >>> unstorable({"loss": 0.5, "curve": [1, 2.5]}) is None
    True
    >>> unstorable({"loss": 0.5, (1, 2): 3})
    'metric name (1, 2) is a tuple, not a string'
    """
    for name, value in metrics.items():
        if not isinstance(name, str):
            return f"metric name {name!r} is a {type(name).__name__}, not a string"
        problem = _problem(value, depth=0, path=set())
        if problem is not None:
            return f"metric {name!r} {problem}"
    size = len(json.dumps(metrics, default=_as_plain, allow_nan=True))
    if size > MAX_RESULT_BYTES:
        return f"the metrics take {size:,} bytes as JSON, more than the {MAX_RESULT_BYTES:,} kept"
    return None


def _problem(value: Any, *, depth: int, path: set[int]) -> str | None:
    """What makes one value unstorable, or None; ``path``: the containers above it."""
    if value is None or isinstance(value, str | bool | int | float):
        return None
    if depth >= _MAX_DEPTH:
        return f"is nested more than {_MAX_DEPTH} levels deep"
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy scalars and arrays
        return _problem(value.tolist(), depth=depth + 1, path=path)
    if not isinstance(value, list | tuple | dict):
        return f"is a {type(value).__name__}, which a store cannot keep"
    if id(value) in path:
        return "contains itself"
    path.add(id(value))
    try:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"holds the key {key!r}, a {type(key).__name__}, not a string"
                if (found := _problem(item, depth=depth + 1, path=path)) is not None:
                    return found
            return None
        for item in value:
            if (found := _problem(item, depth=depth + 1, path=path)) is not None:
                return found
        return None
    finally:
        path.discard(id(value))


def _as_plain(value: Any) -> Any:
    return value.tolist()  # only NumPy values get here: `_problem` passed the rest


def shown(exc: BaseException) -> str:
    """``repr(exc)``, or its class's name where even that raises."""
    try:
        return repr(exc)
    except Exception:
        return f"{type(exc).__name__} (which cannot be shown)"


def as_text(text: str | None) -> str | None:
    """``text`` as a store can keep it: lone surrogates (``"\\ud800"``, which UTF-8 cannot
    encode) written as escapes; any other text as it is."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def as_float(raw: SupportsFloat) -> float | None:
    """``raw`` as a float, or None when it is too large for one (an int of 400 digits)."""
    try:
        return float(raw)
    except OverflowError:
        return None


def stored_space(described: dict[str, Any], *, in_a_file: bool) -> dict[str, Any]:
    """A space (``Space.to_dict()``) as a store keeps it: through JSON, so that tuples come
    back as lists and a resumed run compares like with like. A store in memory keeps what
    JSON cannot hold as it is; a store file cannot keep it.

    Raises:
        SpaceError: ``in_a_file``, and a parameter holds what JSON cannot (named), so the
            run is refused before any file is made.
    """
    try:
        kept: dict[str, Any] = json.loads(json.dumps(described, allow_nan=False))
        return kept
    except (TypeError, ValueError, RecursionError):
        if not in_a_file:
            return described
    for name, value in described.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise SpaceError(
                f"parameter {name!r}: a store file keeps the space as JSON, which cannot hold "
                f"it ({shown(exc)}); give store=None to keep the run in memory"
            ) from exc
    return described
