"""What the security headers stop, in a real Chromium against a real ``oce serve``.

A page of the instance cannot be framed by another page (clickjacking), and script or
style that got into a page without coming from our own static files does not run. Our
own pages still load whole, with no policy violation (the other page tests check every
page's console, where Chromium reports each violation).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.browsing import BROWSER_TESTS, TIMEOUT_MS, PageAt
from tests.databases import SqliteFactory
from tests.processes import Process, serving

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = BROWSER_TESTS

INJECTED = """<main id="content">
<p id="styled" style="color: rgb(255, 0, 0)">styled inline</p>
<script>window.injected = "ran";</script>
<img src="x" onerror="window.injected = 'ran from an attribute'">
</main>"""


@pytest.fixture(scope="module")
def site(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    with serving("headers", sqlite_factory.new(), tmp_path_factory.mktemp("headers")) as server:
        server.cli("agent", "create", "alice", "--name", "Alice Example")
        yield server


async def test_another_page_cannot_frame_ours(site: Process, browser: Browser) -> None:
    context = await browser.new_context(service_workers="block")
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        profile = f"{site.base_url}/agents/alice"
        # An attacker's page (any origin; here a blank one) puts our page in a frame.
        await page.set_content(f'<iframe id="victim" src="{profile}"></iframe>')
        frame = page.frames[-1]
        await frame.wait_for_load_state("load")
        # Chromium refuses to show it: the frame holds its own error page, not Alice's.
        assert frame.url != profile
        assert "Alice Example" not in await frame.content()
    finally:
        await context.close()


async def test_script_and_style_not_from_our_files_do_not_run(
    site: Process, page_at: PageAt
) -> None:
    visit = await page_at(f"{site.base_url}/agents/alice")
    assert visit.status == 200
    assert visit.console_errors == []  # the page itself breaks no rule of its policy
    # As if markup had slipped into the page past the escaping.
    await visit.page.set_content(INJECTED)
    assert await visit.page.evaluate("window.injected") is None
    color = await visit.page.evaluate("getComputedStyle(document.getElementById('styled')).color")
    assert color != "rgb(255, 0, 0)"
    assert any("Content Security Policy" in error for error in visit.console_errors)


async def test_pages_say_what_browsers_may_do(site: Process, page_at: PageAt) -> None:
    visit = await page_at(f"{site.base_url}/")
    assert visit.response is not None
    headers = await visit.response.all_headers()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
