"""Search spaces: domains, sampling, the unit cube, grids, validation and serialisation."""

from __future__ import annotations

import ast
import json
import math
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paratune import grid as grid_module
from paratune.errors import SpaceError, SpecError
from paratune.grid import ParameterGrid, Parameters
from paratune.space import Choice, Domain, Float, Int, Space

# Untyped aliases, to feed the domains input that their annotations rule out.
AnyFloat: Any = Float
AnyInt: Any = Int
AnyChoice: Any = Choice


def mixed_space() -> Space:
    return Space(
        {
            "lr": Float(1e-4, 1e-1, log=True),
            "epochs": 10,
            "dropout": Float(0.0, 0.5),
            "units": Int(8, 512, log=True),
            "layers": Int(1, 4),
            "activation": ["relu", "tanh", None],
            "shape": Choice([(1, 2), [3], {"k": 1}]),
        }
    )


# ----------------------------------------------------------------------------- domains


def test_domains_normalise_their_bounds() -> None:
    assert Float(0, 1) == Float(0.0, 1.0)
    assert type(Float(0, 1).low) is float
    assert AnyInt(np.int64(1), 5.0) == Int(1, 5)
    assert type(AnyInt(np.int64(1), 5.0).low) is int
    assert AnyFloat(1, 2, log=np.True_).log is True
    assert Choice([1, 2]).values == (1, 2)
    assert Choice(range(3)).values == (0, 1, 2)
    assert AnyChoice(np.array([0.5, 1.5])).values == (0.5, 1.5)


