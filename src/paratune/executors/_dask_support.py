"""The Dask executor's small parts: argument checks, resource names as Dask spells them,
error messages, and shipping an objective's own module with it."""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import re
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import cloudpickle

from .._checks import is_whole
from ..errors import ParatuneError
from ._base import Objective
from ._resources import Resources


def check_arguments(
    address: Any,
    *,
    n_workers: int | None,
    workers: int | None,
    threads_per_worker: int,
    resources: Any,
    timeout: float,
    worker_loss_retries: int,
) -> None:
    """Refuse bad `Dask` arguments with a message that names them."""
    if not is_whole(worker_loss_retries):
        raise ValueError(
            f"worker_loss_retries must be an integer >= 0, got {worker_loss_retries!r}"
        )
    for name, number in (("n_workers", n_workers), ("workers", workers)):
        if number is not None and not is_whole(number, 1):
            raise ValueError(f"{name} must be a positive integer, got {number!r}")
    if isinstance(threads_per_worker, bool) or not isinstance(threads_per_worker, int):
        raise ValueError(
            f"threads_per_worker must be a positive integer, got {threads_per_worker!r}"
        )
    if threads_per_worker < 1:
        raise ValueError(f"threads_per_worker must be >= 1, got {threads_per_worker}")
    if address is not None and (n_workers is not None or resources is not None):
        raise ValueError(
            "n_workers and resources describe a local cluster; with an address, start "
            'the workers yourself (dask worker ADDRESS --resources "CPU=4,GPU=1")'
        )
    if not isinstance(address, str | None) and not hasattr(address, "submit"):
        raise ValueError(
            f"address must be a scheduler address or a distributed.Client, got {address!r}"
        )
    if isinstance(address, str):
        check_address(address)
    if not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be seconds > 0, got {timeout!r}")


# The protocols a Dask scheduler listens on, as its address spells them.
_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def check_address(address: str) -> None:
    """Refuse a scheduler address that Dask could not connect to, before anything starts:
    ``[protocol://]host:port``, as ``dask scheduler`` prints it.

    Raises:
        ValueError: the address is malformed; the message says what was expected.
    """
    expected = (
        f"address must be a Dask scheduler address, PROTOCOL://HOST:PORT such as "
        f"'tcp://head:8786' (protocol one of {', '.join(_PROTOCOLS)}; port 1-65535), "
        f"got {address!r}"
    )
    full = address if "://" in address else f"tcp://{address}"  # Dask's default protocol
    url = urlsplit(full)
    try:
        port = url.port
    except ValueError:  # not a number, or out of range
        port = None
    host = url.hostname or ""
    if (
        full.split("://", 1)[0] not in _PROTOCOLS  # as written: Dask's are lower case
        or not port
        or url.path
        or url.query
        or url.fragment
        or url.username is not None
        or not (_HOST_NAME.fullmatch(host) or _is_ip6(host))
    ):
        raise ValueError(expected)


def _is_ip6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def pickled_by_value(*functions: Objective | None) -> Iterator[None]:
    """Pickle the own modules of ``functions`` (the objective, the setup; the function a
    `functools.partial` wraps) by value when they are not installed packages nor the
    standard library's (a script, or a spec's objective module beside it), so that workers
    on other machines need not have the files: only the packages they import."""
    modules = {}
    for function in functions:
        function = getattr(function, "func", function)  # a partial's function
        module = sys.modules.get(getattr(function, "__module__", "") or "")
        if module is not None and _own(module):
            modules[module.__name__] = module
    for module in modules.values():
        cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        for module in modules.values():
            cloudpickle.unregister_pickle_by_value(module)


def _own(module: Any) -> bool:
    """Whether ``module`` is a file of the user's: not a script's ``__main__``, nor in an
    installed package or the standard library."""
    file = getattr(module, "__file__", None)
    if file is None or module.__name__ == "__main__":
        return False
    installed = {sysconfig.get_path(kind) for kind in ("purelib", "platlib", "stdlib")}
    path = os.path.abspath(file)
    return not any(path.startswith(os.path.abspath(folder) + os.sep) for folder in installed)


