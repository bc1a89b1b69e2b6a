"""Visiting oce's pages in a real headless Chromium, with nothing loaded from elsewhere.

The browser is Debian's ``chromium`` driven by Playwright's async API (never a browser
Playwright downloads itself; the sync API would leave its event loop marked running in
the test thread, breaking every ``asyncio.run`` after it).

Two fences keep pages honest about the network. The browser itself can reach nothing
beyond loopback: every other destination goes to a proxy address where nothing listens,
so it fails on this machine, and names other than loopback do not resolve. And each
:class:`Visit` records every request its page makes: anything addressed to another
origin than the instance under test (a CDN font, a remote script, another local port)
fails the visit. Requests are recorded, not intercepted, because interception changes
what Chromium does (it stops fetching the favicon, for one).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:  # imported for annotations only: without Playwright the tests skip
    from playwright.async_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
        WebSocket,
    )

REQUIRE_BROWSER = os.environ.get("OCE_TEST_REQUIRE_BROWSER") == "1"

#: Flags for Chromium as root on a closed network: without them it tries to reach
#: Google (sync, component updates, field trials) and waits for the refusal. Playwright
#: gives every launch a fresh temporary profile (its own ``--user-data-dir``). Loopback
#: bypasses the proxy; everything else meets port 9 on loopback, where nothing listens.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

#: Every wait in a visit is bounded: a page that hangs fails instead of stalling the run.
TIMEOUT_MS = 10_000

ColorScheme = Literal["light", "dark"]

#: The marks every browser test module carries (``pytestmark = BROWSER_TESTS``): the
#: ``browser`` marker, real processes (``e2e``), and the session's event loop, which
#: the shared browser lives on.
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
]

# Elements that make the browser fetch something, with the attribute naming it. Some
# (icons) are fetched by the browser outside the page's own requests, so they are
# checked where they are declared.
_REFERENCED_RESOURCES_JS = """
() => {
  const selectors = [
    ['link[rel~="stylesheet"], link[rel~="icon"], link[rel~="preload"], ' +
     'link[rel~="modulepreload"], link[rel~="manifest"], link[rel~="apple-touch-icon"]', 'href'],
    ['script[src], img[src], iframe[src], video[src], audio[src], source[src], embed[src]', 'src'],
    ['object[data]', 'data'],
  ];
  const urls = [];
  for (const [selector, attribute] of selectors) {
    for (const element of document.querySelectorAll(selector)) {
      urls.push(new URL(element.getAttribute(attribute), document.baseURI).href);
    }
  }
  return urls;
}
"""


# Every browser asks once for the page's icon, the declared one or /favicon.ico, and
# logs an error when it is missing; a shared browser asks only on its first visit, so
# each visit asks itself.
_ICON_STATUS_JS = """
async () => {
  const link = document.querySelector('link[rel~="icon"]');
  const url = new URL(link ? link.getAttribute('href') : '/favicon.ico', document.baseURI).href;
  if (url.startsWith('data:')) return [url, 200];
  try {
    return [url, (await fetch(url, {cache: 'no-store'})).status];
  } catch (error) {
    return [url, 0];
  }
}
"""


def chromium_executable() -> str | None:
    """Debian's chromium, or the one ``OCE_TEST_CHROMIUM`` names."""
    return shutil.which(os.environ.get("OCE_TEST_CHROMIUM") or "chromium")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}".lower()


def _loads_nothing(url: str) -> bool:
    """data:, blob: and about: URLs fetch nothing from any network."""
    return url.split(":", 1)[0].lower() in ("data", "blob", "about")


@dataclass
class Visit:
    """One page as a visitor got it: the page, and what it asked for on the way."""

    page: Page
    response: Response | None
    origin: str
    #: ``METHOD url`` of every request the page made, in order.
    requests: list[str] = field(default_factory=list)
    #: The requests addressed to another origin.
    elsewhere: list[str] = field(default_factory=list)
    console: list[ConsoleMessage] = field(default_factory=list)
    #: Uncaught exceptions thrown by the page's scripts.
    page_errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        assert self.response is not None, "the navigation got no response"
        return self.response.status

    @property
    def console_errors(self) -> list[str]:
        """Console errors and uncaught exceptions: a healthy page has none."""
        logged = [
            f"{m.text} ({m.location.get('url', '')})" for m in self.console if m.type == "error"
        ]
        return logged + self.page_errors

    def record(self, method: str, url: str) -> None:
        line = f"{method} {url}"
        self.requests.append(line)
        if not _loads_nothing(url) and origin_of(url) != self.origin:
            self.elsewhere.append(line)

    async def check_origin(self) -> None:
        """Fail when the page asked for, or declares, anything from another origin."""
        found = list(self.elsewhere)
        if not self.page.is_closed():
            for url in await self.page.evaluate(_REFERENCED_RESOURCES_JS):
                if not _loads_nothing(url) and origin_of(url) != self.origin:
                    found.append(f"declared by the page: {url}")
        if found:
            listing = "\n  ".join(found)
            raise AssertionError(
                f"{self.page.url} asked for things outside {self.origin}:\n  {listing}"
            )


def watch(context: BrowserContext, visit: Visit) -> None:
    """Record every request and websocket of ``context`` into ``visit``."""

    def on_request(request: Request) -> None:
        visit.record(request.method, request.url)

    def on_websocket(socket: WebSocket) -> None:
        visit.record("WEBSOCKET", socket.url)

    def on_page(page: Page) -> None:
        page.on("websocket", on_websocket)

    context.on("request", on_request)
    context.on("page", on_page)


class Pages:
    """Opens pages, each in its own fresh context, and checks them all at the end."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.visits: list[Visit] = []
        self.contexts: list[BrowserContext] = []

    async def open(
        self, url: str, *, color_scheme: ColorScheme = "light", bypass_csp: bool = False
    ) -> Visit:
        """Load ``url`` as a visitor would and return the :class:`Visit`.

        The page is loaded completely (the ``load`` event) and its icon asked for
        before this returns; a request to another origin fails the visit at once.
        ``bypass_csp`` ignores the page's Content-Security-Policy: only for testing this
        harness with faults the policy would (rightly) stop before the harness sees them.
        """
        # Service workers would make requests the recorder does not see; pages need none.
        context = await self.browser.new_context(
            color_scheme=color_scheme, service_workers="block", bypass_csp=bypass_csp
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = await context.new_page()
        visit = Visit(page=page, response=None, origin=origin_of(url))
        watch(context, visit)
        page.on("console", lambda message: visit.console.append(message))
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        self.visits.append(visit)
        visit.response = await page.goto(url, wait_until="load")
        icon, status = await page.evaluate(_ICON_STATUS_JS)
        if status != 200:
            visit.page_errors.append(f"the page's icon {icon} answers {status}")
        await visit.check_origin()
        return visit

    async def close(self) -> None:
        """Check every visit once more (requests made after loading count too)."""
        try:
            for visit in self.visits:
                await visit.check_origin()
        finally:
            for context in self.contexts:
                await context.close()


#: The ``page_at`` fixture: ``await page_at(url, color_scheme="light")`` gives a Visit.
PageAt = Callable[..., Awaitable[Visit]]
