"""B13's second table: every built-in searcher's time per suggestion after 10,000 and
100,000 observations, in 5-D.

Each searcher of `paratune.searchers` (random, sobol, lhs, grid, cmaes, tpe, gp) is set up
on the unit box and given its observations: finished trials built in memory and handed to
``observe``, except CMA-ES, which ignores every trial that is not one of its own candidates
and so is fed by suggesting and observing that many of its own (with ``restarts=None``, so
that converging on the sphere does not end its suggestions). Grid needs a finite space: it
searches the box discretised to hundredths (each parameter an ``Int(0, 100)``, read as
hundredths of the unit range), 101**5 configs. Then each searcher suggests several times,
each suggestion followed by its result, and the figure is the median time of a suggestion,
after two that are not timed. The GP is shown with its default ``max_observations`` (300)
and, at small sizes only, with ``max_observations=None`` (every result fitted) to show the
growth that cap stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import Options, Row, Table, fmt_s, median

from paratune.searchers import CMAES, GP, TPE, Grid, LatinHypercube, Random, Searcher, Sobol
from paratune.space import Float, Int, Space
from paratune.trial import Config, Status, Trial

DIMENSIONS = 5
NAMES = tuple(f"x{i}" for i in range(DIMENSIONS))
SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
GP_ALL_SIZES = (1_000, 2_000)  # max_observations=None: every result fitted
QUICK_GP_ALL_SIZES = (500, 1_000)
GRID_STEPS = 100  # the grid's parameters are Int(0, GRID_STEPS): hundredths of the range
SUGGESTIONS = 15  # timed per size; the GP's cost more, so it times fewer
GP_SUGGESTIONS = 7
QUICK_SUGGESTIONS = 3
WARM_UP = 2  # suggestions made, not timed, before the timed ones (first calls cost more)
# The GP hands out its initial design (max(10, dimension + 1) points at one worker) before
# its model, whatever it has observed: those suggestions are not timed either.
GP_UNTIMED = max(10, DIMENSIONS + 1) + WARM_UP
# A run of 64 workers on 10-second trials asks for a suggestion every 10 / 64 s.
GOAL_S = 10 / 64


def sphere(point: np.ndarray[Any, Any]) -> float:
    """The loss: the squared distance to (0.3, ..., 0.3), in any dimension."""
    return float(((point - 0.3) ** 2).sum())


Clocks = tuple[float, float]  # wall seconds, CPU seconds of this process


def clocks() -> Clocks:
    """Now, on the wall clock and on this process's CPU clock."""
    return time.perf_counter(), time.process_time()


def since(start: Clocks) -> Clocks:
    """Wall and CPU seconds since ``start``."""
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


# ---- the contenders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    """A searcher as this table measures it.

    Attributes:
        label: its name in the table.
        make: a new searcher.
        on_grid: it searches the discretised box (Int parameters) rather than the unit box.
        fed_own: it is fed by its own suggestions, not by trials built in memory.
        suggestions: how many suggestions are timed (`Options.repeat` overrides it).
        untimed: suggestions made, not timed, before the timed ones.
    """

    label: str
    make: Callable[[], Searcher]
    on_grid: bool = False
    fed_own: bool = False
    suggestions: int = SUGGESTIONS
    untimed: int = WARM_UP


CONTENDERS = (
    Contender("random", Random),
    Contender("sobol", Sobol),
    Contender("lhs", LatinHypercube),
    Contender("grid (5 x Int(0, 100))", Grid, on_grid=True),
    Contender("cmaes (own suggestions)", lambda: CMAES(restarts=None), fed_own=True),
    Contender("tpe", TPE),
    Contender("gp", GP, suggestions=GP_SUGGESTIONS, untimed=GP_UNTIMED),
)
GP_ALL = Contender(
    "gp max_observations=None",
    lambda: GP(max_observations=None),
    suggestions=GP_SUGGESTIONS,
    untimed=GP_UNTIMED,
)


def box(on_grid: bool) -> Space:
    """The unit box, or its grid of hundredths."""
    if on_grid:
        return Space({name: Int(0, GRID_STEPS) for name in NAMES})
    return Space({name: Float(0.0, 1.0) for name in NAMES})


def unit_point(config: Config, on_grid: bool) -> np.ndarray[Any, Any]:
    """A config's point in the unit box."""
    point = np.array([float(config[name]) for name in NAMES])
    return point / GRID_STEPS if on_grid else point