def test_domains_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Float(0, 1).low = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Choice([1]).values = (2,)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Float(1, 1), r"low must be below high, got low=1\.0 and high=1\.0"),
        (lambda: Float(2, 1), r"low must be below high, got low=2\.0 and high=1\.0"),
        (lambda: Float(0, math.inf), r"high must be finite, got inf"),
        (lambda: Float(math.nan, 1), r"low must be finite, got nan"),
        (lambda: Float(-(10**400), 1), r"low must be finite"),
        (lambda: AnyFloat("0", 1), r"low must be a number, got '0'"),
        (lambda: AnyFloat(0, None), r"high must be a number, got None"),
        (lambda: Float(False, 1), r"low must be a number, got False"),
        (lambda: Float(0, 1, log=True), r"a log range needs low > 0, got low=0\.0"),
        (lambda: Float(-1, 1, log=True), r"a log range needs low > 0, got low=-1\.0"),
        (lambda: AnyFloat(1, 2, log="yes"), r"log must be true or false, got 'yes'"),
        (lambda: Float(-1e308, 1e308), r"too wide for a float64"),
        (lambda: Int(3, 3), r"low must be below high, got low=3 and high=3 \(a single value"),
        (lambda: Int(5, 1), r"low must be below high, got low=5 and high=1"),
        (lambda: AnyInt(0.5, 3), r"low must be an integer, got 0\.5"),
        (lambda: AnyInt(1, "3"), r"high must be a number, got '3'"),
        (lambda: Int(True, 3), r"low must be a number, got True"),
        (lambda: AnyInt(1, math.inf), r"high must be finite, got inf"),
        (lambda: Int(0, 2**40 + 1), r"high must be within -2\*\*40 and 2\*\*40"),
        (lambda: Int(0, 8, log=True), r"a log range needs low > 0, got low=0"),
        (lambda: AnyInt(1, 8, log=1), r"log must be true or false, got 1"),
        (lambda: Choice([]), r"choice values must not be empty"),
        (lambda: Choice("abc"), r"choice values must be a list or tuple, got 'abc'"),
        (lambda: AnyChoice({1, 2}), r"choice values must be a list or tuple, got \{1, 2\}"),
        (lambda: AnyChoice(3), r"choice values must be a list or tuple, got 3"),
        (lambda: Choice(["a", "b", "a"]), r"choice values must be distinct, got 'a' twice"),
        (lambda: Choice([1, 1.0]), r"choice values must be distinct, got 1\.0 twice"),
        (lambda: Choice([[1], [2], [1]]), r"choice values must be distinct, got \[1\] twice"),
    ],
)
def test_bad_domains(build: Callable[[], object], match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        build()


def test_choice_keeps_bools_apart_from_numbers() -> None:
    choice = Choice([0, 1, False, True])
    space = Space({"x": choice})
    assert [space.validate({"x": v})["x"] for v in (0, 1, False, True)] == [0, 1, False, True]
    assert type(space.validate({"x": True})["x"]) is bool


def test_int_bounds_at_the_limit() -> None:
    assert Int(-(2**40), 2**40).high == 2**40


# ----------------------------------------------------------------------------- building


def test_the_four_forms_of_a_parameter() -> None:
    space = Space(
        {
            "a": Float(0, 1),
            "b": [1, 2],
            "c": ("x", "y"),
            "d": {"type": "float", "low": 1e-3, "high": 1, "log": True},
            "e": {"type": "int", "low": 1, "high": 3},
            "f": {"type": "choice", "values": ["p", "q"]},
            "g": "constant",
            "h": None,
            "i": 3.5,
        }
    )
    assert space.domains == {
        "a": Float(0, 1),
        "b": Choice([1, 2]),
        "c": Choice(["x", "y"]),
        "d": Float(1e-3, 1, log=True),
        "e": Int(1, 3),
        "f": Choice(["p", "q"]),
    }
    assert space.constants == {"g": "constant", "h": None, "i": 3.5}


def test_properties_keep_the_users_order() -> None:
    space = mixed_space()
    assert space.names == ("lr", "epochs", "dropout", "units", "layers", "activation", "shape")
    assert space.tunable == ("lr", "dropout", "units", "layers", "activation", "shape")
    assert space.constants == {"epochs": 10}
    assert list(space.domains) == list(space.tunable)
    assert space.dimension == 6


def test_space_is_immutable() -> None:
    space = mixed_space()
    with pytest.raises(AttributeError, match="Space is immutable"):
        space.extra = 1
    with pytest.raises(AttributeError, match="Space is immutable"):
        del space._params
    space.constants["epochs"] = 99
    space.domains.clear()
    assert space.constants == {"epochs": 10}
    assert space.dimension == len(space.domains) == 6


def test_space_does_not_follow_changes_to_its_input() -> None:
    params: dict[str, Any] = {"x": [1, 2]}
    space = Space(params)
    params["x"].append(3)
    params["y"] = 1
    assert space.names == ("x",)
    assert space.domains["x"] == Choice([1, 2])


_DICT_FORMS = re.escape("a dict must describe a domain in one of three forms: {'type': 'float'")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, r"a space needs at least one parameter, got an empty mapping"),
        ([("x", 1)], r"a space must be a mapping of parameter name to domain"),
        ({"": 1}, r"parameter names must be non-empty strings, got ''"),
        ({3: 1}, r"parameter names must be non-empty strings, got 3"),
        ({"lr": Float(0, 1), "x": {"low": 0, "high": 1}}, r"^parameter 'x': " + _DICT_FORMS),
        ({"x": {}}, r"^parameter 'x': a dict must describe a domain .*; got \{\}$"),
        ({"x": {"type": "uniform"}}, r"^parameter 'x': unknown type 'uniform'; expected 'float'"),
        ({"x": {"type": "Float", "low": 0, "high": 1}}, r"parameter 'x': unknown type 'Float'"),
        (
            {"x": {"type": "float", "low": 0, "high": 1, "step": 0.1}},
            r"^parameter 'x': unknown key 'step' for type 'float'; "
            r"expected 'high', 'log', 'low', 'type', 'when'$",
        ),
        (
            {"x": {"type": "choice", "values": [1], "low": 0}},
            r"^parameter 'x': unknown key 'low' for type 'choice'; "
            r"expected 'branches', 'type', 'values', 'when'$",
        ),
        ({"x": {"type": "int", "low": 0}}, r"^parameter 'x': type 'int' needs the key 'high'$"),
        ({"x": {"type": "choice"}}, r"^parameter 'x': type 'choice' needs the key 'values'$"),
        (
            {"x": {"type": "choice", "values": "ab"}},
            r"^parameter 'x': choice values must be a list or tuple, got 'ab'$",
        ),
        (
            {"x": {"type": "float", "low": "1e-3", "high": 1}},
            r"^parameter 'x': low must be a number, got '1e-3'$",
        ),
        ({"n": {"type": "int", "low": 2, "high": 2}}, r"^parameter 'n': low must be below high"),
        ({"lr": {"type": "float", "low": 0, "high": 1, "log": True}}, r"^parameter 'lr': a log"),
        (
            {"x": [1, 2, 1]},
            r"^parameter 'x': a list or tuple is a choice between its items: "
            r"choice values must be distinct, got 1 twice$",
        ),
        ({"x": []}, r"^parameter 'x': a list or tuple is a choice .*: choice values must not be"),
    ],
)
def test_bad_spaces(params: Any, match: str) -> None:
    with pytest.raises(SpaceError, match=match):
        Space(params)


