"""The Dask executor's small parts: argument checks, resource names as Dask spells them,
error messages, and shipping an objective's own module with it."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

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
) -> None:
    """Refuse bad `Dask` arguments with a message that names them."""
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
    if not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be seconds > 0, got {timeout!r}")


@contextlib.contextmanager
def pickled_by_value(objective: Objective) -> Iterator[None]:
    """Pickle the objective's own module by value when it is not an installed package (a
    script, or a spec's objective module beside it), so that workers on other machines need
    not have the file: only the packages it imports."""
    module = sys.modules.get(getattr(objective, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    installed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    if (
        module is None
        or file is None
        or module.__name__ == "__main__"
        or any(
            os.path.abspath(file).startswith(os.path.abspath(folder) + os.sep)
            for folder in installed
        )
    ):
        yield
        return
    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)


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
