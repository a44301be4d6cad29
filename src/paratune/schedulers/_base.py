"""The scheduler protocol (what runs next, and at which budget) and its optional hook."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..trial import Config, Proposal, Trial


class Suggest(Protocol):
    """What `Scheduler.next_job` calls for a new configuration."""

    @property
    def trial_id(self) -> int:
        """The id the trial of the next configuration returned will have."""
        ...

    def __call__(self) -> Config | None:
        """The next configuration to try, or None: nothing more to try, or nothing until
        more results arrive."""
        ...


class Scheduler(Protocol):
    """Decides what a free worker runs next. Sans-IO: it never sleeps, reads a clock, or
    touches the store or the executor; it is handed a way to get new configurations."""

    def next_job(self, suggest: Suggest) -> Proposal | None:
        """What to run next: a new configuration (asked of ``suggest``; the new trial's id
        is ``suggest.trial_id`` as read before the call), a trial to continue, or None when
        there is nothing to run now. A configuration ``suggest`` returns is proposed at
        once: it is never kept for later."""
        ...

    def on_result(self, trial: Trial) -> None:
        """Learn where ``trial`` stands: a job of it ended (its status says how, its
        ``budget`` how far it got, its ``value`` the result there), or, when a stored
        experiment is resumed, it was running at ``trial.budget`` and runs again there
        (status RUNNING)."""
        ...

    def on_report(self, trial_id: int, step: int, loss: float) -> bool:
        """Learn that a running trial reported ``loss`` (the tuned metric, negated for
        mode="max": lower is better) after ``step`` steps; return False to stop it there."""
        ...


@runtime_checkable
class RandomOrder(Protocol):
    """A scheduler that wants new configurations in random order: an optional hook.

    Successive halving, ASHA and Hyperband judge each new trial against the ones before it,
    and their analysis assumes the candidates come in random order; from a grid in its own
    order (one parameter varying slowest), later trials may beat earlier ones at every
    rung and be promoted far more often. When the scheduler prefers a random order, `tune`
    has a grid (or a long list of points to evaluate) shuffled with the experiment seed,
    unless the searcher was given an order (``Grid(order="given")``). A scheduler without
    this method takes configurations in whatever order they come (`FIFO`).
    """

    def prefers_random_order(self) -> bool:
        """Whether new configurations should come in random order."""
        ...


def prefers_random_order(scheduler: object) -> bool:
    """Whether ``scheduler`` prefers new configurations in random order (`RandomOrder`);
    False for a scheduler without the hook."""
    return isinstance(scheduler, RandomOrder) and scheduler.prefers_random_order()
