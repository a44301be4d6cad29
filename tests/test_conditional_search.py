"""Searching a conditional space: grids of distinct active combinations, random and
quasi-random draws, given points and CMA-ES's refusal; and spaces without conditions give
the very configs they gave before conditions existed."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from paratune.errors import SpaceError
from paratune.searchers import CMAES, Grid, InitialPoints, LatinHypercube, Random, Sobol
from paratune.space import Choice, Float, Int, Space
from paratune.trial import Config


def per_layer(top: int = 5, widths: tuple[int, ...] = (32, 64, 128)) -> Space:
    return Space(
        {
            "layers": Int(1, top),
            **{
                f"units_{k}": Choice(list(widths), when={"layers": {">=": k}})
                for k in range(1, top + 1)
            },
        }
    )


def optimizers() -> Space:
    return Space(
        {
            "optimizer": Choice(
                ["sgd", "adam", "lbfgs"],
                branches={
                    "sgd": {"momentum": [0.0, 0.9], "nesterov": [True, False]},
                    "adam": {"beta2": [0.99, 0.999, 0.9999]},
                },
            ),
            "batch": [32, 64],
            "epochs": 3,
        }
    )


def unconditional(space: Space) -> Space:
    """``space`` with every condition taken off (same coordinates, same order)."""
    return Space(
        {
            name: {k: v for k, v in value.items() if k != "when"}
            if isinstance(value, dict)
            else value
            for name, value in space.to_dict().items()
        }
    )


def distinct_in_order(configs: list[Config]) -> list[Config]:
    found: list[Config] = []
    for config in configs:
        if config not in found:
            found.append(config)
    return found


def nested() -> Space:
    return Space(
        {
            "model": Choice(
                ["linear", "net"],
                branches={
                    "net": {
                        "depth": Int(1, 3),
                        "act": Choice(["relu", "tanh"], branches={"tanh": {"scale": [1, 2]}}),
                    }
                },
            ),
            "wide": Choice([16, 32], when={"depth": {">": 1}}),
        }
    )


# ----------------------------------------------------------------------------- grids


@pytest.mark.parametrize(
    ("space", "size"),
    [
        (per_layer(), 3 + 9 + 27 + 81 + 243),
        (optimizers(), (2 * 2 + 3 + 1) * 2),
        # linear: 1; net: depth 1 with 3 acts (tanh has 2 scales), depths 2-3 with 3 * 2 wide
        (nested(), 1 + 3 + 2 * 3 * 2),
    ],
    ids=["per_layer", "optimizers", "nested"],
)
def test_a_conditional_grid_holds_each_active_combination_once(space: Space, size: int) -> None:
    grid = space.grid()
    configs = list(grid)
    assert grid.size == len(grid) == len(configs) == size
    assert configs == [grid[i] for i in range(size)]
    assert grid[-1] == configs[-1] and grid[1:3] == configs[1:3]
    keys = {tuple(sorted(config.items(), key=lambda item: item[0])) for config in configs}
    assert len(keys) == size  # no duplicates
    for config in configs:
        assert space.validate(config) == config
    # The order is the plain grid's, each combination where it first appears.
    full = [space.active(config) for config in unconditional(space).grid()]
    assert configs == distinct_in_order(full)


def test_grid_configs_hold_only_active_parameters_and_the_constants() -> None:
    grid = optimizers().grid()
    assert grid[0] == {"optimizer": "sgd", "momentum": 0.0, "nesterov": True, "batch": 32,
                       "epochs": 3}  # fmt: skip
    assert {"optimizer": "lbfgs", "batch": 64, "epochs": 3} in list(grid)
    assert grid[-1] == {"optimizer": "lbfgs", "batch": 64, "epochs": 3}


def test_a_conditional_grid_over_huge_ranges_is_counted_without_listing_it() -> None:
    top = 2**40
    space = Space(
        {
            "n": Int(0, top),
            "k": Choice(["a", "b"], when={"n": {">=": 2**39}}),
            "m": Int(0, top, when={"n": 7}),
        }
    )
    grid = space.grid()
    below = 2**39  # n in [0, 2**39): k inactive; n == 7 brings m
    assert grid.size == (below - 1) + (top + 1) + (top - below + 1) * 2
    assert grid[0] == {"n": 0}
    assert grid[7] == {"n": 7, "m": 0}
    assert grid[7 + top] == {"n": 7, "m": top}
    assert grid[7 + top + 1] == {"n": 8}
    assert grid[-1] == {"n": top, "k": "b"}
    assert grid[-2] == {"n": top, "k": "a"}
    assert list(itertools.islice(grid, 3)) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_conditional_grid_refuses_float_ranges() -> None:
    space = Space({"kind": ["a", "b"], "x": Float(0, 1, when={"kind": "a"})})
    with pytest.raises(SpaceError, match="parameter 'x' is a Float range"):
        space.grid()


@pytest.mark.parametrize("order", ["given", "shuffled"])
def test_the_grid_searcher_suggests_each_combination_once(order: Any) -> None:
    space = per_layer(3)
    runs = []
    for _ in range(2):
        searcher = Grid(order=order)
        searcher.setup(space, seed=11, workers=2, max_trials=None)
        runs.append(list(iter(searcher.suggest, None)))
    assert runs[0] == runs[1]  # reproducible
    expected = list(space.grid())
    assert len(runs[0]) == len(expected) == 3 + 9 + 27
    if order == "given":
        assert runs[0] == expected
    else:
        assert runs[0] != expected
        assert sorted(map(repr, runs[0])) == sorted(map(repr, expected))


# ----------------------------------------------------------------------------- draws


@pytest.mark.parametrize("make", [Random, Sobol, LatinHypercube])
def test_random_and_quasi_random_searchers_draw_then_drop(make: Any) -> None:
    space = Space(
        {
            "optimizer": Choice(
                ["sgd", "adam"],
                branches={"sgd": {"momentum": Float(0, 0.99)}, "adam": {"beta2": Float(0.9, 1)}},
            ),
            "lr": Float(1e-4, 1e-1, log=True),
        }
    )
    plain = unconditional(space)

    def suggestions(on: Space) -> list[Config]:
        searcher = make()
        searcher.setup(on, seed=4, workers=2, max_trials=16)
        return [searcher.suggest() for _ in range(16)]

    drawn = suggestions(space)
    assert drawn == suggestions(space)  # the same seed gives the same configs
    assert drawn == [space.active(config) for config in suggestions(plain)]
    assert {config["optimizer"] for config in drawn} == {"sgd", "adam"}
    for config in drawn:
        assert space.validate(config) == config


def test_given_points_are_checked_against_the_conditions() -> None:
    space = optimizers()
    good = [{"optimizer": "adam", "beta2": 0.99, "batch": 32}, {"optimizer": "lbfgs", "batch": 64}]
    searcher = InitialPoints(good, then=Random())
    searcher.setup(space, seed=0, workers=1, max_trials=None)
    assert searcher.suggest() == {**good[0], "epochs": 3}
    assert searcher.suggest() == {**good[1], "epochs": 3}
    bad = InitialPoints([good[0], {**good[1], "momentum": 0.9}], then=Random())
    with pytest.raises(
        SpaceError,
        match=r"^initial point 1: parameter 'momentum' is inactive here: "
        r"it needs optimizer == 'sgd', got 'lbfgs'$",
    ):
        bad.setup(space, seed=0, workers=1, max_trials=None)
    lacking = InitialPoints([{"optimizer": "sgd", "momentum": 0.9, "batch": 32}], then=Random())
    with pytest.raises(
        SpaceError,
        match=r"^initial point 0: parameter 'nesterov' is missing: it is active here "
        r"\(optimizer == 'sgd'\)$",
    ):
        lacking.setup(space, seed=0, workers=1, max_trials=None)


def test_cmaes_refuses_a_conditional_space_at_setup() -> None:
    space = Space(
        {
            "optimizer": Choice(["sgd", "adam"], branches={"sgd": {"momentum": Float(0, 0.99)}}),
            "lr": Float(1e-4, 1e-1, log=True),
        }
    )
    with pytest.raises(
        SpaceError,
        match=r"^CMAES cannot search a conditional space: 'momentum' is active only when "
        r"optimizer == 'sgd'; use 'tpe', 'gp' or 'random'$",
    ):
        CMAES().setup(space, seed=0, workers=1, max_trials=None)
    ranges = Space({"x": Float(0, 1), "y": Float(0, 1, when={"x": {">": 0.5}})})
    with pytest.raises(SpaceError, match=r"'y' is active only when x > 0\.5"):
        CMAES().setup(ranges, seed=0, workers=1, max_trials=None)


# ------------------------------------------------------- spaces without conditions, unchanged

# Computed with paratune before spaces had conditions: the same seeds must give them still.
BEFORE = Space(
    {
        "lr": Float(1e-4, 1e-1, log=True),
        "epochs": 10,
        "units": Int(8, 512, log=True),
        "layers": Int(1, 4),
        "act": ["relu", "tanh", None],
    }
)
SAMPLED = [
    {"lr": 0.007503888976201422, "epochs": 10, "units": 334, "layers": 4, "act": "relu"},
    {"lr": 0.0007952411684214871, "epochs": 10, "units": 303, "layers": 1, "act": None},
    {"lr": 0.02461547871651077, "epochs": 10, "units": 56, "layers": 2, "act": "relu"},
]
SUGGESTED = {
    Random: [
        {"lr": 0.00018069556836275685, "epochs": 10, "units": 21, "layers": 4, "act": "tanh"},
        {"lr": 0.00019159577446012634, "epochs": 10, "units": 48, "layers": 2, "act": "relu"},
    ],
    Sobol: [
        {"lr": 0.00021858282715523083, "epochs": 10, "units": 384, "layers": 3, "act": "tanh"},
        {"lr": 0.09734651165403295, "epochs": 10, "units": 10, "layers": 1, "act": "tanh"},
    ],
    LatinHypercube: [
        {"lr": 0.006981886155331823, "epochs": 10, "units": 43, "layers": 4, "act": "relu"},
        {"lr": 0.00037194478498523613, "epochs": 10, "units": 121, "layers": 2, "act": "tanh"},
    ],
}
SHUFFLED_GRID = [(3, "y"), (1, "x"), (2, "x"), (2, "y"), (1, "y"), (3, "x")]


def test_an_unconditional_space_samples_as_before() -> None:
    assert BEFORE.conditional == ()
    assert BEFORE.sample_many(np.random.default_rng(7), 3) == SAMPLED


@pytest.mark.parametrize("make", list(SUGGESTED), ids=lambda make: make.__name__)
def test_an_unconditional_space_is_searched_as_before(make: Any) -> None:
    searcher = make()
    searcher.setup(BEFORE, seed=3, workers=2, max_trials=4)
    assert [searcher.suggest() for _ in range(2)] == SUGGESTED[make]


def test_an_unconditional_grid_is_shuffled_as_before() -> None:
    searcher = Grid("shuffled")
    searcher.setup(Space({"a": Int(1, 3), "b": ["x", "y"], "k": 0}), seed=5, workers=1,
                   max_trials=None)  # fmt: skip
    expected = [{"a": a, "b": b, "k": 0} for a, b in SHUFFLED_GRID]
    assert [searcher.suggest() for _ in range(6)] == expected
    assert searcher.suggest() is None
