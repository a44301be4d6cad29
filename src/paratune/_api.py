"""The entry point: `tune`."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._checks import naming_errors
from ._folders import folder_name, prepare_checkpoints
from ._options import DEFAULT_STORE as DEFAULT_STORE  # the CLI's default too
from ._options import TuneOptions
from ._storable import stored_space
from .callbacks import Callback
from .errors import SpecError, StoreError
from .executors import (
    Executor,
    Resources,
    Setup,
    chosen_executor,
    make_executor,
    takes_setup,
    use_resources,
)
from .executors._setup import qualified_name as qualified_name  # the spec's way to name one
from .objectives import aim
from .result import TuneResult
from .schedulers import Scheduler, make_scheduler, prefers_random_order
from .searchers import InitialPoints, Searcher, make_searcher, runs_out, set_auto_order
from .space import Space
from .store import Experiment, MemoryStore, SQLiteStore, Store
from .store._location import store_file
from .tuner import ProgressCallback, Tuner


def tune(
    objective: Callable[..., Any],
    space: Space | Mapping[str, Any],
    *,
    metric: str | Sequence[str] = "value",
    mode: str | Sequence[str] | Mapping[str, str] = "min",
    constraints: Mapping[str, Any] | None = None,
    searcher: str | Searcher = "random",
    scheduler: str | Mapping[str, Any] | Scheduler = "fifo",
    executor: str | Executor | None = None,
    workers: int | None = None,
    address: str | None = None,
    resources: Mapping[str, float] | None = None,
    setup: Setup | None = None,
    max_trials: int | None = None,
    max_time: float | None = None,
    target: float | None = None,
    seed: int = 0,
    retries: int = 0,
    trial_timeout: float | None = None,
    synchronous: bool = False,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    store: str | os.PathLike[str] | Store | None = DEFAULT_STORE,
    name: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | ProgressCallback = False,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike[str] | None = None,
) -> TuneResult:
    """Tune ``objective`` over ``space`` and return every trial and the best one.

    Args:
        objective: ``objective(config)`` or ``objective(config, ctx)`` returning a number or a
            dict of metrics that contains ``metric``. ``ctx`` is a `Context`.
        space: a `Space`, or a dict of parameter name to `Float`, `Int`, `Choice`, a list
            (a choice) or any other value (a constant).
        metric: the metric to tune; a number returned by the objective is this metric. Or
            a list of metrics to tune together (``["error", "latency"]``): the objective
            returns a dict with each, and the result's `TuneResult.pareto_front` holds the
            trials no other beats in every metric (see ``docs/multiobjective.md``).
        mode: ``"min"`` or ``"max"``; with several metrics, one for all, a list with one
            per metric, or a dict of metric to mode.
        constraints: bounds the objective's metrics must meet for a trial to count,
            ``{"memory_mb": ("<=", 2048)}`` (operators ``"<="`` and ``">="``): a trial that
            breaks one is kept, with its metrics, but is never best nor on the Pareto front,
            and searchers steer away from it.
        searcher: ``"random"``, ``"grid"``, ``"sobol"``, ``"lhs"``, ``"gp"`` (a Gaussian-process
            surrogate), ``"cmaes"``, ``"tpe"`` (a tree-structured Parzen estimator),
            ``"nsga2"`` (a steady-state genetic algorithm for several metrics) or a searcher
            object.
        scheduler: ``"fifo"`` (each configuration once, at full budget), ``"asha"``,
            ``"successive_halving"``, ``"hyperband"`` (their defaults), a dict with a
            ``"type"`` and the scheduler's options, or a scheduler object
            (`schedulers.SuccessiveHalving`, `schedulers.ASHA`, `schedulers.Hyperband`).
            Under a multi-fidelity scheduler ``max_trials`` counts configurations: a
            promotion continues the same trial at a higher budget.
        executor: ``"serial"``, ``"threads"``, ``"processes"``, ``"simulated"``, ``"dask"``
            or an executor object (such as ``paratune.executors.Dask("tcp://host:8786")``).
            None (the default) chooses: ``"dask"`` when ``address`` is given, else
            ``"processes"`` when ``workers`` is more than 1, else ``"serial"``. The
            executor chosen is stored with the experiment, and a resumed run uses it.
        workers: how many trials run at once (default: the number of CPUs; 1 for serial and
            simulated; for dask, what the cluster runs at once). Ignored when ``executor``
            is an object.
        address: with ``executor="dask"`` (or no executor named), the scheduler of a
            running Dask cluster (``"tcp://host:8786"``); None starts a local cluster of
            ``workers`` processes.
        resources: what each trial needs while it runs, ``{"cpus": 2, "gpus": 1}``
            (processes and dask executors). The process executor pins each trial's process
            to its own cores and shows it only its own GPUs (``CUDA_VISIBLE_DEVICES``), and
            runs no more trials at once than fit; on Dask they are the workers' ``CPU`` and
            ``GPU`` resources. A trial no worker could run is refused before the run.
        setup: ``setup()``, called once in each worker before its first trial (each process
            of ``"processes"``, also one that replaces a worker that died; each thread of
            ``"threads"``; each Dask worker; once in the driver for ``"serial"`` and
            ``"simulated"``) to load data, import libraries or build a model once per
            worker instead of once per trial. What it returns is ``ctx.prepared`` in every
            trial that worker runs. Its time is start-up, in no trial's time. One that
            raises stops the run before a trial runs there, with a `SetupError` that names
            it and holds the worker's traceback. Stored by its name (``module:function``),
            so ``paratune resume`` imports it again.
        max_trials: the most trials to create, counting those of earlier sessions of a
            resumed experiment (default: no limit, which needs another stopping rule or a
            finite searcher such as a grid).
        max_time: stop this session after this many seconds (virtual seconds under the
            simulated executor); trials still running are cancelled.
        target: stop as soon as a trial's metric is at least this good; trials still running
            are cancelled where the executor can cancel them.
        seed: the experiment seed: the same seed gives the same configurations, whatever the
            executor and the number of workers.
        retries: how many times a trial that raised (or whose worker died) is run again.
        trial_timeout: seconds a trial may run before it is stopped and fails (processes and
            simulated executors).
        synchronous: run in batches that wait for their slowest trial, for comparison.
        points_to_evaluate: configurations to try first, before the searcher's own.
        store: where trials are kept: an SQLite file (default ``paratune.db`` in the working
            folder), a `Store`, or None (or ``":memory:"``) to keep them in memory only.
        name: the experiment's name in the store (default: a new name from the objective's
            name and the time): at most 255 characters, not blank, no control characters.
            Its checkpoint folder is the name itself when that is a plain folder name, else
            a safe form of it (see ``docs/store.md``).
        resume: continue the stored experiment called ``name``: its ended trials are kept,
            its running ones run again with the same config and seed.
        overwrite: replace the stored experiment called ``name``.
        progress: True for a live display on standard error (plain lines when it is not a
            terminal), or a callable that gets a `Progress` snapshot a few times a second.
        callbacks: `paratune.callbacks.Callback` objects told of each trial's start, reports
            and end, and of the run's end, each call made after what it describes is
            committed to the store (``paratune.tracking`` has callbacks for MLflow and
            TensorBoard; see ``docs/tracking.md``). One that raises is warned about once
            and not called again; the run goes on. Not kept with the experiment: give them
            again to a resumed run.
        checkpoint_dir: where ``ctx.save_checkpoint`` keeps each trial's checkpoint (a
            folder per experiment inside it). Default: beside an SQLite store, in
            ``<store name>-checkpoints/`` (so a resumed run finds them); a temporary folder,
            removed at the end, for a store in memory. paratune marks the folders it makes,
            and never empties or removes one it did not make.

    Returns:
        A `TuneResult`.

    Raises:
        SpaceError: the space or a point to evaluate is invalid.
        SpecError: an argument is invalid; the message names it.
        StoreError: the store file is unusable, or the experiment exists and neither
            ``resume`` nor ``overwrite`` was asked, or it was stored with another setup.
        SetupError: ``setup`` raised in a worker (a `ParatuneError`).

    Example:
        >>> import paratune as pt
        >>> result = pt.tune(lambda c: (c["x"] - 2) ** 2, {"x": pt.Float(-5, 5)},
        ...                  max_trials=200, seed=1, store=None)
        >>> abs(result.best_config["x"] - 2) < 0.1
        True
    """
    options = _options(locals())  # every option checked before anything is built
    name = _new_name(objective, options.name)
    checkpoints, temporary = _checkpoint_folder(options.checkpoint_dir, options.store, name)
    parts = build_parts(space, options)
    experiment = _experiment(options, name, objective, parts)  # checked before any file
    the_store = open_store(options.store)
    tuner = Tuner(
        objective,
        space=parts.space,
        searcher=parts.searcher,
        scheduler=parts.scheduler,
        executor=parts.executor,
        store=the_store,
        options=options,
        experiment=experiment,
        progress=_console_progress() if progress is True else progress or None,
        checkpoints=checkpoints,
    )
    try:
        prepare_checkpoints(checkpoints, name, temporary=temporary)
        outcome = tuner.run()
        return TuneResult.from_outcome(
            outcome, objectives=options.objectives, name=name, reports=the_store.reports()
        )
    finally:
        if the_store is not store:
            the_store.close()  # a store paratune opened, paratune closes
        if temporary:
            shutil.rmtree(checkpoints.parent, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Parts:
    """The parts of a run, built from `tune`'s arguments."""

    space: Space
    searcher: Searcher
    scheduler: Scheduler
    executor: Executor
    resources: Resources | None


