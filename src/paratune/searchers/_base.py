"""What a searcher is, the optional hooks by which one says it runs out of configurations or
has converged, and the shared part of the searchers that decode blocks of points."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable

from ..objectives import Objectives
from ..space import Space
from ..trial import Config, Trial


@runtime_checkable
class Searcher(Protocol):
    """Proposes configurations to try.

    The tuner calls `setup` once before a run, then `suggest` whenever a worker is free and
    `observe` whenever a trial ends. It enforces ``max_trials`` itself: a searcher may go on
    suggesting past it.
    """

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Prepare for a run over ``space``, forgetting any earlier run.

        Args:
            space: the space to search.
            seed: the experiment seed; the same seed must give the same suggestions.
            workers: how many trials may run at once.
            max_trials: how many trials the run may create, when known.
        """
        ...

    def suggest(self) -> Config | None:
        """Return the next config to try, or None when there is nothing (more) to try.

        None may also mean "nothing until more results arrive"; the tuner asks again after
        the next `observe`.
        """
        ...

    def observe(self, trial: Trial) -> None:
        """Take note of a trial that ended (DONE, FAILED or CANCELLED).

        ``trial.value`` is a loss: lower is better. With ``tune(mode="max")`` the tuner
        hands searchers the metric negated, so a searcher always minimises. On a resumed
        experiment, the trials of earlier sessions are observed again, in id order.
        """
        ...


@runtime_checkable
class Finite(Protocol):
    """A searcher that says whether it runs out of configurations: an optional hook.

    A run whose searcher runs out needs no stopping rule (``max_trials``, ``max_time`` or
    ``target``): it ends once every config was tried. `Grid` runs out; `InitialPoints` runs
    out when the searcher after its points does. A searcher without this method is taken to
    go on for ever (see `runs_out`).
    """

    def exhausts(self, space: Space) -> bool:
        """Whether, set up on ``space``, this searcher stops suggesting after finitely many
        configs (`Searcher.suggest` returns None for good)."""
        ...


@runtime_checkable
class Converging(Protocol):
    """A searcher that may converge, and then has nothing more to try: an optional hook.

    Once `converged` is True, `Searcher.suggest` returns None for good, and a run that ends
    for want of configurations says so with ``StopReason.CONVERGED``. `CMAES` has it (its
    tolerances); `InitialPoints` asks the searcher after its points. A searcher without this
    method never converges (see `has_converged`).
    """

    def converged(self) -> bool:
        """Whether the search has converged (and so suggests nothing more)."""
        ...


def has_converged(searcher: object) -> bool:
    """Whether ``searcher`` has converged: its `Converging.converged`, or False for a
    searcher without the hook."""
    return isinstance(searcher, Converging) and searcher.converged()


def runs_out(searcher: Searcher, space: Space) -> bool:
    """Whether ``searcher`` runs out of configurations on ``space``.

    True for a space of dimension 0 (it has a single config, whatever the searcher), and
    for a searcher whose `Finite.exhausts` says so; False for every other searcher.
    """
    if space.dimension == 0:
        return True
    return isinstance(searcher, Finite) and searcher.exhausts(space)


class _BlockSearcher(ABC):
    """A searcher that hands out, one at a time, configs decoded in blocks.

    Subclasses draw a block in `_next_block`; this class serves it and restarts on `setup`.
    A space with only constants gets its single config once, then None.
    """

    def __init__(self) -> None:
        self._space: Space | None = None
        self._block: list[Config] = []
        self._next = 0
        self._finished = False

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        """Start over on ``space``; see `Searcher.setup`."""
        self._space = space
        self._block = []
        self._next = 0
        self._finished = False
        if space.dimension > 0:
            self._start(space, seed=seed, max_trials=max_trials)

    def suggest(self) -> Config | None:
        """Return the next config of the current block, drawing a block when it runs out."""
        if self._space is None:
            raise RuntimeError(f"{self!r}: call setup() before suggest()")
        if self._finished:
            return None
        if self._space.dimension == 0:
            # Every draw would give the same config: suggest it once.
            self._finished = True
            return self._space.decode_many([[]])[0]
        if self._next == len(self._block):
            self._block = self._next_block(self._space)
            self._next = 0
            if not self._block:
                self._finished = True
                return None
        config = self._block[self._next]
        self._next += 1
        return config

    def observe(self, trial: Trial) -> None:
        """Ignore the result: these searchers do not learn from results."""
        return None

    def aim(self, objectives: Objectives) -> None:
        """Take any objectives (`Aimed`): these searchers do not judge results."""
        return None

    @abstractmethod
    def _start(self, space: Space, *, seed: int, max_trials: int | None) -> None:
        """Reset the generator for a run over ``space`` (dimension at least 1)."""

    @abstractmethod
    def _next_block(self, space: Space) -> list[Config]:
        """Draw the next block of configs; an empty block ends the sequence."""
