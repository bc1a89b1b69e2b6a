"""Browser fixtures: one headless Chromium per run, and ``page_at`` to visit pages with it.

A page test is async, runs on the session's event loop (the one the browser lives on),
and gets a :class:`~tests.browser.browsing.Visit` from ``page_at``::

    from tests.browser.accessibility import audit
    from tests.browser.browsing import BROWSER_TESTS, PageAt

    pytestmark = BROWSER_TESTS

    async def test_offers_page(site: Process, page_at: PageAt) -> None:
        visit = await page_at(f"{site.base_url}/agents/alice/offers")
        assert visit.status == 200
        assert await audit(visit.page) == []
        assert visit.console_errors == []

Without Chromium (or Playwright) browser tests are skipped and the run says why; with
``OCE_TEST_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead, so CI never
passes without looking at the pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, NoReturn

import pytest
import pytest_asyncio

from tests.browser.browsing import (
    CHROMIUM_ARGS,
    REQUIRE_BROWSER,
    TIMEOUT_MS,
    ColorScheme,
    PageAt,
    Pages,
    Visit,
    chromium_executable,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser


def _unavailable(reason: str) -> NoReturn:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}, and OCE_TEST_REQUIRE_BROWSER=1 requires it")
    pytest.skip(reason)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, started once for the whole run."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}): pip install -e '.[dev]'")
    executable = chromium_executable()
    if executable is None:
        _unavailable(
            "chromium is not installed: apt-get install chromium "
            "(tests/tools/install.sh does it when run as root)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS * 3
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page_at(browser: Browser) -> AsyncIterator[PageAt]:
    """``await page_at(url, color_scheme="light")`` loads a page and returns its :class:`Visit`.

    Every request is checked against the origin of ``url``: anything sent elsewhere is
    refused and fails the test, at once or when the test ends.
    """
    pages = Pages(browser)

    async def open_page(url: str, *, color_scheme: ColorScheme = "light") -> Visit:
        return await pages.open(url, color_scheme=color_scheme)

    yield open_page
    await pages.close()
