"""Serving the dashboard: the socket, the uvicorn server, in the foreground (`serve`) or on a
thread of its own for a notebook (`start`)."""

from __future__ import annotations

import errno
import html
import ipaddress
import os
import socket
import threading
from urllib.parse import quote

import uvicorn

from ..errors import ParatuneError
from ._app import create_app
from ._reader import Reader

STARTUP_TIMEOUT = 30.0
"""Seconds `start` waits for its server to listen."""


class DashboardError(ParatuneError):
    """The dashboard cannot serve as asked: the address is taken or cannot be listened on,
    or a host other than this machine's loopback was given without a token."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback only (``localhost``, 127.0.0.1, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access(host: str, token: str | None) -> None:
    """Refuse a host other than loopback without a token.

    Raises:
        DashboardError: naming why (what the dashboard shows).
    """
    if token is not None and not token:
        raise DashboardError("the token is empty: give one that is hard to guess")
    if token is None and not is_loopback(host):
        raise DashboardError(
            f"--host {host} would let anyone who can reach this machine read the store "
            "(configs, errors, tracebacks, host names): give --token TOKEN too (the URL "
            "printed then carries it), or keep the default host 127.0.0.1"
        )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free port).

    Raises:
        DashboardError: the port is in use, or the host cannot be listened on.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise DashboardError(f"cannot listen on host {host!r}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # lets a restart take the port its last run just left
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DashboardError(
                f"port {port} on {host} is in use: choose another with --port, or --port 0 "
                "for a free one"
            ) from exc
        raise DashboardError(f"cannot listen on {host} port {port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, host: str, token: str | None) -> str:
    """The address to open in a browser (with the token, when there is one)."""
    port = sock.getsockname()[1]
    shown = host.strip("[]")
    if shown in ("0.0.0.0", "::", ""):  # every interface: this machine's name reaches it
        shown = socket.gethostname()
    if ":" in shown:
        shown = f"[{shown}]"
    query = "" if token is None else f"?token={quote(token, safe='')}"
    return f"http://{shown}:{port}/{query}"


class _Server(uvicorn.Server):
    """A uvicorn server that says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


def _prepare(
    store: str | os.PathLike[str], host: str, port: int, token: str | None
) -> tuple[Reader, socket.socket, _Server, str]:
    """The reader of ``store``, the listening socket, the server and its URL."""
    check_access(host, token)
    reader = Reader(os.fspath(store))
    try:
        sock = listen(host, port)
    except BaseException:
        reader.close()
        raise
    config = uvicorn.Config(
        create_app(reader, token=token),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return reader, sock, _Server(config), url_of(sock, host, token)


def serve(
    store: str | os.PathLike[str] = "paratune.db",
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
) -> None:
    """Serve the dashboard of ``store`` until Ctrl-C, printing its URL first.

    Args:
        store: the SQLite store file, read only (a run may be writing to it).
        host: where to listen: this machine only by default; another host (``0.0.0.0``:
            every interface) needs a ``token``.
        port: the port (0: a free one).
        token: a secret every visitor must give once (the printed URL carries it).

    Raises:
        StoreError: no store there, not a paratune store, or a damaged one.
        DashboardError: the port is in use, the host cannot be listened on, or a host
            other than loopback was given without a token.
    """
    reader, sock, server, url = _prepare(store, host, port, token)
    print(f"paratune dashboard of {reader.path} at {url} (Ctrl-C stops it)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn stopped serving on the first Ctrl-C, then raised it again
    finally:
        sock.close()
        reader.close()


class Dashboard:
    """A dashboard served from a thread of this process, as `start` gives it; in a notebook
    it shows itself as the live page.

    Attributes:
        url: the address to open (with the token, when there is one).
    """

    def __init__(self, reader: Reader, sock: socket.socket, server: _Server, url: str) -> None:
        self.url = url
        self._reader, self._sock, self._server = reader, sock, server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="paratune-dashboard", daemon=True
        )
        self._thread.start()
        server.ready.wait(STARTUP_TIMEOUT)
        if not server.started:
            self.stop()
            raise DashboardError(f"the dashboard at {url} did not start")

    @property
    def running(self) -> bool:
        """Whether it still serves."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the store (a page open on it then stops updating)."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self._sock.close()
        self._reader.close()

    def _repr_html_(self) -> str:
        """The live page, inline (Jupyter shows this for the cell's value)."""
        url = html.escape(self.url, quote=True)
        return (
            f'<iframe src="{url}" width="100%" height="640" style="border: 0" '
            'title="paratune dashboard"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Dashboard(url={self.url!r}, running={self.running})"


def start(
    store: str | os.PathLike[str] = "paratune.db",
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
) -> Dashboard:
    """Serve the dashboard of ``store`` from a background thread and return at once, with
    the `Dashboard` that stops it; the arguments and errors are those of `serve`."""
    return Dashboard(*_prepare(store, host, port, token))