def build_parts(space: Space | Mapping[str, Any], options: TuneOptions) -> Parts:
    """Build the space, searcher, scheduler and executor, and give the executor the
    per-trial resources. An argument a part refuses is a `SpecError` naming it."""
    the_space = space if isinstance(space, Space) else Space(space)
    searcher, scheduler = search_parts(the_space, options)
    with naming_errors("executor"):
        executor = make_executor(
            chosen_executor(options.executor, options.workers, options.address),
            options.workers,
            trial_timeout=options.trial_timeout,
            address=options.address,
        )
    if options.setup is not None and not takes_setup(executor):
        raise SpecError(
            f"setup needs an executor whose start() takes a setup keyword; "
            f"{type(executor).__name__}.start does not"
        )
    with naming_errors("resources"):
        resources = use_resources(executor, options.resources)
    if options.max_trials is None and options.max_time is None and options.target is None:
        if not runs_out(searcher, the_space):
            raise SpecError(
                f"searcher {options.searcher!r} never runs out of configurations: "
                "give max_trials, max_time or target"
            )
    return Parts(the_space, searcher, scheduler, executor, resources)


def search_parts(space: Space, options: TuneOptions) -> tuple[Searcher, Scheduler]:
    """The searcher (the points to evaluate first, when given) and the scheduler of a run
    (`tune`'s, or an `AskTell`'s). A part's refusal is a `SpecError` naming it."""
    with naming_errors("searcher"):
        searcher = make_searcher(options.searcher)
    if options.points_to_evaluate:
        searcher = InitialPoints(options.points_to_evaluate, then=searcher)
        searcher.check(space)  # before the store holds an experiment that cannot run
    with naming_errors("scheduler"):
        scheduler = make_scheduler(options.scheduler)
    goals = options.objectives
    aim(searcher, goals, "searcher", options.searcher)
    aim(scheduler, goals, "scheduler", options.scheduler)
    # Successive halving assumes new configurations come in random order: a grid (or a long
    # list of points) left to order "auto" is shuffled with the seed under such a scheduler.
    set_auto_order(searcher, "shuffled" if prefers_random_order(scheduler) else "given")
    return searcher, scheduler


