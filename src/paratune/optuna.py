"""Optuna's samplers as paratune searchers: keep the sampler you know, and gain paratune's
executors, store, schedulers and reports.

`OptunaSearcher` drives an Optuna study in memory through its ask-and-tell interface: each
`suggest` asks the study for a trial over the space's distributions, each `observe` tells
it the trial's value. Trials asked and not yet told stay RUNNING in the study, where
Optuna's samplers see them (TPE's constant liar, for one). Serially, with the same sampler
seed, it suggests what Optuna's own ``study.optimize`` would.

>>> import optuna, paratune as pt
>>> from paratune.optuna import OptunaSearcher
>>> result = pt.tune(lambda c: (c["x"] - 0.3) ** 2, {"x": pt.Float(0, 1)},
...                  searcher=OptunaSearcher(optuna.samplers.RandomSampler(seed=0)),
...                  max_trials=5, store=None)
>>> len(result.trial_list)
5
"""

from __future__ import annotations

import json
from typing import Any

from ._domains import Choice, Float, Int
from .errors import SpaceError, SpecError
from .space import Space
from .trial import Config, Status, Trial

__all__ = ["OptunaSearcher"]

_PRIMITIVE = (type(None), bool, int, float, str)  # what Optuna's categories may hold


class OptunaSearcher:
    """An Optuna sampler as a paratune searcher (``pip install 'paratune[optuna]'``).

    Args:
        sampler: the Optuna sampler (``optuna.samplers.TPESampler(...)``, ``CmaEsSampler``,
            ``GPSampler``, ...), or a function of the experiment seed that makes one. None:
            ``TPESampler(seed=seed)``, Optuna's default sampler seeded by the experiment.
            A sampler object keeps its own seed and state across runs: give a function for
            runs that each start afresh.

    A space with conditional parameters is refused: Optuna's ask with fixed distributions
    has no conditions (paratune's ``"tpe"`` searcher handles them).
    """

    def __init__(self, sampler: Any = None) -> None:
        self.sampler = sampler
        self._study: Any = None
        self._distributions: dict[str, Any] = {}
        self._choices: dict[str, tuple[Any, ...]] = {}  # non-primitive options, by index
        self._constants: dict[str, Any] = {}
        self._names: tuple[str, ...] = ()
        self._pending: dict[str, list[Any]] = {}  # a config's key -> Optuna trials asked
        self._told: set[int] = set()

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start a new in-memory study over ``space`` (its tunable parameters)."""
        import optuna

        if space.conditional:
            names = ", ".join(space.conditional)
            raise SpaceError(
                f"OptunaSearcher cannot search conditional parameters ({names}): use "
                "searcher='tpe', which handles them"
            )
        self._distributions, self._choices = {}, {}
        for name, domain in space.domains.items():
            self._distributions[name] = self._distribution(name, domain)
        self._constants, self._names = space.constants, space.names
        sampler = self.sampler
        if sampler is None:
            sampler = optuna.samplers.TPESampler(seed=seed)
        elif callable(sampler) and not isinstance(sampler, optuna.samplers.BaseSampler):
            sampler = sampler(seed)
        if not isinstance(sampler, optuna.samplers.BaseSampler):
            raise SpecError(
                "OptunaSearcher's sampler must be an Optuna sampler or a function of the seed "
                f"that returns one, got {type(sampler).__name__} ({sampler!r:.60})"
            )
        self._study = optuna.create_study(sampler=sampler, direction="minimize")
        self._pending, self._told = {}, set()

    def suggest(self) -> Config | None:
        """Ask the study for a trial and give its parameters as a config."""
        asked = self._study.ask(self._distributions)
        config = self._config(asked.params)
        self._pending.setdefault(_key(config), []).append(asked)
        return config

    def observe(self, trial: Trial) -> None:
        """Tell the study how ``trial`` ended (its first end only: a continued trial's
        later budgets are not told again); a trial it never asked for (a resumed
        experiment's) is added to it as a finished one."""
        import optuna

        if trial.trial_id in self._told:
            return
        self._told.add(trial.trial_id)
        done = trial.status is Status.DONE and trial.value is not None
        state = optuna.trial.TrialState.COMPLETE if done else optuna.trial.TrialState.FAIL
        value = float(trial.value) if done and trial.value is not None else None
        waiting = self._pending.get(_key(dict(trial.config)))
        if waiting:
            self._study.tell(waiting.pop(0), value, state=state)
            return
        params = {name: self._param(name, trial.config[name]) for name in self._distributions}
        self._study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=self._distributions, value=value, state=state
            )
        )

    def _distribution(self, name: str, domain: Any) -> Any:
        import optuna.distributions as d

        if isinstance(domain, Float):
            return d.FloatDistribution(domain.low, domain.high, log=domain.log)
        if isinstance(domain, Int):
            return d.IntDistribution(domain.low, domain.high, log=domain.log)
        if isinstance(domain, Choice):
            if all(isinstance(v, _PRIMITIVE) for v in domain.values):
                return d.CategoricalDistribution(domain.values)
            self._choices[name] = domain.values  # told to Optuna by their positions
            return d.CategoricalDistribution(tuple(range(len(domain.values))))
        raise SpaceError(f"OptunaSearcher cannot search parameter {name!r} ({domain!r})")

    def _config(self, params: dict[str, Any]) -> Config:
        found = {**params, **self._constants}
        for name, values in self._choices.items():
            found[name] = values[found[name]]
        return {name: found[name] for name in self._names}

    def _param(self, name: str, value: Any) -> Any:
        values = self._choices.get(name)
        return value if values is None else values.index(value)


def _key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=repr)
