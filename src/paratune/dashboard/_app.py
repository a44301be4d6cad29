"""The dashboard's web application (Starlette): the page, its static files, Plotly's own
script and the JSON API over a `Reader`.

Who may ask: with a token, a request shows it once (``?token=``, which sets a cookie) or
shows the cookie; without one (a server on this machine's loopback only), a request must
name this machine as its host, so that a web page elsewhere cannot read the store through
the user's browser by pointing a name of its own at 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.util
import ipaddress
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import StoreError
from ._reader import BadRequest, NotFound, Reader

STATIC = Path(__file__).with_name("static")
"""The page's files: index.html, its scripts and styles."""

_NO_STORE = {"cache-control": "no-store"}

COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"
"""Served before Plotly's script: Chromium's JavaScript engine then compiles the whole
script on a background thread while it arrives, rather than function by function on the
page's one thread as it first runs (most of the second its first run takes). Other
browsers read a comment."""


def plotly_script() -> Path | None:
    """The installed plotly package's own ``plotly.min.js`` (None without plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


def create_app(reader: Reader, *, token: str | None = None) -> ASGIApp:
    """The dashboard over ``reader``: the routes of the page and of its API, behind the
    token (``token``) or, without one, behind the check that requests name this machine."""
    routes = [
        Route("/", _page),
        Route("/experiment/{name:path}", _page),
        Route("/trial/{name:path}/{trial_id:int}", _page),
        Route("/static/plotly.min.js", _plotly),
        Mount("/static", StaticFiles(directory=STATIC, check_dir=False)),
        Route("/api/experiments", _api(lambda _: reader.experiments())),
        Route(
            "/api/experiments/{name:path}/trials/{trial_id:int}",
            _api(lambda r: reader.trial(r.path_params["name"], r.path_params["trial_id"])),
        ),
        Route(
            "/api/experiments/{name:path}/efficiency",
            _api(lambda r: reader.efficiency(r.path_params["name"])),
        ),
        Route(
            "/api/experiments/{name:path}",
            _api(lambda r: reader.experiment(r.path_params["name"], r.query_params.get("since"))),
        ),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return _Guard(app, token)


def _error(status: int, message: str) -> Response:
    return Response(
        json.dumps({"error": message}),
        status_code=status,
        media_type="application/json",
        headers=_NO_STORE,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, a static file missing) as JSON."""
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, f"{exc.detail}: {request.url.path}")


def _api(answer: Callable[[Request], str]) -> Callable[[Request], Response]:
    """An API endpoint giving ``answer``'s JSON text (run in a worker thread: it reads)."""

    def endpoint(request: Request) -> Response:
        try:
            body = answer(request)
        except NotFound as exc:
            return _error(404, str(exc))
        except BadRequest as exc:
            return _error(400, str(exc))
        except (StoreError, sqlite3.Error) as exc:
            return _error(500, f"reading the store failed: {exc}")
        return Response(body, media_type="application/json", headers=_NO_STORE)

    return endpoint


def _page(request: Request) -> Response:
    """The single-page app, whatever page of it is asked (it reads the path itself)."""
    index = STATIC / "index.html"
    if not index.is_file():
        return _error(500, "the dashboard's page is missing from this installation")
    return FileResponse(index, headers={"cache-control": "no-cache"})


def _plotly(request: Request) -> Response:
    script = plotly_script()
    if script is None or not script.is_file():
        return _error(404, "plotly is not installed: pip install 'paratune[dashboard]'")
    body = _plotly_body(script, script.stat().st_mtime_ns)
    return Response(body, media_type="text/javascript", headers={"cache-control": "max-age=86400"})


@functools.lru_cache(maxsize=1)
def _plotly_body(script: Path, mtime_ns: int) -> bytes:
    """Plotly's script after the compile hint, read once (again if the file changes)."""
    return COMPILE_HINT + script.read_bytes()


class _Guard:
    """Lets through only the requests the dashboard's access rule allows (see the module)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.digest = None if token is None else _digest(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.digest is None:
            if not _names_this_machine(request.headers.get("host")):
                await _error(403, "this dashboard answers requests to 127.0.0.1 or localhost")(
                    scope, receive, send
                )
                return
            await self.app(scope, receive, send)
            return
        cookie = f"paratune_dashboard_{(scope.get('server') or ('', 0))[1]}"
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(_digest(given), self.digest):
            await self.app(scope, receive, _setting_cookie(send, cookie, self.digest))
        elif hmac.compare_digest(request.cookies.get(cookie, ""), self.digest):
            await self.app(scope, receive, send)
        else:
            message = "this dashboard needs its token: open the URL it printed (with ?token=)"
            await _error(403, message)(scope, receive, send)


def _digest(token: str) -> str:
    """What the cookie holds: the token's hash, not the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _setting_cookie(send: Send, name: str, value: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.append("set-cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Lax")
        await send(message)

    return sending


def _names_this_machine(host: str | None) -> bool:
    """Whether a request's Host header names this machine's loopback (or is absent)."""
    if not host:
        return True
    name = host[1:].partition("]")[0] if host.startswith("[") else host.rpartition(":")[0]
    name = name or host  # no port given
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
