"""`Suggestions`: numbered configurations for `Scheduler.next_job`."""

from __future__ import annotations

from collections.abc import Callable

from .._checks import is_whole
from ..trial import Config


class Suggestions:
    """A `Suggest` over a plain function: each configuration it returns takes the next trial
    id, counting from ``first_id``. For driving a scheduler without the tuner (tests, a
    scheduler's author trying it out).

    Args:
        configs: returns the next configuration, or None when there is none (now).
        first_id: the id of the first configuration's trial.

    >>> suggest = Suggestions(lambda: {"x": 1}, first_id=3)
    >>> suggest.trial_id, suggest(), suggest.trial_id
    (3, {'x': 1}, 4)
    """

    def __init__(self, configs: Callable[[], Config | None], first_id: int = 0) -> None:
        if not is_whole(first_id, 0):
            raise ValueError(f"first_id must be an integer >= 0, got {first_id!r}")
        self._configs = configs
        self._next = first_id

    @property
    def trial_id(self) -> int:
        """The id the trial of the next configuration returned will have."""
        return self._next

    def __call__(self) -> Config | None:
        """The next configuration, or None; only a configuration takes an id."""
        config = self._configs()
        if config is not None:
            self._next += 1
        return config

    def __repr__(self) -> str:
        return f"Suggestions({self._configs!r}, next trial_id={self._next})"
