"""Test helpers for code built on paratune; they need pytest.

Subclass `SearcherContract` to check a searcher of your own::

    from paratune.testing import SearcherContract

    class TestMySearcher(SearcherContract):
        def make_searcher(self):
            return MySearcher()
"""

from __future__ import annotations

import pytest

# Before the import below, so that failed checks show the values compared.
pytest.register_assert_rewrite("paratune.testing.searchers")

from .searchers import SearcherContract  # noqa: E402

__all__ = ["SearcherContract"]