def config_at(point: Sequence[float], on_grid: bool) -> Config:
    """The config at a point of the unit box (its nearest grid point on the grid)."""
    if on_grid:
        return {name: round(x * GRID_STEPS) for name, x in zip(NAMES, point, strict=True)}
    return dict(zip(NAMES, point, strict=True))


def finished(trial_id: int, config: Config, on_grid: bool) -> Trial:
    """The finished trial of ``config``, scored by the sphere."""
    value = sphere(unit_point(config, on_grid))
    return Trial(trial_id, config, 0, Status.DONE, value=value)


def fresh(contender: Contender) -> Searcher:
    """A new searcher of ``contender``, set up on its space."""
    searcher = contender.make()
    searcher.setup(box(contender.on_grid), seed=0, workers=1, max_trials=None)
    return searcher


def feed(searcher: Searcher, contender: Contender, count: int) -> float:
    """Give ``searcher`` ``count`` finished trials; return the seconds it took.

    Trials built in memory (uniform points, the same for everyone) are observed; a
    searcher fed by its own suggestions suggests each one, then observes its result.
    """
    grid = contender.on_grid
    if contender.fed_own:
        start = time.perf_counter()
        for trial_id in range(count):
            config = searcher.suggest()
            assert config is not None, f"{contender.label} stopped suggesting at {trial_id}"
            searcher.observe(finished(trial_id, config, grid))
        return time.perf_counter() - start
    points = np.random.default_rng(0).random((count, DIMENSIONS)).tolist()
    trials = [finished(i, config_at(point, grid), grid) for i, point in enumerate(points)]
    start = time.perf_counter()
    for trial in trials:
        searcher.observe(trial)
    return time.perf_counter() - start


def suggestion_times(
    searcher: Searcher, contender: Contender, first_id: int, many: int
) -> list[Clocks]:
    """The wall and CPU seconds of ``many`` suggestions, after the contender's untimed ones,
    each followed by its result."""
    times = []
    for trial_id in range(first_id, first_id + contender.untimed + many):
        began = clocks()
        config = searcher.suggest()
        times.append(since(began))
        assert config is not None, f"{contender.label} stopped suggesting"
        searcher.observe(finished(trial_id, config, contender.on_grid))
    return times[contender.untimed :]


@dataclass(frozen=True)
class Figures:
    """What one searcher at one size measured.

    Attributes:
        feed_s: seconds to feed the observations.
        wall_ms: the median wall milliseconds of a suggestion.
        cpu_ms: the median CPU milliseconds of a suggestion (every thread of the process).
        suggestions: how many suggestions were timed.
    """

    feed_s: float
    wall_ms: float
    cpu_ms: float
    suggestions: int


def measure(contender: Contender, count: int, suggestions: int) -> Figures:
    """Feed a fresh searcher ``count`` observations, then time ``suggestions``."""
    searcher = fresh(contender)
    seconds = feed(searcher, contender, count)
    times = suggestion_times(searcher, contender, count, suggestions)
    wall = 1e3 * median(pair[0] for pair in times)
    return Figures(seconds, wall, 1e3 * median(pair[1] for pair in times), suggestions)


# ---- the table --------------------------------------------------------------------------------


