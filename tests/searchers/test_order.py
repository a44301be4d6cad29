"""Ordered candidates: a grid or a list of points in its given order or shuffled with the
seed, and the `Ordered` hook by which a run says what ``order="auto"`` means."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Literal

import pytest

from paratune.errors import SpecError
from paratune.searchers import (
    CMAES,
    Grid,
    InitialPoints,
    Ordered,
    Random,
    Searcher,
    set_auto_order,
)
from paratune.searchers._order import WHOLE_UP_TO, check_order, shuffled_indices
from paratune.space import Choice, Int, Space
from paratune.testing import SearcherContract
from paratune.trial import Config

SPACE = Space({"a": Int(0, 7), "b": Choice(["x", "y", "z", "w"]), "c": Int(1, 4), "k": 0})


def suggested(searcher: Searcher, space: Space = SPACE, *, seed: int = 0) -> list[Config]:
    """Everything ``searcher`` suggests before its first None."""
    searcher.setup(space, seed=seed, workers=3, max_trials=None)
    return list(iter(searcher.suggest, None))


def shuffled_grid(order: Literal["auto", "given", "shuffled"] = "shuffled") -> Grid:
    grid = Grid(order=order)
    set_auto_order(grid, "shuffled")
    return grid


# ----------------------------------------------------------------------------- the contract


class TestShuffledGrid(SearcherContract):
    seeded = True  # its order is drawn from the seed

    def make_searcher(self) -> Searcher:
        return Grid(order="shuffled")

    def make_space(self) -> Space:
        return SPACE


class TestShuffledPoints(SearcherContract):
    seeded = True

    def make_searcher(self) -> Searcher:
        points = [{"a": a, "b": "x", "c": 1} for a in range(8)]
        return InitialPoints(points, then=Grid(order="shuffled"), order="shuffled")

    def make_space(self) -> Space:
        return SPACE


# ----------------------------------------------------------------------------- the permutation


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 100, 1000])
@pytest.mark.parametrize("whole_up_to", [WHOLE_UP_TO, 0])  # 0: the keyed bijection
def test_every_index_comes_once(size: int, whole_up_to: int) -> None:
    order = list(shuffled_indices(size, seed=3, whole_up_to=whole_up_to))
    assert sorted(order) == list(range(size))


@pytest.mark.parametrize("whole_up_to", [WHOLE_UP_TO, 0])
def test_the_order_depends_on_the_seed_alone(whole_up_to: int) -> None:
    def order(seed: int) -> list[int]:
        return list(shuffled_indices(500, seed, whole_up_to=whole_up_to))

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert order(1) != list(range(500))
    # Shuffled, not shifted: few neighbours stay neighbours.
    steps = sum(abs(b - a) == 1 for a, b in itertools.pairwise(order(1)))
    assert steps < 25


def test_a_huge_range_is_shuffled_lazily() -> None:
    size = 2**70  # a Python int far past any array; the first indices cost microseconds
    first = list(itertools.islice(shuffled_indices(size, seed=5), 1000))
    assert len(set(first)) == 1000 and all(0 <= index < size for index in first)
    assert max(first) > 2**60  # spread over the whole range, not its start
    assert first == list(itertools.islice(shuffled_indices(size, seed=5), 1000))


def test_past_the_bound_the_bijection_takes_over() -> None:
    size = WHOLE_UP_TO + 1
    first = list(itertools.islice(shuffled_indices(size, seed=0), 2000))
    bijection = list(itertools.islice(shuffled_indices(size, seed=0, whole_up_to=0), 2000))
    assert first == bijection and len(set(first)) == 2000


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size must be >= 0"):
        next(shuffled_indices(-1, seed=0))


@pytest.mark.parametrize("order", ["auto", "given", "shuffled"])
def test_check_order_accepts_the_three(order: str) -> None:
    assert check_order(order) == order


@pytest.mark.parametrize("order", ["random", "", None, 1, "GIVEN"])
def test_check_order_refuses_anything_else(order: Any) -> None:
    with pytest.raises(SpecError, match=r"^order must be one of 'auto', 'given', 'shuffled'"):
        check_order(order)


# ----------------------------------------------------------------------------- Grid


def test_a_shuffled_grid_has_every_point_once_in_another_order() -> None:
    given = suggested(Grid())
    shuffled = suggested(Grid(order="shuffled"), seed=4)
    assert len(given) == len(SPACE.grid()) == 128
    assert shuffled != given
    assert sorted(map(repr, shuffled)) == sorted(map(repr, given))
    assert all(config["k"] == 0 for config in shuffled)


def test_a_shuffled_grid_repeats_with_its_seed_whatever_the_workers() -> None:
    grid = Grid(order="shuffled")
    grid.setup(SPACE, seed=9, workers=1, max_trials=None)
    one = list(iter(grid.suggest, None))
    grid.setup(SPACE, seed=9, workers=64, max_trials=10)
    assert list(iter(grid.suggest, None)) == one
    assert suggested(Grid(order="shuffled"), seed=10) != one


def test_a_shuffled_grid_does_not_keep_the_slowest_parameter_in_blocks() -> None:
    # In the given order "a" changes once every 16 configs; shuffled, almost every time.
    configs = suggested(Grid(order="shuffled"), seed=0)
    changes = sum(p["a"] != q["a"] for p, q in itertools.pairwise(configs))
    assert changes > 90


@pytest.mark.parametrize(
    ("order", "auto", "expected"),
    [
        ("auto", None, "given"),  # nothing said: the grid's order
        ("auto", "given", "given"),
        ("auto", "shuffled", "shuffled"),
        ("given", "shuffled", "given"),  # an order given explicitly stays
        ("shuffled", "given", "shuffled"),
    ],
)
def test_auto_is_what_the_run_says(order: Any, auto: Any, expected: str) -> None:
    grid = Grid(order=order)
    if auto is not None:
        set_auto_order(grid, auto)
    assert grid.resolved_order == expected
    configs = suggested(grid, seed=1)
    assert (configs == suggested(Grid())) is (expected == "given")


def test_the_auto_order_is_kept_for_later_runs_until_told_again() -> None:
    grid = shuffled_grid("auto")
    first = suggested(grid, seed=2)
    assert suggested(grid, seed=2) == first
    set_auto_order(grid, "given")
    assert suggested(grid, seed=2) == suggested(Grid())


def test_a_huge_shuffled_grid_starts_at_once() -> None:
    space = Space({f"p{i}": Int(0, 99) for i in range(12)})  # 10**24 configs
    grid = Grid(order="shuffled")
    grid.setup(space, seed=0, workers=1, max_trials=None)
    configs = [grid.suggest() for _ in range(50)]
    assert all(config is not None and space.validate(config) == config for config in configs)
    assert len({repr(config) for config in configs}) == 50


def test_grid_order_argument_and_repr() -> None:
    assert repr(Grid()) == "Grid()" and Grid().order == "auto"
    assert repr(Grid(order="given")) == "Grid(order='given')"
    assert repr(Grid(order="shuffled")) == "Grid(order='shuffled')"
    with pytest.raises(SpecError, match="order must be one of"):
        Grid(order="random")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- InitialPoints


POINTS = [{"a": a, "b": b, "c": 1} for a in range(4) for b in ("x", "y", "z")]  # 12


def test_points_shuffled_under_auto_when_there_are_more_than_a_few() -> None:
    searcher = InitialPoints(POINTS, then=Grid())
    set_auto_order(searcher, "shuffled")
    configs = suggested(searcher, seed=3)
    points = configs[: len(POINTS)]
    assert points != [SPACE.validate(p) for p in POINTS]
    assert sorted(map(repr, points)) == sorted(repr(SPACE.validate(p)) for p in POINTS)
    # The grid after them is shuffled as well, and still complete.
    rest = configs[len(POINTS) :]
    assert len(rest) == 128 and rest != suggested(Grid())


def test_a_few_points_keep_their_order_under_auto() -> None:
    few = POINTS[:10]
    searcher = InitialPoints(few, then=Random())
    set_auto_order(searcher, "shuffled")
    assert searcher.resolved_order == "given"
    searcher.setup(SPACE, seed=3, workers=1, max_trials=None)
    assert [searcher.suggest() for _ in few] == [SPACE.validate(p) for p in few]


@pytest.mark.parametrize(
    ("order", "auto", "shuffled"),
    [("given", "shuffled", False), ("shuffled", "given", True), ("auto", "given", False)],
)
def test_points_order_argument(order: Any, auto: Any, shuffled: bool) -> None:
    searcher = InitialPoints(POINTS, then=Random(), order=order)
    set_auto_order(searcher, auto)
    searcher.setup(SPACE, seed=3, workers=1, max_trials=None)
    points = [searcher.suggest() for _ in POINTS]
    assert (points != [SPACE.validate(p) for p in POINTS]) is shuffled
    assert sorted(map(repr, points)) == sorted(repr(SPACE.validate(p)) for p in POINTS)


def test_points_repr_and_bad_order() -> None:
    assert repr(InitialPoints([{}], then=Grid(), order="given")) == (
        "InitialPoints(1 points, then=Grid(), order='given')"
    )
    with pytest.raises(SpecError, match="order must be one of"):
        InitialPoints([{}], then=Grid(), order="sorted")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the hook


@pytest.mark.parametrize(
    ("make", "declares"),
    [
        (Grid, True),
        (lambda: InitialPoints([], then=Random()), True),
        (Random, False),
        (CMAES, False),
    ],
)
def test_ordered_is_the_declared_hook(make: Callable[[], Searcher], declares: bool) -> None:
    searcher = make()
    assert isinstance(searcher, Ordered) is declares
    set_auto_order(searcher, "shuffled")  # a searcher without the hook is left alone
