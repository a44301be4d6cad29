"""Strong scaling of one experiment: the same spec run at several worker counts (or its
recorded trials replayed there), tabled as time, speedup against the sequential run and
efficiency, as published studies do by hand."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checks import is_whole
from .errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from .result import TuneResult


def measure_scaling(
    spec: str | os.PathLike[str],
    workers: Sequence[int],
    *,
    overrides: dict[str, Any] | None = None,
    on_run: Callable[[int, TuneResult], None] | None = None,
) -> pd.DataFrame:
    """Run the experiment of ``spec`` once at each worker count, from scratch and in memory
    (the store is left alone), and table the wall times.

    Args:
        spec: the run spec (see `paratune run`).
        workers: the worker counts; 1 must be among them (the sequential time).
        overrides: `tune` arguments that replace the spec's (``max_trials``, ``executor``).
        on_run: called after each run with the worker count and its result.

    Returns:
        The table of `paratune.analysis.scaling_table`.

    Raises:
        SpecError: the spec is invalid, 1 is not among the counts, or the spec's executor
            runs one trial at a time.
    """
    from ._api import tune
    from .analysis import scaling_table
    from .spec import load_run_spec

    _check_counts(workers)
    times = []
    for n in workers:
        kwargs = {**load_run_spec(spec), **(overrides or {})}
        if kwargs.get("executor", "serial") == "serial" and n > 1:
            raise SpecError(
                f"{spec}: executor 'serial' runs one trial at a time, so it cannot scale; "
                "give --executor threads or processes"
            )
        kwargs.update(workers=n, store=None, name=f"{Path(spec).stem}-scaling-{n}")
        result = tune(**kwargs)
        if on_run is not None:
            on_run(n, result)
        times.append(result.wall_time)
    return scaling_table(list(workers), times)


def simulate_scaling(
    spec: str | os.PathLike[str],
    workers: Sequence[int],
    *,
    overrides: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, TuneResult]:
    """Predict the scaling table from one real run: the spec runs as ``paratune run`` runs
    it (continuing its stored experiment, so an experiment already run is not run again),
    then its recorded trial durations are replayed at each worker count
    (`paratune.analysis.what_if`).

    Returns:
        The table, and the run it was predicted from.

    Raises:
        SpecError: the spec is invalid, or 1 is not among the counts.
    """
    from ._api import DEFAULT_STORE, tune
    from .analysis import what_if
    from .spec import load_run_spec

    _check_counts(workers)
    kwargs = {**load_run_spec(spec), **(overrides or {})}
    kwargs.setdefault("name", Path(spec).stem)
    kwargs.setdefault("store", DEFAULT_STORE)
    result = tune(**kwargs, resume=True)
    return what_if(result, workers), result


def _check_counts(workers: Sequence[int]) -> None:
    if not workers or not all(is_whole(n, 1) for n in workers):
        raise SpecError(f"workers: give positive integers, such as 1,2,4,8; got {workers!r}")
    if 1 not in workers:
        raise SpecError(
            "workers: include 1, the sequential run that speedups are measured against "
            f"(got {','.join(map(str, workers))})"
        )