def _experiment(
    options: TuneOptions, name: str, objective: Callable[..., Any], parts: Parts
) -> Experiment:
    """The experiment as the store keeps it: what the run tunes, and its stored settings
    (among them the executor chosen, when none was named: a resumed run uses it again).

    Raises:
        SpaceError: the store is a file, which cannot keep this space (`stored_space`).
    """
    in_a_file = isinstance(options.store, str | os.PathLike) and options.store != ":memory:"
    chosen = chosen_executor(options.executor, options.workers, options.address)
    goals = options.objectives
    stored = options.stored(
        workers=parts.executor.workers,
        resources=parts.resources.as_dict() if parts.resources else None,
        objective_folder=_module_folder(objective),
        **({"executor": chosen} if options.executor is None else {}),
        **({"setup_folder": _module_folder(options.setup)} if options.setup else {}),
    )
    return Experiment(
        name=name,
        space=stored_space(parts.space.to_dict(), in_a_file=in_a_file),
        metric=goals.metrics[0],  # the primary metric; all of them in the settings
        mode=goals.modes[0],
        seed=options.seed,
        objective=qualified_name(objective),
        settings=stored,
    )


def _options(given: dict[str, Any]) -> TuneOptions:
    """`tune`'s options, from its arguments as given (their names are the fields of
    `TuneOptions`), the objective and the space left out."""
    return TuneOptions(
        **{name: value for name, value in given.items() if name not in ("objective", "space")}
    )


