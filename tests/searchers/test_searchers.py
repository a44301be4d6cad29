"""The built-in searchers: the shared contract, then what each one promises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

from paratune.errors import SpaceError, SpecError
from paratune.searchers import (
    CMAES,
    GP,
    Finite,
    Grid,
    InitialPoints,
    LatinHypercube,
    Random,
    Searcher,
    Sobol,
    make_searcher,
    runs_out,
)
from paratune.space import Choice, Float, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config, Status, Trial

# ----------------------------------------------------------------------------- the contract


class TestGrid(SearcherContract):
    seeded = False

    def make_searcher(self) -> Searcher:
        return Grid()

    def make_space(self) -> Space:
        return Space({"units": Int(8, 64, log=True), "act": ["relu", "tanh"], "epochs": 10})


class TestRandom(SearcherContract):
    def make_searcher(self) -> Searcher:
        return Random()


class TestSobol(SearcherContract):
    def make_searcher(self) -> Searcher:
        return Sobol()


class TestSobolUnscrambled(SearcherContract):
    seeded = False

    def make_searcher(self) -> Searcher:
        return Sobol(scramble=False)


class TestLatinHypercube(SearcherContract):
    def make_searcher(self) -> Searcher:
        return LatinHypercube()


class TestInitialPoints(SearcherContract):
    def make_searcher(self) -> Searcher:
        point = {"lr": 0.01, "dropout": 0.1, "units": 64, "layers": 2, "activation": "relu"}
        return InitialPoints([point], then=Random())


class TestInitialPointsBeforeAGrid(SearcherContract):
    seeded = False

    def make_searcher(self) -> Searcher:
        return InitialPoints([{"n": 3, "c": "b"}], then=Grid())

    def make_space(self) -> Space:
        return Space({"n": Int(1, 3), "c": ["a", "b"]})


# ----------------------------------------------------------------------------- helpers


SPACE = Space({"lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 8), "opt": ["adam", "sgd"], "k": 0})


def run(
    searcher: Searcher, space: Space, n: int, *, seed: int = 0, max_trials: int | None = None
) -> list[Config | None]:
    searcher.setup(space, seed=seed, workers=2, max_trials=max_trials)
    return [searcher.suggest() for _ in range(n)]


class Recorder:
    """A searcher that records its calls."""

    def __init__(self) -> None:
        self.setups: list[dict[str, Any]] = []
        self.observed: list[Trial] = []

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        self.setups.append({"seed": seed, "workers": workers, "max_trials": max_trials})

    def suggest(self) -> Config | None:
        return {"from": "recorder"}

    def observe(self, trial: Trial) -> None:
        self.observed.append(trial)


ALL: list[Callable[[], Searcher]] = [
    Grid,
    Random,
    Sobol,
    lambda: Sobol(scramble=False),
    LatinHypercube,
    lambda: InitialPoints([], then=Random()),
]


# ----------------------------------------------------------------------------- all searchers


@pytest.mark.parametrize("make", ALL)
def test_constants_only_space_gives_one_config(make: Callable[[], Searcher]) -> None:
    space = Space({"a": 1, "b": "x"})
    searcher = make()
    assert run(searcher, space, 3) == [{"a": 1, "b": "x"}, None, None]
    assert run(searcher, space, 2, seed=1, max_trials=5) == [{"a": 1, "b": "x"}, None]


@pytest.mark.parametrize("make", [Grid, Random, Sobol, LatinHypercube])
def test_suggest_before_setup_is_an_error(make: Callable[[], Searcher]) -> None:
    with pytest.raises(RuntimeError, match=r"call setup\(\) before suggest\(\)"):
        make().suggest()


@pytest.mark.parametrize("make", [Random, Sobol])  # a Latin hypercube is sized by max_trials
def test_sequence_does_not_depend_on_max_trials_or_workers(make: Callable[[], Searcher]) -> None:
    first = run(make(), SPACE, 300, seed=4, max_trials=None)
    searcher = make()
    searcher.setup(SPACE, seed=4, workers=16, max_trials=10)
    assert [searcher.suggest() for _ in range(300)] == first


# ----------------------------------------------------------------------------- grid


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"a": [1, 2]}, [{"a": 1}, {"a": 2}]),
        (
            {"a": Int(1, 2), "k": "K", "b": ["x", "y"]},
            [
                {"a": 1, "k": "K", "b": "x"},
                {"a": 1, "k": "K", "b": "y"},
                {"a": 2, "k": "K", "b": "x"},
                {"a": 2, "k": "K", "b": "y"},
            ],
        ),
        (
            {"b": Choice([True, False]), "a": Int(0, 2)},
            [
                {"b": True, "a": 0},
                {"b": True, "a": 1},
                {"b": True, "a": 2},
                {"b": False, "a": 0},
                {"b": False, "a": 1},
                {"b": False, "a": 2},
            ],
        ),
    ],
)
def test_grid_order(params: dict[str, Any], expected: list[Config]) -> None:
    assert run(Grid(), Space(params), len(expected) + 2) == [*expected, None, None]


@pytest.mark.parametrize(
    ("params", "length"),
    [
        ({"a": Int(1, 10)}, 10),
        ({"a": Int(1, 10), "b": ["x", "y", "z"]}, 30),
        ({"a": Int(-2, 2), "b": Int(1, 4, log=True), "c": [None, 1], "k": 5}, 40),
        ({"k": 5}, 1),
    ],
)
def test_grid_length(params: dict[str, Any], length: int) -> None:
    configs = run(Grid(), Space(params), length + 1)
    assert configs[-1] is None
    assert None not in configs[:-1]
    assert len({repr(config) for config in configs[:-1]}) == length


def test_grid_refuses_float_ranges_at_setup() -> None:
    with pytest.raises(SpaceError, match=r"parameter 'lr' is a Float range; a grid needs"):
        Grid().setup(SPACE, seed=0, workers=1, max_trials=None)


def test_grid_starts_lazily_on_huge_spaces() -> None:
    space = Space({"a": Int(0, 2**40), "b": Int(0, 2**40)})
    assert run(Grid(), space, 2) == [{"a": 0, "b": 0}, {"a": 0, "b": 1}]


# ----------------------------------------------------------------------------- random


def test_random_is_space_sample_many_in_blocks_of_256() -> None:
    rng = np.random.default_rng(11)
    expected = [config for _ in range(3) for config in SPACE.sample_many(rng, 256)]
    assert run(Random(), SPACE, 700, seed=11) == expected[:700]


# ----------------------------------------------------------------------------- quasi-random


def one_float() -> Space:
    return Space({"x": Float(0, 1), "k": "K"})


def strata(configs: list[Config | None], n: int) -> list[int]:
    return sorted(int(config["x"] * n) for config in configs if config is not None)


@pytest.mark.parametrize("n", [64, 128, 256, 512])
def test_sobol_draws_balanced_blocks(n: int) -> None:
    # Each power-of-two prefix of a Sobol' sequence has one point in every stratum.
    configs = run(Sobol(), one_float(), 512, seed=3)
    assert strata(configs[:n], n) == list(range(n))


def test_sobol_never_warns_over_a_long_run() -> None:
    # pytest turns warnings into errors, so scipy's balance warning would fail this test.
    configs = run(Sobol(), SPACE, 20_000, seed=0)
    assert None not in configs
    assert len({config["lr"] for config in configs if config is not None}) == 20_000


def test_unscrambled_sobol_starts_at_the_corner() -> None:
    first = run(Sobol(scramble=False), Space({"x": Float(2, 3), "n": Int(1, 4)}), 2)
    assert first == [{"x": 2.0, "n": 1}, {"x": 2.5, "n": 3}]


@pytest.mark.parametrize("max_trials", [1, 7, 50, 300])
def test_lhs_design_is_sized_by_max_trials(max_trials: int) -> None:
    configs = run(LatinHypercube(), one_float(), max_trials, seed=2, max_trials=max_trials)
    assert strata(configs, max_trials) == list(range(max_trials))


def test_lhs_without_max_trials_uses_designs_of_128() -> None:
    configs = run(LatinHypercube(), one_float(), 256, seed=2)
    assert strata(configs[:128], 128) == list(range(128))
    assert strata(configs[128:], 128) == list(range(128))


def test_lhs_goes_on_after_its_design() -> None:
    configs = run(LatinHypercube(), one_float(), 20, seed=2, max_trials=10)
    assert None not in configs
    assert strata(configs[10:], 128) != list(range(10))


# ----------------------------------------------------------------------------- initial points


def test_initial_points_come_first_then_the_next_searcher() -> None:
    points = [{"lr": 0.01, "n": 3, "opt": "sgd"}, {"lr": 1e-4, "n": 8.0, "opt": "adam", "k": 0}]
    searcher = InitialPoints(points, then=Random())
    configs = run(searcher, SPACE, 5, seed=1)
    assert configs[:2] == [
        {"lr": 0.01, "n": 3, "opt": "sgd", "k": 0},
        {"lr": 1e-4, "n": 8, "opt": "adam", "k": 0},
    ]
    assert configs[2:] == run(Random(), SPACE, 3, seed=1)


def test_initial_points_are_copied() -> None:
    point = {"lr": 0.01, "n": 3, "opt": "sgd"}
    searcher = InitialPoints([point], then=Random())
    point["n"] = 100
    first = run(searcher, SPACE, 1)[0]
    assert first is not None and first["n"] == 3
    first["n"] = 200
    assert run(searcher, SPACE, 1)[0] == {"lr": 0.01, "n": 3, "opt": "sgd", "k": 0}


def test_initial_points_forward_setup_and_observe() -> None:
    then = Recorder()
    searcher = InitialPoints([{"n": 1, "lr": 0.1, "opt": "adam"}], then=then)
    assert searcher.then is then
    searcher.setup(SPACE, seed=9, workers=3, max_trials=10)
    searcher.setup(SPACE, seed=9, workers=3, max_trials=None)
    assert then.setups == [
        {"seed": 9, "workers": 3, "max_trials": 9},
        {"seed": 9, "workers": 3, "max_trials": None},
    ]
    assert searcher.suggest() == {"lr": 0.1, "n": 1, "opt": "adam", "k": 0}
    assert searcher.suggest() == {"from": "recorder"}
    trials = [
        Trial(0, {"n": 1}, 0, Status.DONE, value=1.0),
        Trial(1, {"n": 2}, 0, Status.FAILED, error="boom"),
        Trial(2, {"n": 3}, 0, Status.CANCELLED),
    ]
    for trial in trials:
        searcher.observe(trial)
    assert then.observed == trials


def test_initial_points_never_ask_for_negative_trials() -> None:
    then = Recorder()
    points = [{"n": n, "lr": 0.1, "opt": "adam"} for n in range(1, 5)]
    InitialPoints(points, then=then).setup(SPACE, seed=0, workers=1, max_trials=2)
    assert then.setups[0]["max_trials"] == 0


@pytest.mark.parametrize(
    ("points", "match"),
    [
        ([{"lr": 0.1, "opt": "adam"}], r"^initial point 0: parameter 'n' is missing$"),
        (
            [{"lr": 0.1, "n": 1, "opt": "adam"}, {"lr": 0.1, "n": 9, "opt": "adam"}],
            r"^initial point 1: parameter 'n': expected an integer in \[1, 8\], got 9$",
        ),
        (
            [{"lr": 0.1, "n": 1, "opt": "rmsprop"}],
            r"^initial point 0: parameter 'opt': expected one of \['adam', 'sgd'\]",
        ),
        ([{"lr": 0.1, "n": 1, "opt": "adam", "x": 1}], r"^initial point 0: unknown parameter 'x'"),
        (
            [{"lr": 0.1, "n": 1, "opt": "adam", "k": 1}],
            r"^initial point 0: parameter 'k' is the constant 0, got 1$",
        ),
    ],
)
def test_bad_initial_points_fail_at_setup(points: list[dict[str, Any]], match: str) -> None:
    then = Recorder()
    searcher = InitialPoints(points, then=then)
    with pytest.raises(SpaceError, match=match):
        searcher.setup(SPACE, seed=0, workers=1, max_trials=None)
    assert then.setups == []


@pytest.mark.parametrize(
    ("points", "then", "match"),
    [
        ({"lr": 0.1}, Random(), r"points must be a list of configs \(dicts\), got \{'lr'"),
        ("abc", Random(), r"points must be a list of configs \(dicts\), got 'abc'"),
        (None, Random(), r"points must be a list of configs \(dicts\), got None"),
        ([{"lr": 0.1}, 3], Random(), r"initial point 1 must be a dict, got 3"),
        ([], Random, r"then must be a searcher instance, got <class"),
        ([], "random", r"then must be a searcher instance, got 'random'"),
    ],
)
def test_bad_initial_points_arguments(points: Any, then: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        InitialPoints(points, then=then)


# ----------------------------------------------------------------------------- make_searcher


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("grid", Grid),
        ("random", Random),
        ("sobol", Sobol),
        ("lhs", LatinHypercube),
        ("Random", Random),
        ("LHS", LatinHypercube),
    ],
)
def test_make_searcher_by_name(name: str, kind: type) -> None:
    first, second = make_searcher(name), make_searcher(name)
    assert type(first) is kind
    assert first is not second


@pytest.mark.parametrize("searcher", [Random(), Sobol(scramble=False), Recorder()])
def test_make_searcher_passes_searchers_through(searcher: Searcher) -> None:
    assert make_searcher(searcher) is searcher


@pytest.mark.parametrize(
    ("searcher", "match"),
    [
        ("bayes", r"unknown searcher 'bayes'; expected one of 'grid', 'random', 'sobol', 'lhs'"),
        ("", r"unknown searcher ''; expected one of 'grid', 'random', 'sobol', 'lhs'"),
        (Random, r"searcher must be an instance, got the class Random; write Random\(\)"),
        (3, r"searcher must be one of 'grid', 'random', 'sobol', 'lhs', .* an object with setup"),
        (None, r"or an object with setup, suggest and observe methods, got None"),
    ],
)
def test_make_searcher_refuses(searcher: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        make_searcher(searcher)


def test_reprs() -> None:
    assert repr(Grid()) == "Grid()"
    assert repr(Random()) == "Random()"
    assert repr(Sobol()) == "Sobol(scramble=True)"
    assert repr(LatinHypercube()) == "LatinHypercube()"
    assert repr(InitialPoints([{}], then=Grid())) == "InitialPoints(1 points, then=Grid())"


class TestContractCatchesBrokenSearchers:
    """The contract fails searchers that break it."""

    class Unseeded(Random):
        def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
            super().setup(space, seed=0, workers=workers, max_trials=max_trials)

    class Invalid(Recorder):
        pass

    seeded: ClassVar[bool] = True

    def test_unseeded_searcher_fails(self) -> None:
        contract = TestRandom()
        contract.make_searcher = self.Unseeded  # type: ignore[method-assign]
        with pytest.raises(AssertionError, match="two seeds gave the same sequence"):
            contract.test_seed_changes_sequence_when_seeded()

    def test_invalid_configs_fail(self) -> None:
        contract = TestRandom()
        contract.make_searcher = self.Invalid  # type: ignore[method-assign]
        with pytest.raises(SpaceError, match="unknown parameter 'from'"):
            contract.test_suggests_valid_configs()


# ----------------------------------------------------------------------------- runs_out

DISCRETE = Space({"a": Int(0, 3), "b": ["x", "y"], "k": 1})
CONSTANTS = Space({"k": 1, "name": "only"})


class _Declares:
    """A searcher of a user's own that declares whether it runs out."""

    def __init__(self, finite: bool) -> None:
        self.finite = finite

    def setup(self, space: Space, *, seed: int, workers: int, max_trials: int | None) -> None:
        pass

    def suggest(self) -> Config | None:
        return None

    def observe(self, trial: Trial) -> None:
        pass

    def exhausts(self, space: Space) -> bool:
        return self.finite

    def __repr__(self) -> str:
        return f"_Declares(finite={self.finite})"


