"""Per-trial resources: what a trial asks for, what a machine has, and how the process
executor splits one into slots (cores pinned, GPUs made visible) so running trials never
share more than there is."""

from __future__ import annotations

import math
import numbers
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

_NAMES = ("cpus", "gpus")


class Resources(NamedTuple):
    """What one trial needs while it runs (0: nothing of that kind).

    Attributes:
        cpus: cores (may be fractional: 0.5 lets two trials share one core).
        gpus: GPUs (may be fractional: 0.5 lets two trials share one GPU).

    Example:
        >>> parse_resources({"cpus": 2, "gpus": 1})
        Resources(cpus=2.0, gpus=1.0)
    """

    cpus: float = 0.0
    gpus: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The resources asked for, as the ``resources`` argument spells them."""
        return {name: value for name, value in zip(_NAMES, self, strict=True) if value}


class Placement(NamedTuple):
    """What one worker slot of the process executor gets: the cores its process is pinned to
    (empty: not pinned) and the GPU ids it sees through ``CUDA_VISIBLE_DEVICES``."""

    cores: tuple[int, ...]
    gpus: tuple[str, ...]


def parse_resources(value: Any) -> Resources | None:
    """Check a ``resources`` argument, ``{"cpus": 2, "gpus": 1}``; None or ``{}`` asks for
    nothing (None is returned).

    Raises:
        ValueError: naming ``resources`` and the bad entry.
    """
    if value is None:
        return None
    if isinstance(value, Resources):
        return value if any(value) else None
    if not isinstance(value, Mapping):
        raise ValueError(
            f"resources must be a mapping such as {{'cpus': 2, 'gpus': 1}}, "
            f"got {type(value).__name__} {value!r}"
        )
    numbers_: dict[str, float] = {}
    for name, amount in value.items():
        if name not in _NAMES:
            raise ValueError(
                f"resources: unknown resource {name!r}; expected 'cpus' and/or 'gpus'"
            )
        if not _positive(amount):
            raise ValueError(f"resources[{name!r}] must be a finite number > 0, got {amount!r}")
        numbers_[name] = float(amount)
    return Resources(**numbers_) if numbers_ else None


def _positive(amount: Any) -> bool:
    """True for a finite real number > 0 (a bool is no number here)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        return False
    try:
        return 0 < float(amount) < math.inf
    except OverflowError:  # an integer too large for a float
        return False


def visible_cpus() -> list[int]:
    """The cores this process may run on (its affinity where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))  # pragma: no cover - macOS, Windows


def visible_gpus() -> list[str]:
    """The GPUs this process sees: ``CUDA_VISIBLE_DEVICES`` when it is set, else one id per
    line of ``nvidia-smi -L`` when that command exists, else none."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [item.strip() for item in listed.split(",") if item.strip()]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    listed_gpus = [line for line in out.splitlines() if line.startswith("GPU ")]
    return [str(index) for index in range(len(listed_gpus))]


def plan_slots(
    resources: Resources,
    *,
    cpus: Sequence[int],
    gpus: Sequence[str],
    workers: int | None,
) -> list[Placement]:
    """Split ``cpus`` and ``gpus`` into as many slots as trials of ``resources`` fit (at most
    ``workers``). Slot i gets the cores and GPUs at positions [i x need, (i + 1) x need), so
    whole-number requests never overlap and fractional ones share only what they must.

    Raises:
        ValueError: not even one trial fits; the message says what was asked and what is
            there.
    """
    fits = [workers if workers is not None else math.inf]
    for name, need, have in (("cpus", resources.cpus, cpus), ("gpus", resources.gpus, gpus)):
        if not need:
            continue
        count = math.floor(Fraction(len(have)) / _exact(need))
        if count < 1:
            there = f"{len(have)} ({', '.join(map(str, have))})" if have else "none"
            raise ValueError(
                f"resources: a trial asks for {need:g} {name} but this machine has {there}"
            )
        fits.append(count)
    slots = min(fits)
    if slots == math.inf:  # pragma: no cover - parse_resources never returns empty
        raise ValueError("resources: nothing asked for")
    return [
        Placement(
            tuple(_share(cpus, resources.cpus, i)) if resources.cpus else (),
            tuple(str(g) for g in _share(gpus, resources.gpus, i)),
        )
        for i in range(int(slots))
    ]


def _exact(need: float) -> Fraction:
    """``need`` as a fraction with a small denominator (0.1 is 1/10, not 0.1000000000000000055)."""
    return Fraction(need).limit_denominator(1000)


def _share(items: Sequence[Any], need: float, index: int) -> Sequence[Any]:
    """The items of slot ``index`` when each slot needs ``need`` of them."""
    if not need:
        return ()
    step = _exact(need)
    return items[math.floor(index * step) : math.ceil((index + 1) * step)]


def apply_placement(placement: Placement) -> None:
    """Pin this process to the placement's cores (where the platform can) and show it only the
    placement's GPUs. Called in a worker process before the objective is even loaded, so a
    library that reads ``CUDA_VISIBLE_DEVICES`` once, at import, sees the right value."""
    if placement.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, placement.cores)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(placement.gpus)