# ----------------------------------------------------------------------------- sampling


def test_samples_are_plain_valid_configs() -> None:
    space = mixed_space()
    configs = space.sample_many(np.random.default_rng(0), 500)
    assert len(configs) == 500
    for config in configs:
        assert list(config) == list(space.names)
        assert space.validate(config) == config
        assert type(config["lr"]) is float
        assert type(config["layers"]) is int
        assert config["epochs"] == 10
        assert config["shape"] in ((1, 2), [3], {"k": 1})
    shapes = {id(config["shape"]) for config in configs}
    assert shapes == {id(value) for value in space.domains["shape"].values}  # type: ignore[union-attr]


def test_sample_draws_like_sample_many() -> None:
    space = mixed_space()
    one_by_one = [space.sample(np.random.default_rng(4)) for _ in range(1)]
    rng = np.random.default_rng(9)
    singles = [space.sample(rng) for _ in range(20)]
    assert singles == space.sample_many(np.random.default_rng(9), 20)
    assert one_by_one == space.sample_many(np.random.default_rng(4), 1)


def test_sampling_covers_every_value_evenly() -> None:
    space = Space({"n": Int(1, 4), "c": ["a", "b", "c"], "x": Float(-2, 2)})
    configs = space.sample_many(np.random.default_rng(1), 12_000)
    for name, values in (("n", [1, 2, 3, 4]), ("c", ["a", "b", "c"])):
        counts = [sum(config[name] == v for config in configs) for v in values]
        expected = len(configs) / len(values)
        assert all(abs(count - expected) < 0.1 * expected for count in counts), counts
    xs = np.array([config["x"] for config in configs])
    assert -2 <= xs.min() < -1.99 and 1.99 < xs.max() <= 2
    assert abs(xs.mean()) < 0.05


@pytest.mark.parametrize("domain", [Float(1e-5, 1e-1, log=True), Int(1, 10_000, log=True)])
def test_log_domains_sample_evenly_in_log_space(domain: Float | Int) -> None:
    space = Space({"x": domain})
    xs = np.log10([c["x"] for c in space.sample_many(np.random.default_rng(2), 20_000)])
    low, high = math.log10(domain.low), math.log10(domain.high)
    # Each decade holds its share of the samples.
    shares = {
        decade: float(np.mean((xs >= decade) & (xs < decade + 1)))
        for decade in range(int(low), int(high))
    }
    off = {
        decade: share for decade, share in shares.items() if abs(share - 1 / (high - low)) >= 0.02
    }
    assert len(shares) == 4 and not off, off


def test_sample_many_zero_and_bad_n() -> None:
    space = mixed_space()
    assert space.sample_many(np.random.default_rng(0), 0) == []
    for n in (-1, 2.5, True):
        with pytest.raises(SpaceError, match=r"sample_many: n must be a non-negative integer"):
            space.sample_many(np.random.default_rng(0), n)  # type: ignore[arg-type]


