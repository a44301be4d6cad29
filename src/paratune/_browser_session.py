"""Drive one page of a headless Chromium over the DevTools pipes of `paratune._browser`: open
a URL (a live server's, not only a file), run JavaScript in the page, click, take
screenshots, and say which console errors it logged and which requests left the machine.

Used by the dashboard's page tests and by its page benchmark, which need a page that stays
open while a run writes to the store and the page follows it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._browser import _FLAGS, _Pipe, close_browser, find_chromium

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Hosts whose requests stay on the machine."""


class _SessionPipe(_Pipe):
    """A `_Pipe` whose deadline starts again at each command: a session lasts as long as
    its caller wants, each command within ``timeout`` seconds."""

    def __init__(self, to_browser: int, from_browser: int, timeout: float) -> None:
        super().__init__(to_browser, from_browser, timeout)
        self._timeout = timeout

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer, within the timeout from now."""
        self._deadline = time.monotonic() + self._timeout
        return super().send(method, session, **params)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for an event, within the timeout from now."""
        self._deadline = time.monotonic() + self._timeout
        return super().wait_for(method)


class Page:
    """One open browser tab: what `browser_page` yields."""

    def __init__(self, pipe: _SessionPipe, session: str, *, console: bool = True) -> None:
        self._pipe, self._session, self._console = pipe, session, console

    def goto(self, url: str) -> None:
        """Open ``url`` and wait until the page has loaded (its ``load`` event)."""
        self._pipe.events = [
            e for e in self._pipe.events if e.get("method") != "Page.loadEventFired"
        ]
        self._pipe.send("Page.navigate", self._session, url=url)
        self._pipe.wait_for("Page.loadEventFired")

    def clear_cache(self) -> None:
        """Empty the browser's HTTP cache (and so the code it compiled from cached scripts)."""
        self._pipe.send("Network.clearBrowserCache", self._session)

    def resize(self, width: int, height: int) -> None:
        """Make the window ``width`` x ``height`` CSS pixels (a tall one shows a whole page at
        once, as a screenshot of it does)."""
        self._pipe.send("Emulation.setDeviceMetricsOverride", self._session, width=width,
                        height=height, deviceScaleFactor=1, mobile=False)  # fmt: skip

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited).

        Raises:
            RuntimeError: the expression threw; the message is the page's.
        """
        answer = self._pipe.send("Runtime.evaluate", self._session, expression=expression,
                                 awaitPromise=True, returnByValue=True)  # fmt: skip
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            said = details.get("exception", {}).get("description") or details.get("text", "")
            raise RuntimeError(f"the page threw: {said}")
        return answer["result"].get("value")

    def count(self, selector: str) -> int:
        """How many elements match the CSS ``selector``."""
        return int(self.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length"))

    def text(self, selector: str) -> str:
        """The text of the first element matching ``selector`` ("" when none does)."""
        return str(
            self.evaluate(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''")
        )

    def click(self, selector: str) -> None:
        """Click the first element matching ``selector``.

        Raises:
            LookupError: nothing matches it.
        """
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()"
        )
        if not found:
            raise LookupError(f"nothing on the page matches {selector!r}")

    def screenshot(self, path: str | os.PathLike[str], *, full_page: bool = True) -> Path:
        """Write a PNG of the page (all of it, or what the window shows) to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self._pipe.send("Page.getLayoutMetrics", self._session)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                              "scale": 1}  # fmt: skip
            params["captureBeyondViewport"] = True
        data = self._pipe.send("Page.captureScreenshot", self._session, **params)["data"]
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(data))
        return target

    def console_errors(self) -> list[str]:
        """Console ``error`` messages, uncaught exceptions and browser log errors so far.

        Raises:
            RuntimeError: the page was opened with ``console=False``.
        """
        if not self._console:
            raise RuntimeError("this page does not watch its console: browser_page(console=True)")
        found = []
        for event in self._pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(" ".join(str(a.get("value", a.get("description", "")))
                                      for a in params["args"]))  # fmt: skip
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(details.get("exception", {}).get("description")
                             or details.get("text", ""))  # fmt: skip
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def requests(self) -> list[str]:
        """Every URL the page asked for so far."""
        return [e["params"]["request"]["url"] for e in self._pipe.events
                if e.get("method") == "Network.requestWillBeSent"]  # fmt: skip

    def external_requests(self) -> list[str]:
        """The URLs asked for that would leave the machine: neither ``data:``, ``blob:`` nor
        ``about:``, and not to a loopback host."""
        return [url for url in self.requests()
                if not url.startswith(("data:", "blob:", "about:"))
                and urlsplit(url).hostname not in LOOPBACK]  # fmt: skip


@contextlib.contextmanager
def browser_page(
    *,
    width: int = 1280,
    height: int = 900,
    timeout: float = 60.0,
    chromium: str | None = None,
    console: bool = True,
) -> Iterator[Page]:
    """A fresh headless Chromium with one blank page, closed on exit; each command must be
    answered within ``timeout`` seconds. ``console=False`` leaves DevTools' runtime and log
    agents off, as in a browser nobody debugs: a page then runs as fast as for its users
    (with them on, the first run of a large script such as plotly's takes about half a
    second more here), but its console errors are not seen.

    Raises:
        FileNotFoundError: no Chromium was found (see `paratune._browser.find_chromium`).
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium: install it (Debian: apt-get install chromium)")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="paratune-chromium-") as profile:
        flags = [*_FLAGS, "--no-proxy-server", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"]  # fmt: skip
        # As in `_browser.check_page`: the pipes come in as standard input and output and
        # the shell moves them to descriptors 3 and 4, where the browser looks.
        script = 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null'
        with (Path(profile) / "stderr.log").open("wb") as stderr:
            browser = subprocess.Popen(
                ["sh", "-c", script, binary, *flags, "about:blank"],
                stdin=to_browser_r, stdout=from_browser_w, stderr=stderr,
            )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _SessionPipe(to_browser_w, from_browser_r, timeout)
        try:
            yield _attach(pipe, console=console)
        finally:
            close_browser(browser, to_browser_w, from_browser_r)


def _attach(pipe: _SessionPipe, *, console: bool) -> Page:
    targets = pipe.send("Target.getTargets")["targetInfos"]
    target = next(t for t in targets if t["type"] == "page")
    session = pipe.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
    domains = ("Page", "Runtime", "Log", "Network") if console else ("Page", "Network")
    for domain in domains:
        pipe.send(f"{domain}.enable", session["sessionId"])
    pipe.events.clear()  # what about:blank did is not the page's
    return Page(pipe, session["sessionId"], console=console)
