"""Many independent L-BFGS-B searches that share one function evaluation per step.

An acquisition function is cheap to evaluate at many points at once (one matrix product) and
dear to evaluate point by point (the same product, once per point). Searching from several
starts therefore wants one call for all of them; but one L-BFGS-B run over all starts
stacked together (their sum is separable) shares a single line search and curvature estimate
between unrelated hills, and stops when the sum stops improving, with some starts still far
from their own peak. Here each start gets its own L-BFGS-B (SciPy's), each in a greenlet that
pauses whenever its search asks for a value; the driver then evaluates every pending point in
one call and hands the answers back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import greenlet
import numpy as np
from numpy.typing import NDArray

_Array = NDArray[np.float64]
# Called with the starts' indices (m,) and the points their searches ask for (m, d): returns
# the values (m,) and gradients (m, d) there.
BatchedFunction = Callable[[NDArray[np.intp], _Array], tuple[_Array, _Array]]


def minimize_each(
    fun: BatchedFunction,
    starts: _Array,
    bounds: Sequence[tuple[float, float]],
    *,
    max_iterations: int,
    gradient_tolerance: float,
) -> tuple[_Array, _Array]:
    """Minimise ``fun`` by L-BFGS-B from every row of ``starts`` separately, within
    ``bounds`` (one pair per column); ``fun`` is called with the indices of the searches
    still running and the points they ask for, all at once. Returns the points each search
    ended at and their values."""
    from scipy.optimize import minimize

    driver = greenlet.getcurrent()
    ends = np.array(starts, dtype=np.float64, copy=True)
    values = np.full(len(ends), np.inf)

    def search(index: int) -> None:
        def ask(x: _Array) -> tuple[float, _Array]:
            # Back to the driver with the point; it resumes us with the value and gradient.
            value, gradient = driver.switch(x.copy())
            return value, gradient

        result = minimize(
            ask,
            ends[index],
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iterations, "gtol": gradient_tolerance},
        )
        ends[index], values[index] = result.x, float(result.fun)

    searches = [greenlet.greenlet(search, parent=driver) for _ in range(len(ends))]
    # Each switch runs a search until it asks for a point (returned here) or ends (None).
    asked: dict[int, _Array] = {}
    for index, runner in enumerate(searches):
        point = runner.switch(index)
        if point is not None:
            asked[index] = point
    while asked:
        indices = np.array(list(asked), dtype=np.intp)
        batch_values, batch_gradients = fun(indices, np.array([asked[i] for i in indices]))
        asked = {}
        for row, index in enumerate(indices):
            answer = (float(batch_values[row]), np.array(batch_gradients[row], dtype=np.float64))
            point = searches[int(index)].switch(answer)
            if point is not None:
                asked[int(index)] = point
    return ends, values
