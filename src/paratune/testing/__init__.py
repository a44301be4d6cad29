"""Test suites for parts built on paratune; they need pytest.

Each is a pytest base class: subclass it, say how to make your part, and pytest runs every
check of the protocol against it. `SearcherContract` checks a searcher, `SchedulerContract`
a scheduler, `ExecutorContract` an executor and `StoreContract` a store::

    from paratune.testing import SearcherContract

    class TestMySearcher(SearcherContract):
        def make_searcher(self):
            return MySearcher()
"""

from __future__ import annotations

import pytest

# Before the imports below, so that failed checks show the values compared.
pytest.register_assert_rewrite(
    "paratune.testing.executors",
    "paratune.testing.searchers",
    "paratune.testing.schedulers",
    "paratune.testing.stores",
)

from .executors import ExecutorContract  # noqa: E402
from .schedulers import SchedulerContract  # noqa: E402
from .searchers import SearcherContract  # noqa: E402
from .stores import StoreContract  # noqa: E402

__all__ = ["ExecutorContract", "SchedulerContract", "SearcherContract", "StoreContract"]