def task_error(exc: BaseException | None) -> str:
    """Why a task failed outside the objective (which `run_job` reports itself)."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"Dask gave up on its task: workers died while running it ({exc})"
    return f"its Dask task failed: {name}: {exc}"


def dask_resources(resources: Resources) -> dict[str, float]:
    """paratune's resource names as Dask's worker resources spell them."""
    return {
        name: amount
        for name, amount in (("CPU", resources.cpus), ("GPU", resources.gpus))
        if amount
    }


def dask_spelling(resources: Resources) -> str:
    """``CPU=2,GPU=1``, as ``dask worker --resources`` takes them."""
    return ",".join(f"{name}={amount:g}" for name, amount in dask_resources(resources).items())


def import_distributed() -> Any:
    """The ``distributed`` module, or an error that names the extra to install."""
    try:
        import distributed
    except ImportError as exc:
        raise ParatuneError(
            "executor 'dask' needs Dask's distributed scheduler: pip install 'paratune[dask]'"
        ) from exc
    return distributed


def room_for(threads: int, offers: Mapping[str, float], need: Mapping[str, float]) -> int:
    """How many trials needing ``need`` (Dask resources) a worker with ``threads`` threads
    and ``offers`` runs at once."""
    fits = [threads] + [math.floor(offers.get(name, 0) / need[name] + 1e-9) for name in need]
    return min(fits)


def spell_offers(offers: Iterable[Mapping[str, float]]) -> str:
    """What workers offer, each kind once: ``CPU=1; CPU=2,GPU=1``."""
    spelled = {",".join(f"{k}={v:g}" for k, v in sorted(o.items())) or "nothing" for o in offers}
    return "; ".join(sorted(spelled))


def split(
    keys: list[str], places: list[tuple[str, bool]]
) -> tuple[dict[str, list[list[str]]], set[str]]:
    """Spread jobs over as many tasks as there are ``places`` (at least one), each task a
    run of consecutive jobs; return the tasks by worker address, and the first key of each
    task that is to wait in a queue."""
    count = min(len(places), len(keys))
    size, extra = divmod(len(keys), count)
    by_worker: dict[str, list[list[str]]] = {}
    queued: set[str] = set()
    begin = 0
    for index in range(count):
        end = begin + size + (index < extra)
        address, behind = places[index]
        by_worker.setdefault(address, []).append(keys[begin:end])
        if behind:
            queued.add(keys[begin])
        begin = end
    return by_worker, queued


def placements(
    room: Mapping[str, int], tasks: Mapping[str, int], depth: int, limit: int
) -> list[tuple[str, bool]]:
    """A worker address for each task that may be sent now, given each worker's ``room`` and
    the ``tasks`` of ours it has: idle threads first, then places in the queues (marked True)
    up to ``depth`` tasks per thread, taking the workers in turn so that tasks spread out; no
    more than ``limit``."""
    idle = {a: fits - tasks.get(a, 0) for a, fits in room.items()}
    queued = {a: fits * depth - max(tasks.get(a, 0), fits) for a, fits in room.items()}
    places = [(a, False) for a in in_turn(idle)] + [(a, True) for a in in_turn(queued)]
    return places[: max(0, limit)]


def in_turn(counts: Mapping[str, int]) -> list[str]:
    """Each address as many times as its count, taking the addresses in turn:
    ``{"a": 2, "b": 1}`` gives ``["a", "b", "a"]``."""
    order: list[str] = []
    left = {address: count for address, count in counts.items() if count > 0}
    while left:
        for address in list(left):
            order.append(address)
            left[address] -= 1
            if not left[address]:
                del left[address]
    return order


def lost_reason(worker: str, moved: int, allowed: int) -> str:
    """Why a trial failed when its worker was lost and it may move no more."""
    earlier = f", after {moved} earlier loss{'es' if moved > 1 else ''}" if moved else ""
    return (
        f"Dask worker {worker} was lost while it ran the trial{earlier} "
        f"(worker_loss_retries={allowed})"
    )
