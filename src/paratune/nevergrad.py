"""Nevergrad's optimisers as paratune searchers: keep the optimiser you know, and gain
paratune's executors, store, schedulers and reports.

`NevergradSearcher` drives a Nevergrad optimiser through its ask-and-tell interface: each
`suggest` asks it for a candidate over the space's parametrization, each `observe` tells it
the trial's loss. Serially, with the same seed, it suggests what Nevergrad's own loop
(``optimizer.minimize``, or ``ask`` then ``tell``) would.

>>> import paratune as pt
>>> from paratune.nevergrad import NevergradSearcher
>>> result = pt.tune(lambda c: (c["x"] - 0.3) ** 2, {"x": pt.Float(0, 1), "k": [1, 2]},
...                  searcher=NevergradSearcher("OnePlusOne"), max_trials=5, store=None)
>>> len(result.trial_list)
5
"""

from __future__ import annotations

import atexit
import difflib
import importlib
import json
import math
import threading
import warnings
import weakref
from typing import Any

import numpy as np

from ._checks import is_whole
from ._domains import Choice, Float, Int, same_value
from .errors import SpaceError, SpecError
from .space import Space
from .trial import Config, Status, Trial

__all__ = ["NevergradSearcher"]

# Optimisers whose background thread (Nevergrad's recast optimisers, such as the Cobyla
# NGOpt picks for small continuous runs on one worker) waits for a tell: stopped when the
# interpreter exits, as a thread left waiting would keep it from exiting.
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_EXIT_HOOKED: list[bool] = []


