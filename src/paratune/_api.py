"""The two entry points: `tune` and `parallel_map`."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import SpecError, TrialError
from .executors import Executor, make_executor
from .progress import ConsoleProgress
from .result import TuneResult
from .schedulers import Scheduler, make_scheduler
from .searchers import InitialPoints, Searcher, make_searcher
from .space import Space
from .store import MemoryStore, Store
from .trial import Job
from .tuner import ProgressCallback, RunSettings, Tuner


def tune(
    objective: Callable[..., Any],
    space: Space | Mapping[str, Any],
    *,
    metric: str = "value",
    mode: str = "min",
    searcher: str | Searcher = "random",
    scheduler: str | Scheduler = "fifo",
    executor: str | Executor = "serial",
    workers: int | None = None,
    max_trials: int | None = None,
    max_time: float | None = None,
    target: float | None = None,
    seed: int = 0,
    retries: int = 0,
    synchronous: bool = False,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    name: str = "experiment",
    store: Store | None = None,
    progress: bool | ProgressCallback = False,
) -> TuneResult:
    """Tune ``objective`` over ``space`` and return every trial and the best one.

    Args:
        objective: ``objective(config)`` or ``objective(config, ctx)`` returning a number or a
            dict of metrics that contains ``metric``. ``ctx`` is a `Context`.
        space: a `Space`, or a dict of parameter name to `Float`, `Int`, `Choice`, a list
            (a choice) or any other value (a constant).
        metric: the metric to tune; a number returned by the objective is this metric.
        mode: ``"min"`` or ``"max"``.
        searcher: ``"random"``, ``"grid"``, ``"sobol"``, ``"lhs"`` or a searcher object.
        scheduler: ``"fifo"`` or a scheduler object.
        executor: ``"serial"``, ``"threads"``, ``"processes"``, ``"simulated"`` or an
            executor object.
        workers: how many trials run at once (default: the number of CPUs; 1 for serial and
            simulated). Ignored when ``executor`` is an object.
        max_trials: the most trials to create (default: no limit, which needs another stopping
            rule or a finite searcher such as a grid).
        max_time: stop after this many seconds (virtual seconds under the simulated executor);
            trials still running are cancelled.
        target: stop as soon as a trial's metric is at least this good; trials still running
            are cancelled where the executor can cancel them.
        seed: the experiment seed: the same seed gives the same configurations, whatever the
            executor and the number of workers.
        retries: how many times a trial that raised (or whose worker died) is run again.
        synchronous: run in batches that wait for their slowest trial, for comparison.
        points_to_evaluate: configurations to try first, before the searcher's own.
        name: the experiment's name.
        store: where trials are kept (default: in memory).
        progress: True for a live display on standard error (plain lines when it is not a
            terminal), or a callable that gets a `Progress` snapshot a few times a second.

    Returns:
        A `TuneResult`.

    Raises:
        SpaceError: the space or a point to evaluate is invalid.
        SpecError: an argument is invalid; the message names it.

    Example:
        >>> import paratune as pt
        >>> result = pt.tune(lambda c: (c["x"] - 2) ** 2, {"x": pt.Float(-5, 5)},
        ...                  max_trials=200, seed=1)
        >>> abs(result.best_config["x"] - 2) < 0.1
        True
    """
    _check_arguments(
        metric=metric,
        mode=mode,
        max_trials=max_trials,
        max_time=max_time,
        target=target,
        seed=seed,
        retries=retries,
    )
    if not callable(objective):
        raise SpecError(f"objective must be callable, got {type(objective).__name__}")
    the_space = space if isinstance(space, Space) else Space(space)
    the_searcher = _resolve("searcher", make_searcher, searcher)
    if points_to_evaluate:
        the_searcher = InitialPoints(points_to_evaluate, then=the_searcher)
    the_scheduler = _resolve("scheduler", make_scheduler, scheduler)
    the_executor = _resolve("executor", make_executor, executor, workers)
    if max_trials is None and max_time is None and target is None:
        if not _finite(the_searcher, the_space):
            raise SpecError(
                f"searcher {searcher!r} never runs out of configurations: "
                "give max_trials, max_time or target"
            )
    settings = RunSettings(
        name=name,
        metric=metric,
        mode=mode,
        seed=seed,
        max_trials=max_trials,
        max_time=max_time,
        target=target,
        retries=retries,
        synchronous=synchronous,
    )
    tuner = Tuner(
        objective,
        space=the_space,
        searcher=the_searcher,
        scheduler=the_scheduler,
        executor=the_executor,
        store=store or MemoryStore(),
        settings=settings,
        progress=ConsoleProgress() if progress is True else progress or None,
    )
    outcome = tuner.run()
    return TuneResult(
        trial_list=outcome.trials,
        metric=metric,
        mode=mode,
        workers=outcome.workers,
        wall_time=outcome.wall_time,
        busy_time=outcome.busy_time,
        cancelled_time=outcome.cancelled_time,
        stop_reason=outcome.stop_reason,
    )


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
    from .seeding import trial_seed

    jobs = [Job(i, 1, dict(config), trial_seed(seed, i)) for i, config in enumerate(configs)]
    ex = _resolve("executor", make_executor, executor, workers)
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


def _resolve(argument: str, make: Callable[..., Any], value: Any, *extra: Any) -> Any:
    """Build a part from its name; a bad name or value is a `SpecError` naming the argument."""
    try:
        return make(value, *extra)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"{argument}: {exc}") from exc


def _finite(searcher: Searcher, space: Space) -> bool:
    from .searchers import Grid

    inner = searcher.then if isinstance(searcher, InitialPoints) else searcher
    return isinstance(inner, Grid) or space.dimension == 0


def _check_arguments(
    *,
    metric: str,
    mode: str,
    max_trials: int | None,
    max_time: float | None,
    target: float | None,
    seed: int,
    retries: int,
) -> None:
    if not isinstance(metric, str) or not metric:
        raise SpecError(f"metric must be a non-empty string, got {metric!r}")
    if mode not in ("min", "max"):
        raise SpecError(f"mode must be 'min' or 'max', got {mode!r}")
    for argument, number, low in (("max_trials", max_trials, 1), ("retries", retries, 0)):
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or number < low
        ):
            raise SpecError(f"{argument} must be an integer >= {low}, got {number!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"seed must be an integer >= 0, got {seed!r}")
    if max_time is not None and (
        isinstance(max_time, bool) or not isinstance(max_time, numbers.Real) or max_time <= 0
    ):
        raise SpecError(f"max_time must be a number of seconds > 0, got {max_time!r}")
    if target is not None and (isinstance(target, bool) or not isinstance(target, numbers.Real)):
        raise SpecError(f"target must be a number, got {target!r}")
