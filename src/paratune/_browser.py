"""Open an HTML file in headless Chromium and say how it went: console errors, images that
did not decode, requests that left the machine, and a screenshot.

It speaks the DevTools protocol over a pair of pipes (``--remote-debugging-pipe``: JSON
messages ended by a NUL byte on file descriptors 3 and 4 of the browser), so it needs no
driver, no package and no network port. Used by the report's tests and by the example that
draws the screenshot in the docs.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags for a quiet, sandbox-free (root in a container), offline headless browser.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable: ``$PARATUNE_CHROMIUM`` or the first on PATH."""
    named = os.environ.get("PARATUNE_CHROMIUM")
    if named:
        return named
    for name in _BINARIES:
        if found := shutil.which(name):
            return found
    return None


@dataclass
class PageCheck:
    """What opening a page showed.

    Attributes:
        console_errors: console ``error`` messages, uncaught exceptions and browser log
            errors, as text.
        images: one dict per ``<img>``: ``src`` (its first 60 characters), ``ok`` (it
            decoded) and ``width`` (its natural width in pixels).
        external_requests: URLs the page asked for that are neither ``data:`` nor ``file:``.
        screenshot: the PNG written, or None.
    """

    console_errors: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None


class _Pipe:
    """One DevTools session over the browser's pipes, read with a deadline."""

    def __init__(self, to_browser: int, from_browser: int, timeout: float) -> None:
        self._out, self._in = to_browser, from_browser
        self._buffer = b""
        self._next_id = 0
        self._deadline = time.monotonic() + timeout
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events that come first are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"DevTools {method}: {answer['error']}")
                return answer.get("result", {})  # type: ignore[no-any-return]
            self.events.append(answer)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for an event (one that came already counts)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self._deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe (it exited)")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)  # type: ignore[no-any-return]


_IMAGES_JS = """
Promise.all(Array.from(document.images).map(img =>
  img.decode().then(() => true, () => false).then(ok =>
    ({src: img.src.slice(0, 60), ok: ok && img.naturalWidth > 0, width: img.naturalWidth}))))
"""


def check_page(
    page: str | os.PathLike[str],
    *,
    screenshot: str | os.PathLike[str] | None = None,
    width: int = 1200,
    height: int = 900,
    full_page: bool = True,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> PageCheck:
    """Load ``page`` (a local HTML file) in a fresh headless Chromium, wait for it to load,
    decode every image, and optionally write a PNG screenshot.

    Raises:
        FileNotFoundError: no Chromium was found (see `find_chromium`) or no page.
        TimeoutError: the browser did not load the page within ``timeout`` seconds.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium: install it (Debian: apt-get install chromium)")
    url = Path(page).resolve().as_uri()
    if not Path(page).is_file():
        raise FileNotFoundError(f"no page at {page}")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="paratune-chromium-") as profile:
        flags = [*_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        # The pipe ends come in as standard input and output; the shell moves them to
        # descriptors 3 and 4, where the browser looks (dash takes single digits only).
        script = 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'
        command = ["sh", "-c", script, binary, *flags, "about:blank"]
        log = Path(profile) / "stderr.log"
        with log.open("wb") as stderr:
            browser = subprocess.Popen(
                command, stdin=to_browser_r, stdout=from_browser_w, stderr=stderr
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        try:
            return _drive(_Pipe(to_browser_w, from_browser_r, timeout), url, screenshot, full_page)
        except (RuntimeError, TimeoutError) as exc:
            # Say what the browser said (less its noise about a missing D-Bus).
            said = [line for line in log.read_text(errors="replace").splitlines()
                    if "dbus" not in line.lower()]  # fmt: skip
            raise type(exc)(f"{exc}; browser output: {' | '.join(said[-5:])}") from exc
        finally:
            close_browser(browser, to_browser_w, from_browser_r)


def close_browser(browser: subprocess.Popen[bytes], out: int, back: int) -> None:
    """Ask the browser to close over its pipe (``out`` to it, ``back`` from it), close both
    ends, and wait for it; kill it if it has not gone within 10 s."""
    try:
        os.write(out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
    except OSError:
        pass  # gone already
    os.close(out)
    os.close(back)
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
        browser.wait()


def _drive(
    pipe: _Pipe, url: str, screenshot: str | os.PathLike[str] | None, full_page: bool
) -> PageCheck:
    targets = pipe.send("Target.getTargets")["targetInfos"]
    page = next(t for t in targets if t["type"] == "page")
    session = pipe.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", session)
    pipe.events.clear()  # what about:blank did is not the page's
    pipe.send("Page.navigate", session, url=url)
    pipe.wait_for("Page.loadEventFired")
    images = pipe.send(
        "Runtime.evaluate", session, expression=_IMAGES_JS, awaitPromise=True, returnByValue=True
    )["result"]["value"]
    check = PageCheck(images=images)
    if screenshot is not None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = pipe.send("Page.getLayoutMetrics", session)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": size["height"], "scale": 1}  # fmt: skip
            params["captureBeyondViewport"] = True
        data = pipe.send("Page.captureScreenshot", session, **params)["data"]
        target = Path(screenshot)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        check.screenshot = target
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
            check.console_errors.append(" ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            check.console_errors.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            check.console_errors.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent":
            requested = params["request"]["url"]
            if not requested.startswith(("data:", "file:")):
                check.external_requests.append(requested)
    return check
