"""What a `Dask` executor's cluster offers its trials: each worker's room, how many trials run
at once, and whether the scheduler is still there."""

from __future__ import annotations

import time

from ..errors import ParatuneError
from ._dask_cluster import Link
from ._dask_support import dask_resources, dask_spelling, spell_offers
from ._resources import Resources


class Survey:
    """The workers of one `Dask` executor's cluster as its trials see them.

    Each worker's room (how many of the trials it runs at once: its threads, or fewer when
    per-trial resources are the limit) is surveyed once and kept until a worker joins or
    leaves (`stale`).

    Args:
        link: the executor's connection.
        workers: the most trials at once, or None for what the cluster runs at once.
        wait: seconds to wait for a worker with room to join before giving up.
    """

    def __init__(self, link: Link, workers: int | None, wait: float) -> None:
        self.link = link
        self.asked = workers
        self.wait = wait
        self.trial_resources: Resources | None = None
        self.room: dict[str, int] = {}  # worker address -> trials it runs at once
        # Set from the client's thread when workers join or leave: `room` is out of date.
        self.stale = True
        self.lost: ParatuneError | None = None  # set once the scheduler is unreachable
        self._workers: int | None = None
        self._roomless_since: float | None = None

    @property
    def workers(self) -> int:
        """How many trials run at once: ``workers`` if given, else what the cluster runs at
        once (a local cluster's from its arguments, without starting it; a running
        cluster's from its scheduler, connecting if need be)."""
        if self._workers is None:
            self._workers = self.asked or self._capacity()
        return self._workers

    def present(self, workers: int) -> int:
        """Of ``workers``, how many trials the workers as last surveyed run at once; all of
        them before a first survey."""
        if self.stale and not self.room:  # not surveyed since the connection was made
            return workers
        return min(workers, sum(self.room.values()))

    def use_resources(self, resources: Resources) -> None:
        """Give every trial ``resources``, and check that some worker can run such a trial
        (connecting to a running cluster to ask).

        Raises:
            ValueError: no worker of the cluster offers that much.
        """
        self.trial_resources = resources
        self._workers = None
        if self._capacity() == 0:
            offers = spell_offers(offer for _, offer in self.link.offers().values())
            needs = dask_spelling(resources)
            raise ValueError(
                f"resources: no worker of the Dask cluster ({self.link.where()}) can run a "
                f"trial that needs {needs}: its workers offer {offers}; start workers with "
                f'dask worker --resources "{needs}"'
            )

    def refresh(self) -> bool:
        """Survey the workers again if they changed since the last survey; True if so."""
        if not self.stale:
            return False
        self.stale = False
        self.room = self._rooms()
        return True

    def _rooms(self) -> dict[str, int]:
        """Each worker, and how many of our trials it runs at once."""
        return self.link.room(dask_resources(self.trial_resources or Resources()))

    def _capacity(self) -> int:
        """Trials the cluster's workers run at once (with the per-trial resources); a survey
        of a connected cluster is kept."""
        room = self._rooms()
        if self.link.client is not None:
            self.room, self.stale = room, False
        return sum(room.values())

    def room_found(self) -> None:
        """Some worker has room again: a later wait for room starts afresh."""
        self._roomless_since = None

    def room_wait(self) -> float:
        """Seconds left to wait for a worker with room, counted from the first call since
        `room_found`.

        Raises:
            ParatuneError: none has had room for ``wait`` seconds.
        """
        now = time.monotonic()
        if self._roomless_since is None:
            self._roomless_since = now
        left = self._roomless_since + self.wait - now
        if left <= 0:
            raise ParatuneError(
                f"no worker of the Dask cluster ({self.link.where()}) can run the trials: none "
                f"has joined for {self.wait:g} s"
            )
        return left

    def check_scheduler(self) -> None:
        """Raise `ParatuneError` once the client has lost the scheduler."""
        client = self.link.client
        if self.lost is None and client is not None:
            if client.status not in ("running", "newly-created"):
                self.lost = ParatuneError(
                    f"the Dask scheduler at {self.link.where()} is unreachable "
                    f"(client {client.status}); trials finished so far are in the store, "
                    "and the run can be resumed once the cluster is back"
                )
        if self.lost is not None:
            raise self.lost

    def begin(self) -> None:
        """A run begins on this connection: settle the worker count, and survey the
        workers before the first job."""
        self.workers  # noqa: B018 - a property that surveys when the count is not known
        self.lost = None
        self.stale = True

    def forget(self) -> None:
        """The connection is dropped: forget its workers (and the count, unless asked)."""
        self._workers = None if self.asked is None else self._workers
        self.room, self.stale = {}, True