def test_sample_many_is_fast() -> None:
    space = Space({"lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 64), "opt": ["a", "b"]})
    rng = np.random.default_rng(0)
    best = math.inf
    for _ in range(30):
        start = time.perf_counter()
        space.sample_many(rng, 256)
        best = min(best, time.perf_counter() - start)
    assert best < 1e-3, f"sample_many(rng, 256) took {best * 1e3:.2f} ms"


def test_constants_only_space() -> None:
    space = Space({"a": 1, "b": "x"})
    assert space.dimension == 0
    assert space.sample(np.random.default_rng(0)) == {"a": 1, "b": "x"}
    assert space.sample_many(np.random.default_rng(0), 3) == [{"a": 1, "b": "x"}] * 3
    assert space.encode({}).shape == (0,)
    assert space.decode([]) == {"a": 1, "b": "x"}


# ----------------------------------------------------------------------------- unit cube


@pytest.mark.parametrize(
    ("domain", "points", "values"),
    [
        (Float(-1, 3), [0.0, 0.25, 1.0], [-1.0, 0.0, 3.0]),
        (Float(1e-3, 10, log=True), [0.0, 0.25, 1.0], [1e-3, 1e-2, 10.0]),
        (Int(0, 3), [0.0, 0.2499, 0.25, 0.74, 0.75, 0.9999, 1.0], [0, 0, 1, 2, 3, 3, 3]),
        (Int(1, 3, log=True), [0.0, 0.4999, 0.5001, 0.79, 0.8, 1.0], [1, 1, 2, 2, 3, 3]),
        (Choice(["a", "b", "c"]), [0.0, 0.333, 0.334, 0.99, 1.0], ["a", "a", "b", "c", "c"]),
        (Float(0, 1), [-0.5, 1.5], [0.0, 1.0]),
    ],
)
def test_decode_values(domain: Any, points: list[float], values: list[Any]) -> None:
    space = Space({"x": domain})
    decoded = [c["x"] for c in space.decode_many([[p] for p in points])]
    if isinstance(domain, Float):
        assert decoded == pytest.approx(values, rel=1e-12)
    else:
        assert decoded == values


@pytest.mark.parametrize(
    ("domain", "value", "point"),
    [
        (Float(-1, 3), 0.0, 0.25),
        (Float(1e-3, 10, log=True), 1e-2, 0.25),
        (Int(0, 3), 0, 0.125),
        (Int(0, 3), 3, 0.875),
        (Int(1, 3, log=True), 2, (math.log(2) + math.log(3)) / 2 / math.log(4)),
        (Choice(["a", "b", "c", "d"]), "c", 0.625),
    ],
)
def test_encode_values(domain: Any, value: Any, point: float) -> None:
    encoded = Space({"x": domain}).encode({"x": value})
    assert encoded.shape == (1,)
    assert encoded.dtype == np.float64
    assert encoded[0] == pytest.approx(point, rel=1e-12)


def test_encode_fills_constants_and_follows_tunable_order() -> None:
    space = Space({"c": Choice(["a", "b"]), "k": 1, "n": Int(0, 1)})
    assert space.encode({"n": 1, "c": "a"}).tolist() == [0.25, 0.75]


def test_decode_of_encode_round_trips_sampled_configs() -> None:
    space = mixed_space()
    configs = space.sample_many(np.random.default_rng(5), 300)
    points = np.array([space.encode(config) for config in configs])
    assert points.shape == (300, space.dimension)
    assert ((0 <= points) & (points <= 1)).all()
    assert [space.decode(point) for point in points] == configs


@pytest.mark.parametrize(
    "domain",
    [
        Int(-5, 5),
        Int(1, 1000, log=True),
        Int(1, 2**40, log=True),
        Int(-(2**40), 2**40),
        Choice([None, "a", 1, 1.5, (1,), [2], False]),
    ],
)
def test_decode_of_encode_round_trips_every_int_and_choice(domain: Int | Choice) -> None:
    space = Space({"x": domain})
    if isinstance(domain, Choice):
        values = list(domain.values)
    else:
        edges = [*range(domain.low, domain.low + 200), *range(domain.high - 200, domain.high + 1)]
        spread = np.geomspace(1, domain.high, 500).astype(np.int64).tolist()
        values = [v for v in edges + spread if domain.low <= v <= domain.high]
    missed = [
        value for value in values if space.decode(space.encode({"x": value})) != {"x": value}
    ]
    assert values and not missed, missed[:10]


@pytest.mark.parametrize(
    "domain",
    [Float(-3.3, 7.1), Float(1e-300, 1e300, log=True), Float(1e-5, 1e2, log=True)],
)
def test_decode_of_encode_round_trips_floats(domain: Float) -> None:
    space = Space({"x": domain})
    rng = np.random.default_rng(3)
    if domain.log:
        values = np.exp(rng.uniform(math.log(domain.low), math.log(domain.high), 500))
    else:
        values = rng.uniform(domain.low, domain.high, 500)
    # The ends are exact; values in between come back exact when some point decodes to them
    # (sampled values always do), else as the closest value that a point decodes to.
    assert space.decode(space.encode({"x": domain.low})) == {"x": domain.low}
    assert space.decode(space.encode({"x": domain.high})) == {"x": domain.high}
    for value in np.clip(values, domain.low, domain.high).tolist():
        assert space.decode(space.encode({"x": value}))["x"] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.decode([0.5]), r"decode: expected a point of shape \(2,\), got shape \(1,\)"),
        (lambda s: s.decode([[0.5, 0.5]]), r"decode: expected a point of shape \(2,\)"),
        (
            lambda s: s.decode([0.5, math.nan]),
            r"coordinates must be finite, got nan in row 0, column 1$",
        ),
        (lambda s: s.decode_many([0.5, 0.5]), r"decode_many: expected an array of shape \(n, 2\)"),
        (lambda s: s.decode_many([[0.5, 0.5, 0.5]]), r"got shape \(1, 3\)"),
        (lambda s: s.decode_many([[0.5, 0], [0, -math.inf]]), r"got -inf in row 1, column 1$"),
        (lambda s: s.encode({"x": 0.5}), r"parameter 'n' is missing"),
        (lambda s: s.encode({"x": 2.0, "n": 1}), r"parameter 'x': expected a number in"),
    ],
)
def test_bad_unit_cube_calls(call: Callable[[Space], object], match: str) -> None:
    space = Space({"x": Float(0, 1), "n": Int(1, 3)})
    with pytest.raises(SpaceError, match=match):
        call(space)


