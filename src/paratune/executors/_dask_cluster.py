"""A `Dask` executor's link to its cluster: a local cluster that paratune starts for one
run, a running cluster at an address, or a client passed in; and what the cluster's workers
offer.

The local cluster listens on 127.0.0.1 only (scheduler, nannies, workers and their HTTP
servers), serves no dashboard, and is closed with its worker processes when the run ends.
Its scheduler never reruns a task whose worker died (``allowed-failures`` 0): the executor
decides, so that moves are counted (see `Dask`).

A connection to an address is kept, by address and security, for later runs in this process:
connecting and closing a client are a large share of a short run's overhead.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from ..errors import ParatuneError
from ._dask_support import import_distributed, room_for

# The kept connections to running clusters, by (address, security).
_CLIENTS: dict[tuple[str, Any], Any] = {}
# How long (seconds) a client made by paratune holds a message to the scheduler so as to send
# it with others (Dask's default is 0.01).
_BATCH_WITHIN = 0.002
# What the local scheduler's HTTP server answers: a health check only. Dask's default pages
# (logs, call stacks, task details) would be open to every user of the machine.
_HTTP_ROUTES = ["distributed.http.health"]
# Seconds to wait for the local cluster's processes to end as it closes.
_CLOSE_WITHIN = 10.0


class Link:
    """The connection of one `Dask` executor, made when first needed and dropped by `close`.

    Args:
        address: a scheduler's address, a `distributed.Client`, or None for a local cluster.
        n_workers: the local cluster's worker processes (None: as the CPUs allow).
        threads_per_worker: threads of each local worker.
        resources: what each local worker offers, as Dask spells it (``{"CPU": 1}``).
        security: a `distributed.Security`, or None.
        timeout: seconds to wait for the scheduler, and for a first worker.
    """

    def __init__(
        self,
        address: Any,
        *,
        n_workers: int | None,
        threads_per_worker: int,
        resources: dict[str, float],
        security: Any,
        timeout: float,
    ) -> None:
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.resources = resources
        self.security = security
        self.timeout = timeout
        self.client: Any = None  # distributed.Client, while connected
        self.cluster: Any = None  # the local cluster, while it runs

    def connect(self) -> Any:
        """The client, connecting first if need be (starting the local cluster), then waiting
        for a first worker. A cluster started here is closed again if that fails or is
        interrupted.

        Raises:
            ParatuneError: the scheduler did not answer, or no worker joined, in time.
        """
        if self.client is not None:
            return self.client
        try:
            if self.address is None:
                self.cluster, self.client = start_local(
                    self.local_count(), self.threads_per_worker, self.resources, self.security
                )
            elif isinstance(self.address, str):
                self.client = connect(self.address, self.security, self.timeout)
            else:
                self.client = self.address
            self.client.wait_for_workers(1, timeout=self.timeout)
        except BaseException as exc:  # also Ctrl-C
            where = self.where()
            self.close()
            if isinstance(exc, OSError | TimeoutError):
                raise ParatuneError(
                    f"cannot use the Dask cluster at {where}: {type(exc).__name__}: {exc}"
                ) from exc
            raise
        return self.client

    def local_count(self) -> int:
        """The local cluster's worker processes: ``n_workers``, else as many as the CPUs
        (Dask's count, which heeds CPU affinity and cgroup limits) give threads."""
        import_distributed()
        from dask.system import CPU_COUNT

        return self.n_workers or max(1, CPU_COUNT // self.threads_per_worker)

    def offers(self) -> dict[str, tuple[int, Mapping[str, float]]]:
        """Each worker's threads and resources, by address; a local cluster that has not
        started is described by its arguments (its workers numbered) rather than started."""
        if self.address is None and self.client is None:
            offer = (self.threads_per_worker, self.resources)
            return {str(number): offer for number in range(self.local_count())}
        info = self.connect().scheduler_info(n_workers=-1)["workers"]
        return {
            str(address): (int(i.get("nthreads", 1)), i.get("resources") or {})
            for address, i in info.items()
        }

    def room(self, need: Mapping[str, float]) -> dict[str, int]:
        """Each worker, and how many trials needing ``need`` (Dask resources) it runs at
        once: its threads, or fewer when resources are the limit."""
        offers = self.offers().items()
        return {address: room_for(threads, offer, need) for address, (threads, offer) in offers}

    def where(self) -> str:
        """The cluster, in words for messages."""
        if isinstance(self.address, str):
            return self.address
        if self.client is not None and self.address is not None:
            return str(self.client.scheduler.address)
        return "a local cluster" if self.address is None else repr(self.address)

    def close(self) -> None:
        """Drop the connection: close the local cluster (with its processes) if one was
        started, else the client unless it is kept or was passed in. Safe to call twice."""
        client, self.client = self.client, None
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            close_local(cluster, client)
        elif isinstance(self.address, str) and client is not None:
            let_go(self.address, self.security, client)


def start_local(
    n_workers: int, threads_per_worker: int, resources: dict[str, float], security: Any
) -> tuple[Any, Any]:
    """Start a cluster of ``n_workers`` worker processes (each under a nanny) on 127.0.0.1;
    return it and a client connected to it. Closed again if the start fails or is
    interrupted."""
    distributed = import_distributed()
    import dask

    with dask.config.set({"distributed.scheduler.http.routes": _HTTP_ROUTES}):
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            resources=resources,
            security=security,
            # A free port for the HTTP server (Dask's default, 8787, may be taken).
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0", "allowed_failures": 0},
        )
    try:
        client = distributed.Client(cluster, security=security)
    except BaseException:
        cluster.close(timeout=_CLOSE_WITHIN)
        raise
    send_sooner(client)
    return cluster, client


def close_local(cluster: Any, client: Any) -> None:
    """Close the client, then the cluster, whose nannies stop their worker processes and wait
    for them to end. The cluster is closed also when closing the client fails, and through
    a Ctrl-C (re-raised once it is closed): else its processes would outlive the run."""
    try:
        if client is not None:
            client.close(timeout=5)
    finally:
        try:
            cluster.close(timeout=_CLOSE_WITHIN)
        except KeyboardInterrupt:
            cluster.close(timeout=_CLOSE_WITHIN)  # the interrupted close was cancelled
            raise


def connect(address: str, security: Any, timeout: float) -> Any:
    """A client of the scheduler at ``address``: the kept one, or a new one, then kept."""
    client = _CLIENTS.get((address, security))
    if client is None or client.status != "running":
        client = import_distributed().Client(address, security=security, timeout=timeout)
        send_sooner(client)
        if not _CLIENTS:
            atexit.register(_close_kept_clients)
        # The Security object itself is the key (hashed by identity), not its id: the key
        # keeps it alive, so a later object cannot take its id and reuse a client made
        # without it.
        _CLIENTS[(address, security)] = client
    return client


def let_go(address: str, security: Any, client: Any) -> None:
    """A run no longer needs ``client``: close it unless it is the kept connection to
    ``address`` and still usable (a broken one is forgotten and closed)."""
    kept = _CLIENTS.get((address, security))
    if kept is not None and kept is client:
        if kept.status == "running":
            return
        del _CLIENTS[(address, security)]
    client.close(timeout=5)


def disconnect() -> None:
    """Close every kept connection."""
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        with contextlib.suppress(Exception):
            client.close(timeout=2)


def send_sooner(client: Any) -> None:
    """Let a client that paratune made batch its messages to the scheduler over 2 ms rather
    than Dask's 10: jobs sent just after other messages (the run's subscriptions, the answer
    to a report, a result's release) would otherwise wait up to 10 ms, each time."""
    comm: Any = getattr(client, "scheduler_comm", None)
    interval = getattr(comm, "interval", None)
    if isinstance(interval, float):  # a private detail of Dask's: left alone if it changes
        comm.interval = min(interval, _BATCH_WITHIN)


def _close_kept_clients() -> None:
    """Close the kept connections as the process ends. A client whose scheduler went first
    is still trying to reconnect, and would log an error as it is closed: nothing is lost
    by then, so that log is silenced."""
    if any(client.status == "connecting" for client in _CLIENTS.values()):
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    disconnect()
