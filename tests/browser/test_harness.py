"""The browser harness itself: its origin guard and its accessibility audit catch faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.accessibility import audit
from tests.browser.browsing import BROWSER_TESTS, Pages
from tests.databases import SqliteFactory
from tests.processes import Process, serving

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = BROWSER_TESTS

ADD_REMOTE_ICON = """() => {
  const link = document.createElement('link');
  link.rel = 'icon';
  link.href = 'http://192.0.2.1/icon.png';
  document.head.append(link);
}"""

# Every fault the audit knows, once; #777 on white is 4.48:1, just under AA.
INACCESSIBLE = """<html><head><title> </title></head><body>
<h1>One</h1><h1>Two</h1>
<a href="/elsewhere"></a>
<img src="/static/favicon.svg">
<input name="quantity">
<p style="color: #777; background: #fff">barely readable</p>
<p style="color: #777; background: #fff; font-size: 24px">large enough to read</p>
</body></html>"""


@pytest.fixture(scope="module")
def bare(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    """An instance with no agents: the harness only needs some page of its own."""
    with serving("bare", sqlite_factory.new(), tmp_path_factory.mktemp("bare")) as server:
        yield server


async def test_requests_to_other_origins_never_leave_and_fail_the_visit(
    bare: Process, browser: Browser
) -> None:
    pages = Pages(browser)
    # The instance's Content-Security-Policy would refuse the fetch below before any
    # request is made; this checks the harness's own guard, so the policy is set aside.
    visit = await pages.open(f"{bare.base_url}/", bypass_csp=True)
    assert visit.requests[:2] == [f"GET {bare.base_url}/", f"GET {bare.base_url}/static/oce.css"]
    assert visit.elsewhere == []

    fetched = await visit.page.evaluate(
        "fetch('https://fonts.example.invalid/a.woff2').then(() => 'loaded', () => 'failed')"
    )
    assert fetched == "failed"  # the browser cannot reach beyond loopback
    await visit.page.evaluate(ADD_REMOTE_ICON)
    with pytest.raises(AssertionError) as caught:
        await pages.close()
    message = str(caught.value)
    assert "GET https://fonts.example.invalid/a.woff2" in message
    assert "declared by the page: http://192.0.2.1/icon.png" in message


async def test_the_audit_names_each_fault(bare: Process, browser: Browser) -> None:
    pages = Pages(browser)
    # Inline styles, which the instance's Content-Security-Policy refuses, make the
    # contrast faults here: the policy is set aside to test the audit itself.
    visit = await pages.open(f"{bare.base_url}/", bypass_csp=True)
    await visit.page.set_content(INACCESSIBLE)
    problems = await audit(visit.page)
    expected = [
        "the html element has no lang",
        "the page has no title",
        "expected one h1, found 2",
        "expected one main landmark, found 0",
        f"the link to {bare.base_url}/elsewhere has no text",
        f"the image {bare.base_url}/static/favicon.svg has no alt text",
        "the form field quantity has no label",
        "the page has no stylesheet",
        'low contrast 4.48:1 (needs 4.5:1) for "barely readable" in <p>: #777777 on #ffffff',
    ]
    try:
        assert problems == expected
    finally:
        await pages.close()