@pytest.mark.parametrize(
    ("searcher", "expected"),
    [
        (Grid(), True),
        (InitialPoints([{"a": 0, "b": "x"}], then=Grid()), True),
        (InitialPoints([], then=InitialPoints([], then=Grid())), True),
        (_Declares(finite=True), True),
        (_Declares(finite=False), False),
        (Random(), False),
        (Sobol(), False),
        (LatinHypercube(), False),
        (GP(), False),
        (CMAES(), False),
        (InitialPoints([{"a": 0, "b": "x"}], then=Random()), False),
    ],
    ids=repr,
)
def test_runs_out_asks_the_searchers_hook(searcher: Searcher, expected: bool) -> None:
    assert runs_out(searcher, DISCRETE) is expected


@pytest.mark.parametrize(
    "searcher",
    [Random(), GP(), CMAES(), _Declares(finite=False), InitialPoints([], then=Random())],
    ids=repr,
)
def test_every_searcher_runs_out_on_a_space_of_constants(searcher: Searcher) -> None:
    assert runs_out(searcher, CONSTANTS)


@pytest.mark.parametrize(
    ("searcher", "declares"),
    [(Grid(), True), (InitialPoints([], then=Random()), True), (Random(), False)],
    ids=repr,
)
def test_finite_is_the_declared_hook(searcher: Searcher, declares: bool) -> None:
    assert isinstance(searcher, Finite) is declares


def test_a_grid_that_runs_out_really_ends() -> None:
    searcher = InitialPoints([{"a": 3, "b": "y"}], then=Grid())
    assert runs_out(searcher, DISCRETE)
    searcher.setup(DISCRETE, seed=0, workers=1, max_trials=None)
    configs = list(iter(searcher.suggest, None))
    assert len(configs) == 1 + DISCRETE.grid().size
