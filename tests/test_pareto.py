"""paratune.pareto against hand-worked cases and against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from paratune.pareto import (
    crowding_distance,
    dominates,
    hypervolume,
    non_dominated,
    pareto_order,
    pareto_ranks,
)


def brute_ranks(points: np.ndarray) -> list[int]:
    """Non-dominated sorting by its definition: peel off the undominated, again and again."""
    left, ranks, rank = set(range(len(points))), [0] * len(points), 0
    while left:
        front = [i for i in left if not any(dominates(points[j], points[i]) for j in left)]
        for i in front:
            ranks[i] = rank
        left -= set(front)
        rank += 1
    return ranks


def brute_volume(points: np.ndarray, reference: np.ndarray, cells: int = 40) -> float:
    """Hypervolume on a grid fine enough for points on that grid: count the cells."""
    edges = [np.linspace(0, reference[j], cells + 1) for j in range(len(reference))]
    volume = 0.0
    for corner in itertools.product(*(range(cells) for _ in reference)):
        low = np.array([edges[j][corner[j]] for j in range(len(reference))])
        high = np.array([edges[j][corner[j] + 1] for j in range(len(reference))])
        if any(np.all(p <= low) for p in points):
            volume += float(np.prod(high - low))
    return volume


def test_dominance_needs_no_worse_everywhere_and_better_somewhere() -> None:
    assert dominates([1, 2], [2, 2])
    assert not dominates([1, 2], [1, 2])  # equal points do not dominate each other
    assert not dominates([1, 3], [2, 2])
    assert dominates([0], [1])


@pytest.mark.parametrize("objectives", [2, 3])
def test_ranks_equal_peeling_fronts_ties_included(objectives: int) -> None:
    rng = np.random.default_rng(objectives)
    points = rng.integers(0, 4, size=(80, objectives)).astype(float)  # many ties
    assert pareto_ranks(points).tolist() == brute_ranks(points)


@pytest.mark.parametrize("objectives", [2, 3, 4])
@pytest.mark.parametrize("spread", ["ties", "random", "one front"])
def test_the_front_alone_equals_the_first_rank(objectives: int, spread: str) -> None:
    rng = np.random.default_rng(objectives)
    points = rng.random((700, objectives))
    if spread == "ties":
        points = np.floor(points * 4)
    elif spread == "one front":
        points[:, 1] = 1 - points[:, 0]  # every point trades the first two off
    violations = (rng.random(700) < 0.1).astype(float)
    expected = np.zeros(700, dtype=bool)
    feasible = violations == 0
    expected[feasible] = pareto_ranks(points[feasible]) == 0
    assert non_dominated(points, violations).tolist() == expected.tolist()


def test_hand_worked_fronts() -> None:
    points = [[1, 4], [2, 2], [3, 3], [4, 1], [4, 4], [2, 2]]
    assert pareto_ranks(points).tolist() == [0, 0, 1, 0, 2, 0]
    assert non_dominated(points).tolist() == [True, True, False, True, False, True]


def test_constrained_domination_puts_every_feasible_point_first() -> None:
    points = [[5, 5], [0, 0], [1, 1], [9, 9]]
    violations = [0.0, 2.0, 1.0, 0.0]
    # Feasible: [5,5] dominates [9,9]; then the infeasible, the smaller violation first.
    assert pareto_ranks(points, violations).tolist() == [0, 3, 2, 1]
    assert non_dominated(points, violations).tolist() == [True, False, False, False]
    assert not non_dominated([[0, 0]], [1.0]).any()  # no feasible point: an empty front


def test_one_objective_sorts() -> None:
    assert pareto_ranks([3.0, 1.0, 2.0, 1.0]).tolist() == [2, 0, 1, 0]
    assert pareto_order([3.0, 1.0, 2.0, 1.0]).tolist() == [1, 3, 2, 0]


def test_crowding_keeps_the_extremes_and_favours_the_lonely() -> None:
    front = np.array([[0, 10], [1, 9], [2, 8], [6, 4], [10, 0]], dtype=float)
    distance = crowding_distance(front)
    assert np.isinf(distance[[0, 4]]).all()
    # [6,4] has wide gaps around it; [1,9] sits between close neighbours.
    assert distance[3] > distance[2] > distance[1]
    assert pareto_order(front).tolist() == [0, 4, 3, 2, 1]


def test_hypervolume_hand_worked_and_beyond_the_reference() -> None:
    # The staircase: x in [1,2] up to 4, [2,4] up to 2, [4,5] up to 1.
    assert hypervolume([[1, 4], [2, 2], [4, 1]], [5, 5]) == 1 * 1 + 2 * 3 + 1 * 4
    assert hypervolume([[1, 1, 1]], [2, 3, 4]) == 1 * 2 * 3
    assert hypervolume([[6, 0]], [5, 5]) == 0.0  # beyond the reference: adds nothing
    assert hypervolume(np.empty((0, 2)), [1, 1]) == 0.0
    with pytest.raises(ValueError, match="reference has 3 objectives"):
        hypervolume([[1, 1]], [2, 2, 2])


@pytest.mark.parametrize("objectives", [2, 3])
def test_hypervolume_counts_the_grid_cells(objectives: int) -> None:
    rng = np.random.default_rng(7)
    points = rng.integers(0, 8, size=(12, objectives)) / 2.0  # on a grid of half units
    reference = np.full(objectives, 5.0)
    assert hypervolume(points, reference) == pytest.approx(
        brute_volume(points, reference, cells=10), abs=1e-9
    )


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match="violations for 2 points"):
        pareto_ranks([[1, 2], [2, 1]], [0.0])
    with pytest.raises(ValueError, match=r"\(n, m\) array"):
        pareto_ranks(np.zeros((2, 2, 2)))


def test_a_large_front_in_many_objectives_gets_a_close_estimate_quickly() -> None:
    rng = np.random.default_rng(5)
    points = rng.random((40, 5))
    points /= np.linalg.norm(points, axis=1, keepdims=True)  # all on one front
    reference = np.full(5, 1.1)
    from paratune.pareto import _volume  # the exact slices, for comparison

    estimate = hypervolume(points, reference)
    assert estimate == hypervolume(points, reference)  # seeded: the same every time
    assert estimate == pytest.approx(_volume(points, reference), rel=0.005)
    small = points[:8]  # a small front: exact
    assert hypervolume(small, reference) == _volume(small, reference)
