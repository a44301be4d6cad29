"""minimize_each: independent L-BFGS-B searches whose function calls are batched."""

from __future__ import annotations

from typing import Any

import numpy as np

from paratune.searchers._lbfgsb import minimize_each


def test_each_start_gets_its_own_search_and_evaluations_are_batched() -> None:
    # Start i minimises a bowl centred at centre[i]: a search that took another start's
    # function, or shared its steps, would not end at its own centre.
    centres = np.array([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5], [0.05, 0.3]])
    calls: list[int] = []

    def bowls(indices: np.ndarray[Any, Any], points: np.ndarray[Any, Any]) -> Any:
        calls.append(len(indices))
        offsets = points - centres[indices]
        return (offsets**2).sum(axis=1) * (1 + indices), 2 * offsets * (1 + indices)[:, None]

    starts = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    ends, values = minimize_each(
        bowls, starts, [(0.0, 1.0)] * 2, max_iterations=50, gradient_tolerance=1e-8
    )
    assert np.allclose(ends, centres, atol=1e-5)
    assert np.allclose(values, 0.0, atol=1e-9)
    assert calls[0] == 4  # the first step of every search in one call
    assert sum(calls) > len(calls)  # and later ones together while several still run


def test_bounds_hold_each_search() -> None:
    def slope(indices: np.ndarray[Any, Any], points: np.ndarray[Any, Any]) -> Any:
        return points.sum(axis=1), np.ones_like(points)  # falls towards the lower corner

    ends, values = minimize_each(
        slope,
        np.array([[0.7, 0.4], [0.1, 0.9]]),
        [(0.0, 1.0), (0.25, 1.0)],
        max_iterations=20,
        gradient_tolerance=1e-8,
    )
    assert np.allclose(ends, [[0.0, 0.25], [0.0, 0.25]])
    assert np.allclose(values, 0.25)
