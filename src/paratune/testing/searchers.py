"""`SearcherContract`: the behaviour every searcher owes the tuner, as pytest tests."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ..searchers import Searcher
from ..space import Choice, Float, Int, Space
from ..trial import Config, Status, Trial


class SearcherContract(ABC):
    """Tests every searcher must pass. Subclass it in a test module, in a class whose name
    starts with ``Test``, and implement `make_searcher`.

    Class attributes tune the checks:

    Attributes:
        seeded: whether the sequence depends on the seed. True: two seeds must give
            different sequences. False: every seed must give the same sequence.
        draws: how many suggestions each check asks for (fewer when the searcher runs out).
    """

    seeded: ClassVar[bool] = True
    draws: ClassVar[int] = 40

    @abstractmethod
    def make_searcher(self) -> Searcher:
        """Return a new searcher to test."""

    def make_space(self) -> Space:
        """Return the space to search; override for a searcher that needs a particular one.

        The default mixes every kind of domain and a constant.
        """
        return Space(
            {
                "lr": Float(1e-4, 1e-1, log=True),
                "dropout": Float(0.0, 0.5),
                "units": Int(8, 512, log=True),
                "layers": Int(1, 4),
                "activation": Choice(["relu", "tanh", "gelu"]),
                "epochs": 10,
            }
        )

    def suggestions(
        self, searcher: Searcher, space: Space, *, seed: int, draws: int | None = None
    ) -> list[Config]:
        """Set ``searcher`` up on ``space`` and return its suggestions, stopping at None."""
        count = self.draws if draws is None else draws
        searcher.setup(space, seed=seed, workers=4, max_trials=count)
        configs = []
        for _ in range(count):
            config = searcher.suggest()
            if config is None:
                break
            configs.append(config)
        return configs

    def test_suggests_valid_configs(self) -> None:
        space = self.make_space()
        configs = self.suggestions(self.make_searcher(), space, seed=0)
        assert configs, "suggest() returned None straight after setup()"
        for config in configs:
            assert isinstance(config, dict)
            assert space.validate(config) == config

    def test_same_seed_gives_same_sequence(self) -> None:
        space = self.make_space()
        first = self.suggestions(self.make_searcher(), space, seed=7)
        second = self.suggestions(self.make_searcher(), space, seed=7)
        assert first == second

    def test_seed_changes_sequence_when_seeded(self) -> None:
        space = self.make_space()
        first = self.suggestions(self.make_searcher(), space, seed=1)
        second = self.suggestions(self.make_searcher(), space, seed=2)
        if self.seeded:
            assert first != second, "two seeds gave the same sequence; set seeded = False?"
        else:
            assert first == second, "the sequence depends on the seed; set seeded = True?"

    def test_observe_accepts_finished_trials(self) -> None:
        space = self.make_space()
        searcher = self.make_searcher()
        configs = self.suggestions(searcher, space, seed=3, draws=self.draws // 2)
        for trial_id, config in enumerate(configs):
            if trial_id % 3 == 2:
                trial = Trial(trial_id, config, trial_id, Status.FAILED, error="ValueError: x")
            else:
                trial = Trial(trial_id, config, trial_id, Status.DONE, value=float(trial_id))
            searcher.observe(trial)
        after = searcher.suggest()
        assert after is None or space.validate(after) == after

    def test_setup_again_restarts_sequence(self) -> None:
        space = self.make_space()
        searcher = self.make_searcher()
        first = self.suggestions(searcher, space, seed=5)
        for trial_id, config in enumerate(first[:5]):
            searcher.observe(Trial(trial_id, config, 0, Status.DONE, value=1.0))
        again = self.suggestions(searcher, space, seed=5)
        assert again == first