# ----------------------------------------------------------------------------- grids


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"k": 0}, [{"k": 0}]),
        ({"a": [1, 2]}, [{"a": 1}, {"a": 2}]),
        (
            {"a": Int(1, 2), "b": ["x", "y", "z"]},
            [
                {"a": 1, "b": "x"},
                {"a": 1, "b": "y"},
                {"a": 1, "b": "z"},
                {"a": 2, "b": "x"},
                {"a": 2, "b": "y"},
                {"a": 2, "b": "z"},
            ],
        ),
        (
            {"b": ["x", "y"], "k": 7, "a": Int(-1, 0, log=False)},
            [
                {"b": "x", "k": 7, "a": -1},
                {"b": "x", "k": 7, "a": 0},
                {"b": "y", "k": 7, "a": -1},
                {"b": "y", "k": 7, "a": 0},
            ],
        ),
        (
            {"n": Int(1, 3, log=True), "c": [None]},
            [{"n": 1, "c": None}, {"n": 2, "c": None}, {"n": 3, "c": None}],
        ),
    ],
)
def test_grid_order(params: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    grid = Space(params).grid()
    assert isinstance(grid, ParameterGrid)
    assert len(grid) == grid.size == len(expected)
    assert list(grid) == expected
    assert [grid[i] for i in range(len(grid))] == expected
    assert [list(config) for config in grid] == [list(params)] * len(expected)


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"a": Int(0, 9)}, 10),
        ({"a": Int(0, 9), "b": Int(-5, 5), "c": [1, 2, 3]}, 330),
        ({"a": ["x"], "k": 1}, 1),
        ({"a": Int(1, 2**40)}, 2**40),
    ],
)
def test_grid_length(params: dict[str, Any], size: int) -> None:
    grid = Space(params).grid()
    assert len(grid) == size
    if size < 1000:
        # Iterating (an odometer) and indexing (mixed radix) agree.
        configs = list(grid)
        assert configs == [grid[i] for i in range(size)]
        assert len({repr(config) for config in configs}) == size