def fmt_ms(ms: float) -> str:
    """Milliseconds: three decimals below 10, one above."""
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def row(contender: Contender, count: int, figures: Figures, goal_size: int | None) -> Row:
    """The table's row for ``figures``; judged against the goal at ``goal_size``."""
    cells = [
        f"{count:,}",
        fmt_s(figures.feed_s, 2),
        fmt_ms(figures.wall_ms),
        fmt_ms(figures.cpu_ms),
        str(figures.suggestions),
    ]
    judged = Row(contender.label, cells, ratio=figures.cpu_ms / (1e3 * GOAL_S))
    if count == goal_size:
        judged.goal = f"< {GOAL_S:.3f} s CPU"
        judged.passed = figures.cpu_ms < 1e3 * GOAL_S
        judged.achieved = f"{figures.cpu_ms / 1e3:.4f} s CPU"
    return judged


def searcher_table(
    sizes: Sequence[int],
    gp_all_sizes: Sequence[int],
    suggestions: int | None = None,
    contenders: Sequence[Contender] = CONTENDERS,
) -> Table:
    """Every contender at every size, then the uncapped GP at ``gp_all_sizes``; the goal is
    judged at the largest size. ``suggestions`` overrides each contender's count."""
    table = Table(
        f"B13 every searcher: time per suggestion in {DIMENSIONS}-D after that many "
        "observations; median of the suggestions counted",
        ["observations", "feed s", "wall ms", "CPU ms", "suggestions"],
        ratio_label=f"CPU / {GOAL_S:.3f} s",
    )
    goal_size = max(sizes)
    for contender in contenders:
        for count in sizes:
            figures = measure(contender, count, suggestions or contender.suggestions)
            table.add(row(contender, count, figures, goal_size))
    for count in gp_all_sizes:
        figures = measure(GP_ALL, count, suggestions or GP_ALL.suggestions)
        table.add(row(GP_ALL, count, figures, None))
    table.notes += notes(goal_size)
    return table


def run_searchers(options: Options) -> Table:
    """The table at the sizes ``options`` asks for."""
    quick = options.quick
    many = options.repeat or (QUICK_SUGGESTIONS if quick else None)
    return searcher_table(
        QUICK_SIZES if quick else SIZES, QUICK_GP_ALL_SIZES if quick else GP_ALL_SIZES, many
    )


def notes(goal_size: int) -> list[str]:
    """The table's notes."""
    return [
        f"A {DIMENSIONS}-D unit box (grid: each parameter Int(0, {GRID_STEPS}), hundredths "
        "of the range, as grid search needs a finite space), the sphere loss of the table "
        "above. 5-D rather than 10-D: a common size of tuning space, and CMA-ES's default "
        "population (8) stays small; the first table already shows TPE in 10-D.",
        "feed s: observing that many finished trials built in memory (uniform points, the "
        "same for every searcher; random, sobol, lhs and grid ignore them). CMA-ES learns "
        "only from its own candidates, so it is fed by that many suggest + observe pairs "
        "(restarts=None: it starts again when it converges), and its feed includes the "
        "learning after each generation, which falls in observe, not in suggest.",
        "wall ms, CPU ms: the median of one suggestion, each followed by its result, after "
        f"{WARM_UP} untimed ones (the GP: after its {GP_UNTIMED - WARM_UP}-point initial "
        "design too, which it hands out first whatever it has observed, and the first "
        "model suggestion, which fits the hyperparameters).",
        "gp fits at most max_observations=300 results (the best half and a seeded draw of "
        "the rest), so its model costs the same at any count; what still grows is the work "
        "each suggestion does over every result (the training set rebuilt, the values "
        "sorted, the points copied). With max_observations=None it fits every result and "
        "its time grows faster than the square of their number, about 4x from 1,000 to "
        "2,000 (so it is shown at small sizes only: at 10,000 one suggestion would take "
        "most of a minute).",
        f"Goal at {goal_size:,} observations: every searcher's median suggestion under "
        f"{GOAL_S:.3f} s of CPU ({GOAL_S:.3f} s = 10 s / 64: a 64-worker run of 10-second "
        "trials asks for one that often). The last column is that share of the "
        "0.156 s each row's median CPU time uses.",
    ]