class NevergradSearcher:
    """A Nevergrad optimiser as a paratune searcher (``pip install 'paratune[nevergrad]'``).

    Args:
        optimizer: the name of a Nevergrad optimiser (``sorted(nevergrad.optimizers.registry)``
            lists them), an optimiser class (``nevergrad.optimizers.CMA``) or a configured one
            (``nevergrad.families.DifferentialEvolution(crossover="twopoints")``). The default,
            ``"NGOpt"``, picks an algorithm for the space, the budget and the workers.
        budget: the evaluations Nevergrad plans for (NGOpt chooses its algorithm by it,
            others size their populations or steps). None: the run's ``max_trials``.

    Each run makes a new optimiser over a parametrization of the space (``Float`` as
    ``ng.p.Scalar``, log scale as ``ng.p.Log``, ``Int`` the same with integer casting,
    ``Choice`` as ``ng.p.Choice``; constants are added to every config), with
    ``num_workers`` the run's workers and the parametrization's ``random_state`` seeded by
    the experiment seed. Running trials are candidates asked and not told, one per worker
    (more only while a resumed experiment replays its stored trials). A failed trial is
    told as Nevergrad's worst loss, a pruned one as its last value, a cancelled one not at
    all; a continued trial (ASHA, Hyperband) is told once, at its first end. A space with
    conditional parameters is refused: a Nevergrad parametrization has no conditions
    (paratune's ``"tpe"`` searcher handles them).

    Raises:
        ImportError: Nevergrad is not installed.
        SpecError: ``optimizer`` is an unknown name or not an optimiser, or ``budget`` is
            not an integer >= 1.
    """

    def __init__(self, optimizer: Any = "NGOpt", budget: int | None = None) -> None:
        ng = _import_nevergrad()
        if budget is not None and not is_whole(budget, 1):
            raise SpecError(f"NevergradSearcher's budget must be an integer >= 1, got {budget!r}")
        self.optimizer = optimizer
        self.budget = budget
        self._make = _optimizer_maker(ng, optimizer)
        self._optimizer: Any = None
        self._domains: dict[str, Any] = {}
        self._constants: dict[str, Any] = {}
        self._names: tuple[str, ...] = ()
        self._plan = (0, 1, 1)  # (seed, budget, workers) of the run
        self._restarts = 0
        self._pending: dict[str, list[Any]] = {}  # a config's key -> candidates asked
        self._told: set[int] = set()
        self._constants_given = False

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Make a new optimiser over ``space`` (its tunable parameters), forgetting any
        earlier run's."""
        if space.conditional:
            names = ", ".join(space.conditional)
            raise SpaceError(
                f"NevergradSearcher cannot search conditional parameters ({names}): use "
                "searcher='tpe', which handles them"
            )
        budget = self.budget if self.budget is not None else max_trials
        if budget is None and space.dimension > 0:
            raise SpecError(
                "NevergradSearcher needs a budget (Nevergrad's optimisers choose their "
                "settings by it): give tune max_trials, or NevergradSearcher(budget=...)"
            )
        _stop_threads(self._optimizer)
        self._domains, self._constants = space.domains, space.constants
        self._names, self._plan, self._restarts = space.names, (seed, budget or 1, workers), 0
        self._pending, self._told, self._constants_given = {}, set(), False
        self._optimizer = self._new_optimizer() if space.dimension > 0 else None

    def suggest(self) -> Config | None:
        """Ask the optimiser for a candidate and give its value as a config (a space of
        constants alone: its one config, then None)."""
        if not self._names:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        if self._optimizer is None:
            if self._constants_given:
                return None
            self._constants_given = True
            return {name: self._constants[name] for name in self._names}
        if self._pending and _one_at_a_time(self._optimizer):
            # Such an optimiser (Cobyla and the other recast ones) would wait for ever for
            # the tell of a candidate whose trial never came (a resumed experiment's stored
            # trials replace the candidates asked for them): start it again.
            self._restarts += 1
            _stop_threads(self._optimizer)
            self._optimizer, self._pending = self._new_optimizer(), {}
        candidate = self._optimizer.ask()
        config = self._config(candidate.value)
        self._pending.setdefault(_key(config), []).append(candidate)
        return config

    def observe(self, trial: Trial) -> None:
        """Tell the optimiser how ``trial`` ended (its first end only: a continued trial's
        later budgets are not told again); a trial it never asked for (a resumed
        experiment's) is told as a candidate made from its config."""
        if self._optimizer is None or trial.trial_id in self._told:
            return
        loss = _loss(trial)
        if loss is None:
            return
        self._told.add(trial.trial_id)
        key = _key(dict(trial.config))
        waiting = self._pending.get(key)
        if waiting:
            candidate = waiting.pop(0)
            if not waiting:
                del self._pending[key]
        else:
            value = {name: self._param(name, trial.config[name]) for name in self._domains}
            candidate = self._optimizer.parametrization.spawn_child(new_value=value)
        _tell(self._optimizer, candidate, loss)

    def _new_optimizer(self) -> Any:
        ng = _import_nevergrad()
        seed, budget, workers = self._plan
        params = {name: _parameter(ng, domain) for name, domain in self._domains.items()}
        parametrization = ng.p.Dict(**params)
        parametrization.random_state = _random_state(seed, self._restarts)
        refused = (
            f"Nevergrad's {_name(self.optimizer)} refuses budget={budget}, num_workers={workers}"
        )
        if workers > 1 and getattr(self._make, "no_parallelization", False):
            raise SpecError(f"{refused}: it runs one point at a time; give it workers=1")
        try:
            optimizer = self._make(parametrization, budget=budget, num_workers=workers)
        except ValueError as exc:
            raise SpecError(f"{refused}: {exc}") from exc
        _LIVE.add(optimizer)
        _hook_exit()
        return optimizer

    def _config(self, value: dict[str, Any]) -> Config:
        found = dict(self._constants)
        for name, domain in self._domains.items():
            drawn = value[name]
            if isinstance(domain, Choice):
                found[name] = domain.values[int(drawn)]
            else:  # inside the bounds, whatever a log scale's rounding gave
                kind = float if isinstance(domain, Float) else int
                found[name] = kind(min(max(drawn, domain.low), domain.high))
        return {name: found[name] for name in self._names}

    def _param(self, name: str, value: Any) -> Any:
        domain = self._domains[name]
        if isinstance(domain, Choice):
            return _position(name, domain.values, value)
        return float(value) if isinstance(domain, Float) else int(value)

    def __repr__(self) -> str:
        return f"NevergradSearcher({_name(self.optimizer)!r}, budget={self.budget!r})"


def _import_nevergrad() -> Any:
    """The nevergrad module, or an ImportError that says how to install it."""
    try:
        return importlib.import_module("nevergrad")
    except ImportError as exc:
        raise ImportError(
            "NevergradSearcher needs Nevergrad: pip install 'paratune[nevergrad]'"
        ) from exc


