"""`parallel_map`: a function over many configs, in parallel, results in input order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._checks import naming_errors
from .errors import TrialError
from .executors import Executor, make_executor
from .seeding import trial_seed
from .trial import Job


def parallel_map(
    fn: Callable[..., Any],
    configs: Iterable[Mapping[str, Any]],
    *,
    workers: int | None = None,
    executor: str | Executor = "processes",
    seed: int = 0,
) -> list[Any]:
    """Call ``fn(config)`` (or ``fn(config, ctx)``) for every config, in parallel, and return
    the results in input order.

    Raises:
        TrialError: the first input (in input order) whose call raised, with its traceback.

    >>> parallel_map(lambda c: c["x"] ** 2, [{"x": 1}, {"x": 2}, {"x": 3}], executor="threads")
    [1, 4, 9]
    """
    jobs = [Job(i, 1, dict(config), trial_seed(seed, i)) for i, config in enumerate(configs)]
    with naming_errors("executor"):
        ex = make_executor(executor, workers)
    results: list[Any] = [None] * len(jobs)
    failures: dict[int, TrialError] = {}
    ex.start(fn)
    try:
        queued = iter(jobs)
        remaining = len(jobs)
        while remaining:
            for _, job in zip(range(ex.free_slots()), queued, strict=False):
                ex.submit(job)
            for event in ex.completed():
                remaining -= 1
                if event.ok:
                    results[event.trial_id] = event.result
                else:
                    failures[event.trial_id] = TrialError(
                        event.trial_id, event.error or "failed", event.traceback or ""
                    )
    finally:
        ex.close()
    if failures:
        raise failures[min(failures)]
    return results