def test_grid_indexes_lazily() -> None:
    space = Space({"a": Int(0, 2**40), "b": Int(0, 2**40), "c": ["x", "y"], "k": "K"})
    grid = space.grid()
    assert grid.size == (2**40 + 1) ** 2 * 2
    with pytest.raises(OverflowError):
        len(grid)
    assert grid[0] == {"a": 0, "b": 0, "c": "x", "k": "K"}
    assert grid[3] == {"a": 0, "b": 1, "c": "y", "k": "K"}
    assert grid[grid.size - 1] == {"a": 2**40, "b": 2**40, "c": "y", "k": "K"}
    assert grid[-1] == grid[grid.size - 1]


def test_grid_sequence_behaviour() -> None:
    grid = Space({"a": Int(0, 3), "b": ["x", "y"]}).grid()
    assert grid[-1] == {"a": 3, "b": "y"}
    assert grid[np.int64(2)] == {"a": 1, "b": "x"}  # type: ignore[call-overload]
    assert grid[1:4] == [grid[1], grid[2], grid[3]]
    assert grid[::-3] == [grid[7], grid[4], grid[1]]
    assert {"a": 2, "b": "x"} in grid
    assert grid.index({"a": 2, "b": "x"}) == 4
    assert next(reversed(grid)) == grid[7]
    for index in (8, -9):
        with pytest.raises(IndexError, match=rf"grid index {index} is out of range for 8"):
            grid[index]


def test_a_grid_reads_only_the_parameters_of_what_it_is_given() -> None:
    """Any object with names, constants and domains (`Parameters`) has a grid, not only a
    `Space`: the grid module does not depend on the space module."""

    @dataclass(frozen=True)
    class Described:
        names: tuple[str, ...]
        constants: dict[str, Any]
        domains: dict[str, Domain]

    domains: dict[str, Domain] = {"a": Int(1, 2), "b": Choice(["x", "y"])}
    given: Parameters = Described(("a", "k", "b"), {"k": 0}, domains)
    grid = ParameterGrid(given)
    assert list(grid) == list(Space({"a": Int(1, 2), "k": 0, "b": ["x", "y"]}).grid())
    assert grid[3] == {"a": 2, "k": 0, "b": "y"}


