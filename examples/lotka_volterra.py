"""Fit the Lotka-Volterra predator-prey model to noisy data with CMA-ES, serially and then
on every core, and print the fit and the speedup.

    dx/dt = alpha x - beta x y      (prey)
    dy/dt = delta x y - gamma y     (predators)

The data are 500 points over t in [0, 100] from alpha, beta, delta, gamma = 1.1, 0.4, 0.1,
0.4 and x0, y0 = 10, 5, with Gaussian noise of sd 0.3 (fixed seed). Each evaluation solves
the ODE with `scipy.integrate.solve_ivp` and returns the sum of squared errors (SSE). Both
runs use the same searcher and seed, so they evaluate the same parameters: the parallel run
differs only in wall time.

python examples/lotka_volterra.py [--evaluations N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

import paratune as pt

TRUE = {"alpha": 1.1, "beta": 0.4, "delta": 0.1, "gamma": 0.4}
START = (10.0, 5.0)  # x0 (prey), y0 (predators)
TIMES = np.linspace(0.0, 100.0, 500)
NOISE_SD = 0.3

# Rates are scale parameters: search them in log space. The true gamma, 0.4, needs a range
# below 0.5. The SSE is very rugged in linear space over ten cycles: a period slightly off
# puts the curves out of phase, and CMA-ES settles in such local minima far more often.
SPACE = {
    "alpha": pt.Float(0.5, 2.0, log=True),
    "beta": pt.Float(0.1, 1.0, log=True),
    "delta": pt.Float(0.01, 0.5, log=True),
    "gamma": pt.Float(0.1, 2.0, log=True),
}


def rates(t: float, z: NDArray[np.float64], *p: float) -> list[float]:
    """The Lotka-Volterra right-hand side at populations ``z`` = (x, y)."""
    alpha, beta, delta, gamma = p
    x, y = z
    return [alpha * x - beta * x * y, delta * x * y - gamma * y]


def simulate(params: dict[str, float], *, rtol: float = 1e-6) -> NDArray[np.float64]:
    """Both populations at every time of TIMES, shape (2, 500).

    Raises:
        RuntimeError: the solver failed or gave a non-finite value.
    """
    args = tuple(params[name] for name in TRUE)
    # LSODA switches to a stiff method by itself: extreme rates make the populations
    # swing over many orders of magnitude, where an explicit method crawls.
    solution = solve_ivp(
        rates,
        (TIMES[0], TIMES[-1]),
        START,
        method="LSODA",
        t_eval=TIMES,
        args=args,
        rtol=rtol,
        atol=rtol * 1e-2,
    )
    if not solution.success or solution.y.shape != (2, TIMES.size):
        raise RuntimeError(f"solve_ivp failed: {solution.message}")
    y: NDArray[np.float64] = solution.y
    if not np.all(np.isfinite(y)):
        raise RuntimeError("solve_ivp gave a non-finite population")
    return y


DATA = simulate(TRUE, rtol=1e-10) + np.random.default_rng(0).normal(0.0, NOISE_SD, (2, TIMES.size))


def sse(config: dict[str, Any]) -> float:
    """The sum of squared errors of the model at ``config`` against DATA.

    A solver failure raises: the trial fails (its error is kept in ``result.trials``) and
    CMA-ES counts it as the worst value of its generation, rather than as a made-up SSE.
    """
    return float(np.sum((simulate(config) - DATA) ** 2))


def fit(executor: str, workers: int, evaluations: int, popsize: int) -> pt.TuneResult:
    """Minimise the SSE with CMA-ES on ``workers`` workers of ``executor``."""
    return pt.tune(
        sse,
        SPACE,
        searcher=pt.searchers.CMAES(popsize=popsize),
        executor=executor,
        workers=workers,
        max_trials=evaluations,
        seed=0,
        store=None,
    )


def values(config: dict[str, Any] | None) -> str:
    """The four parameters of ``config`` on one line."""
    config = config or {}
    return " ".join(f"{name}={config.get(name, float('nan')):.4f}" for name in TRUE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=800, help="SSE evaluations per run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    workers = max(1, args.workers)
    # CMA's default population for 4 parameters is 8; a multiple of the workers fills them.
    # Both runs use it, so they evaluate the same parameters.
    popsize = workers * -(-8 // workers)
    serial = fit("serial", 1, args.evaluations, popsize)
    parallel = fit("processes", workers, args.evaluations, popsize)

    count = len(parallel.trial_list)
    failed = int((parallel.trials["status"] == "failed").sum())
    same = [t.config for t in serial.trial_list] == [t.config for t in parallel.trial_list]
    print(f"Lotka-Volterra fit by CMA-ES (population {popsize}) to {TIMES.size} noisy points")
    print(f"true        {values(TRUE)}  SSE {sse(TRUE):.2f}")
    for name, result in (("serial", serial), ("processes", parallel)):
        print(
            f"{name:<11} {values(result.best_config)}  SSE {result.best_value:.2f}  "
            f"wall {result.wall_time:.2f} s"
        )
    print(f"solution    {values(parallel.best_config)}")
    noise = TIMES.size * 2 * NOISE_SD**2  # the SSE's expected value at the true parameters
    print(f"final SSE   {parallel.best_value:.2f} (noise alone: about {noise:.0f})")
    print(
        f"evaluations {count} per run, {failed} failed; the same parameters in both runs: {same}"
    )
    print(f"time per evaluation {1000 * serial.busy_time / max(1, len(serial.trial_list)):.1f} ms")
    speedup = serial.wall_time / parallel.wall_time
    print(
        f"speedup     {speedup:.2f}x (wall serial / wall parallel "
        f"on {workers} workers; efficiency {speedup / workers:.2f})"
    )


if __name__ == "__main__":
    main()