def _checkpoint_folder(
    checkpoint_dir: str | os.PathLike[str] | None, store: Any, name: str
) -> tuple[Path, bool]:
    """The experiment's checkpoint folder, and whether it is a temporary one. Named, not
    made: `prepare_checkpoints` makes it and marks it as paratune's."""
    folder = folder_name(name)  # never '..', '.', or a path: always a child of its parent
    if checkpoint_dir is not None:
        if not str(checkpoint_dir).strip():
            raise SpecError(f"checkpoint_dir must name a folder, got {checkpoint_dir!r}")
        return Path(checkpoint_dir) / folder, False
    if isinstance(store, str | os.PathLike) and str(store) != ":memory:":
        path = Path(store_file(store))
        return path.parent / f"{path.stem}-checkpoints" / folder, False
    if isinstance(store, SQLiteStore):
        return store.path.parent / f"{store.path.stem}-checkpoints" / folder, False
    root = Path(tempfile.gettempdir()) / f"paratune-checkpoints-{secrets.token_hex(8)}"
    return root / folder, True


def load(store: str | os.PathLike[str], name: str | None = None) -> TuneResult:
    """Open a stored experiment read-only, as `tune` returned it (also while a run is still
    writing to it: the result then shows the trials committed so far).

    Args:
        store: the SQLite store file.
        name: the experiment (default: the most recently created one).

    Raises:
        StoreError: the file is not a paratune store, or has no such experiment.
    """
    # SQLite's check of the file runs beside the reading, on a second core where there is
    # one; nothing read is handed back before it has passed.
    db = SQLiteStore(store, readonly=True, check_meanwhile=True)
    try:
        names = db.names()
        if name is None:
            if not names:
                raise StoreError(f"{store} holds no experiment yet")
            name = names[-1]
        db.select(name)
        # Its trials as columns: its tables need no Trial per row (see TuneResult.from_store).
        result = TuneResult.from_store(db)
        db.checked()
        return result
    finally:
        db.close()


def open_store(store: str | os.PathLike[str] | Store | None) -> Store:
    """A store for `tune`: a path is an SQLite file; None or ``":memory:"`` is memory."""
    if store is None or store == ":memory:":
        return MemoryStore()
    if isinstance(store, str | os.PathLike):
        return SQLiteStore(store)
    return store


def _module_folder(objective: Callable[..., Any]) -> str | None:
    """The folder of the module that defines ``objective``, so a resume can import it."""
    module = sys.modules.get(getattr(objective, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    return str(Path(file).resolve().parent) if file else None


def _new_name(objective: Callable[..., Any], given: str | None = None) -> str:
    """The experiment's name: ``given``, else a new one from the objective's name in plain
    characters, the time, and four random hex digits (``objective-20240131-120000-3f2a``).
    An objective that cannot be called is refused here, before anything is built."""
    if not callable(objective):
        raise SpecError(f"objective must be callable, got {type(objective).__name__}")
    if given is not None:
        return given
    given = getattr(objective, "__name__", None)
    base = re.sub(r"[^A-Za-z0-9_-]", "", given)[:64] if isinstance(given, str) else ""
    return f"{base or 'objective'}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _console_progress() -> ProgressCallback:
    from .progress import ConsoleProgress  # rich is imported only when a display is asked

    return ConsoleProgress()