def _optimizer_maker(ng: Any, optimizer: Any) -> Any:
    """What makes the optimiser: ``maker(parametrization, budget=, num_workers=)``."""
    base = ng.optimizers.base
    if isinstance(optimizer, str):
        registry = ng.optimizers.registry
        if optimizer in registry:
            return registry[optimizer]
        close = difflib.get_close_matches(optimizer, list(registry), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise SpecError(
            f"unknown Nevergrad optimizer {optimizer!r}{hint}; "
            f"sorted(nevergrad.optimizers.registry) lists the {len(registry)} names"
        )
    if isinstance(optimizer, base.ConfiguredOptimizer) or (
        isinstance(optimizer, type) and issubclass(optimizer, base.Optimizer)
    ):
        return optimizer
    made = " (one already made has its own parametrization: give its name or class)"
    raise SpecError(
        "NevergradSearcher's optimizer must be a Nevergrad optimizer's name, class or "
        f"configured optimizer, got {type(optimizer).__name__} ({optimizer!r:.60})"
        + (made if isinstance(optimizer, base.Optimizer) else "")
    )


def _name(optimizer: Any) -> str:
    if isinstance(optimizer, str):
        return optimizer
    return getattr(optimizer, "__name__", None) or repr(optimizer)


def _parameter(ng: Any, domain: Any) -> Any:
    """The Nevergrad parameter for a paratune domain (a choice by its options' indices, so
    that any option, hashable or not, comes back as the choice's own object)."""
    if isinstance(domain, Float | Int):
        kind = ng.p.Log if domain.log else ng.p.Scalar
        scalar = kind(lower=domain.low, upper=domain.high)
        return scalar.set_integer_casting() if isinstance(domain, Int) else scalar
    if isinstance(domain, Choice):
        return ng.p.Choice(list(range(len(domain.values))))
    raise SpaceError(f"NevergradSearcher cannot search {domain!r}")


def _random_state(seed: int, restarts: int) -> np.random.RandomState:
    """The parametrization's generator: ``RandomState(seed)`` as Nevergrad's own examples
    seed it, where that takes the seed (below 2**32) and the optimiser is the run's first."""
    if restarts == 0 and seed < 2**32:
        return np.random.RandomState(seed)
    return np.random.RandomState(np.random.MT19937(np.random.SeedSequence([seed, restarts])))


def _loss(trial: Trial) -> float | None:
    """What the optimiser is told: the value of a finished or pruned trial (a pruned one's,
    at the budget it reached, is what its first end at that budget under ASHA would tell),
    inf for a failed one (Nevergrad clips it to its worst loss, as for a point that breaks
    a constraint); None, nothing, for a trial the run stopped (cancelled, interrupted): its
    result says nothing about its config."""
    if trial.status in (Status.DONE, Status.PRUNED) and trial.value is not None:
        return float(trial.value)
    if trial.status in (Status.FAILED, Status.PRUNED):
        return math.inf
    return None


def _tell(optimizer: Any, candidate: Any, loss: float) -> None:
    errors = _import_nevergrad().errors
    with warnings.catch_warnings():
        # inf means "failed" here, not an objective in need of rescaling, as it warns.
        warnings.filterwarnings("ignore", category=errors.LossTooLargeWarning)
        try:
            optimizer.tell(candidate, loss)
        except errors.TellNotAskedNotSupportedError:
            pass  # it learns only from its own candidates (CMA's, Cobyla's, ...)


def _parts(optimizer: Any) -> list[Any]:
    """The optimiser and those inside it: NGOpt's choice, a portfolio's or chain's."""
    found: list[Any] = []
    todo = [optimizer]
    while todo:
        part = todo.pop()
        if part is None or any(part is seen for seen in found):
            continue
        found.append(part)
        todo.append(getattr(part, "_optim", None))  # NGOpt's choice, once made
        todo.extend(getattr(part, "optims", None) or getattr(part, "optimizers", None) or ())
    return found


def _one_at_a_time(optimizer: Any) -> bool:
    """Whether the optimiser takes no second ask before the first is told."""
    return any(getattr(part, "no_parallelization", False) for part in _parts(optimizer))


def _stop_threads(optimizer: Any) -> None:
    for part in _parts(optimizer):
        thread = getattr(part, "_messaging_thread", None)
        if thread is not None:
            thread.stop()


def _stop_all() -> None:
    for optimizer in list(_LIVE):
        _stop_threads(optimizer)


def _hook_exit() -> None:
    """Stop the waiting threads at exit, before Python waits for them to end (threading's
    exit hook; an ordinary atexit one comes after that wait)."""
    if not _EXIT_HOOKED:
        _EXIT_HOOKED.append(True)
        getattr(threading, "_register_atexit", atexit.register)(_stop_all)


def _position(name: str, values: tuple[Any, ...], value: Any) -> int:
    """Where ``value`` is among a choice's options; a stored config's option counts as
    the same when it is stored the same (a tuple comes back from the store as a list)."""
    for index, option in enumerate(values):
        if same_value(option, value):
            return index
    stored = _key(value)
    for index, option in enumerate(values):
        if _key(option) == stored:
            return index
    raise SpaceError(f"{name}: {value!r} is not one of the options {values!r}")


def _key(config: Any) -> str:
    return json.dumps(config, sort_keys=True, default=repr)