def test_the_grid_module_does_not_import_the_space_module() -> None:
    # The space builds its grids, so an import the other way round would be a cycle.
    tree = ast.parse(Path(grid_module.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "space" not in imported and "paratune.space" not in imported


def test_grid_refuses_float_ranges() -> None:
    space = Space({"n": Int(1, 3), "lr": Float(1e-3, 1e-1)})
    message = (
        "parameter 'lr' is a Float range; a grid needs explicit points: use Choice([...]) instead"
    )
    with pytest.raises(SpaceError, match=re.escape(message)):
        space.grid()


# ----------------------------------------------------------------------------- validation


def test_validate_completes_and_orders() -> None:
    space = Space({"a": Float(0, 1), "k": "K", "n": Int(1, 5), "c": [1, "x"]})
    config = space.validate({"c": "x", "n": np.int64(2), "a": 1})
    assert config == {"a": 1.0, "k": "K", "n": 2, "c": "x"}
    assert list(config) == ["a", "k", "n", "c"]
    assert type(config["a"]) is float
    assert type(config["n"]) is int


def test_validate_accepts_integral_floats_and_returns_the_choices_objects() -> None:
    key = (1, 2)
    space = Space({"n": Int(1, 5), "c": Choice([key, 3])})
    config = space.validate({"n": 4.0, "c": tuple([1, 2])})
    assert config == {"n": 4, "c": key}
    assert type(config["n"]) is int
    assert config["c"] is key
    assert type(space.validate({"n": 1, "c": 3.0})["c"]) is int


def test_validate_checks_bounds_inclusively() -> None:
    space = Space({"x": Float(0.5, 2), "n": Int(1, 3)})
    assert space.validate({"x": 0.5, "n": 1}) == {"x": 0.5, "n": 1}
    assert space.validate({"x": 2, "n": 3}) == {"x": 2.0, "n": 3}


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ([("x", 1)], r"a config must be a mapping of parameter name to value"),
        ({"n": 1, "c": "a"}, r"^parameter 'x' is missing$"),
        ({"x": 0.5, "c": "a"}, r"^parameter 'n' is missing$"),
        (
            {"x": 0.5, "n": 1, "c": "a", "y": 2},
            r"^unknown parameter 'y'; the space has x, n, c, k$",
        ),
        (
            {"x": 1.5, "n": 1, "c": "a"},
            r"^parameter 'x': expected a number in \[0\.0, 1\.0\], got",
        ),
        ({"x": -0.1, "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got -0\.1$"),
        ({"x": math.nan, "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got nan$"),
        ({"x": "0.5", "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got '0\.5'$"),
        ({"x": True, "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got True$"),
        ({"x": None, "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got None$"),
        ({"x": 10**400, "n": 1, "c": "a"}, r"^parameter 'x': expected a number .* got 1000"),
        (
            {"x": 0.5, "n": 0, "c": "a"},
            r"^parameter 'n': expected an integer in \[1, 100\], log scale, got 0$",
        ),
        ({"x": 0.5, "n": 101, "c": "a"}, r"^parameter 'n': expected an integer .* got 101$"),
        ({"x": 0.5, "n": 2.5, "c": "a"}, r"^parameter 'n': expected an integer .* got 2\.5$"),
        ({"x": 0.5, "n": "2", "c": "a"}, r"^parameter 'n': expected an integer .* got '2'$"),
        ({"x": 0.5, "n": True, "c": "a"}, r"^parameter 'n': expected an integer .* got True$"),
        ({"x": 0.5, "n": 2, "c": "d"}, r"^parameter 'c': expected one of \['a', 'b'\], got 'd'$"),
        ({"x": 0.5, "n": 2, "c": None}, r"^parameter 'c': expected one of .* got None$"),
        (
            {"x": 0.5, "n": 2, "c": "a", "k": 4},
            r"^parameter 'k' is the constant 3, got 4$",
        ),
        ({"x": 0.5, "n": 2, "c": "a", "k": True}, r"^parameter 'k' is the constant 3, got True$"),
    ],
)
def test_bad_configs(config: Any, match: str) -> None:
    space = Space({"x": Float(0, 1), "n": Int(1, 100, log=True), "c": ["a", "b"], "k": 3})
    with pytest.raises(SpaceError, match=match):
        space.validate(config)


def test_validate_accepts_an_equal_constant() -> None:
    space = Space({"x": Float(0, 1), "k": 3})
    assert space.validate({"x": 0, "k": 3.0}) == {"x": 0.0, "k": 3}


def test_a_space_without_conditions_has_every_parameter_active() -> None:
    space = mixed_space()
    assert space.conditional == ()
    config = space.sample(np.random.default_rng(0))
    assert space.active(config) == config
    assert space.active({"lr": 0.01}) == {"lr": 0.01}
    assert all(space.is_active(name, {}) for name in space.names)
    assert not np.isnan(space.encode(config)).any()
    assert space.to_dict() == {
        name: {k: v for k, v in value.items() if k != "when"} if isinstance(value, dict) else value
        for name, value in space.to_dict().items()
    }  # no "when" written for an unconditional domain


# ----------------------------------------------------------------------------- serialising


def test_to_dict_round_trips() -> None:
    space = mixed_space()
    data = space.to_dict()
    assert data["lr"] == {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}
    assert data["units"] == {"type": "int", "low": 8, "high": 512, "log": True}
    assert data["activation"] == {"type": "choice", "values": ["relu", "tanh", None]}
    assert data["epochs"] == 10
    assert Space(data) == space
    assert list(Space(data).names) == list(space.names)


def test_to_dict_is_json_serialisable() -> None:
    space = Space({"lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 3), "c": ["a", 2, None], "k": 1})
    text = json.dumps(space.to_dict())
    assert Space(json.loads(text)) == space


def test_equality() -> None:
    assert Space({"a": Float(0, 1), "b": 2}) == Space({"a": Float(0.0, 1.0), "b": 2})
    assert Space({"a": Float(0, 1), "b": 2}) != Space({"b": 2, "a": Float(0, 1)})
    assert Space({"a": Float(0, 1)}) != Space({"a": Float(0, 2)})
    # A condition is part of the domain.
    assert Space({"k": [1, 2], "a": Float(0, 1, when={"k": 1})}) != Space(
        {"k": [1, 2], "a": Float(0, 1, when={"k": 2})}
    )
    assert Space({"a": [1, 2]}) != {"a": [1, 2]}
    with pytest.raises(TypeError):
        hash(Space({"a": 1}))


def test_repr() -> None:
    space = Space({"a": Int(1, 3), "b": "k"})
    assert repr(space) == "Space({'a': Int(low=1, high=3, log=False), 'b': 'k'})"
    assert repr(space.grid()) == "ParameterGrid(size=3, axes=['a'])"


def test_pickle() -> None:
    space = mixed_space()
    copy = pickle.loads(pickle.dumps(space))
    assert copy == space
    assert copy.sample_many(np.random.default_rng(0), 5) == space.sample_many(
        np.random.default_rng(0), 5
    )
    assert pickle.loads(pickle.dumps(Choice([1, "a"]))) == Choice([1, "a"])


# ----------------------------------------------------------------------------- files


SPACE_YAML = """\
lr: {type: float, low: 1e-4, high: 0.1, log: true}
layers: {type: int, low: 1, high: 4}
optimizer: [adam, sgd]
activation: {type: choice, values: [relu, tanh]}
epochs: 10
"""


def test_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE_YAML, encoding="utf-8")
    space = Space.from_file(path)
    assert space == Space(
        {
            "lr": Float(1e-4, 0.1, log=True),
            "layers": Int(1, 4),
            "optimizer": Choice(["adam", "sgd"]),
            "activation": Choice(["relu", "tanh"]),
            "epochs": 10,
        }
    )


def test_from_json_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "space.json"
    space = mixed_space()
    data = space.to_dict()
    data["shape"] = {"type": "choice", "values": [[1, 2], [3]]}  # JSON has no tuples or dicts
    path.write_text(json.dumps(data), encoding="utf-8")
    assert Space.from_file(str(path)) == Space(data)


@pytest.mark.parametrize(
    ("name", "text", "error", "match"),
    [
        (
            "space.yaml",
            "lr: {type: float, low: 1, high: 0.1}\n",
            SpaceError,
            r"space\.yaml: parameter 'lr': low must be below high, got low=1\.0 and high=0\.1$",
        ),
        (
            "space.json",
            '{"n": {"type": "int", "low": 1}}',
            SpaceError,
            r"space\.json: parameter 'n': type 'int' needs the key 'high'$",
        ),
        ("space.yaml", "{}\n", SpaceError, r"space\.yaml: a space needs at least one parameter"),
        ("space.yaml", "lr: [1, 2\n", SpecError, r"space\.yaml: malformed YAML at line 2"),
        ("space.txt", "lr: 1\n", SpecError, r"space\.txt: unknown file extension"),
    ],
)
def test_bad_space_files(
    tmp_path: Path, name: str, text: str, error: type[Exception], match: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=match) as info:
        Space.from_file(path)
    assert str(info.value).startswith(str(path))
