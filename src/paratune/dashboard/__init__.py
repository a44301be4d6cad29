"""paratune.dashboard: a live web view of a store, read-only, while runs write to it
(``pip install 'paratune[dashboard]'``; ``paratune dashboard`` on the command line).

`serve` serves it until Ctrl-C; `start` serves it from a thread of this process and returns
a `Dashboard`, which a notebook shows inline as the live page::

    import paratune.dashboard

    board = paratune.dashboard.start("paratune.db")
    board          # in Jupyter: the page, in the cell's output
    board.url      # or open this address in a browser
    board.stop()

The server reads the store on a connection of its own in short read transactions, never
writes it, and shares one reading per store change between every open page, so a run
writing to the store is not slowed down. It listens on this machine's loopback only unless
given a token (then any host): the page shows configs, errors and tracebacks.
"""

from __future__ import annotations

import importlib.util

for _module in ("starlette", "uvicorn", "plotly"):
    if importlib.util.find_spec(_module) is None:
        raise ImportError(
            f"paratune.dashboard needs {_module}, which is not installed: "
            "pip install 'paratune[dashboard]'"
        )

from ._server import Dashboard, DashboardError, serve, start  # noqa: E402

__all__ = ["Dashboard", "DashboardError", "serve", "start"]
