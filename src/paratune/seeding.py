"""Seeds: one per trial, derived from the experiment seed and the trial id."""

from __future__ import annotations

import importlib.util
import random
import sys

import numpy as np

_MASK64 = (1 << 64) - 1


def trial_seed(experiment_seed: int, trial_id: int) -> int:
    """Return the seed of trial ``trial_id`` in an experiment seeded with ``experiment_seed``.

    A SplitMix64 step over the pair: cheap (a few hundred nanoseconds, so it costs nothing per
    trial), different for every trial, and the same on every machine and executor. The result
    is below 2**63 so every library accepts it.

    >>> trial_seed(0, 0) == trial_seed(0, 0) != trial_seed(0, 1)
    True
    """
    z = (experiment_seed * 0x9E3779B97F4A7C15 + (trial_id + 1) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and, when importable, torch.

    Call it at the top of an objective with ``ctx.seed`` when the objective (or a library it
    calls) draws from global generators. paratune does not call it for you, nor reseeds
    these generators between trials: seeding NumPy's global state costs more than a whole
    trial of a cheap objective.

    Not on threads: these generators belong to the whole process, so on the thread executor
    (or a Dask worker with several threads) the trials running at once share them, one
    trial's call resets what another is drawing, and neither is reproducible. The simulated
    executor moves from one trial to another at each ``ctx.report``, so a trial that draws
    after a report shares them too. There, give each trial generators of its own:
    ``np.random.default_rng(ctx.seed)``, ``random.Random(ctx.seed)``,
    ``torch.Generator().manual_seed(ctx.seed)``.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules or importlib.util.find_spec("torch") is not None:
        torch = importlib.import_module("torch")
        torch.manual_seed(seed)
