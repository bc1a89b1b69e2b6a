"""The Agent app in a real Chromium, 375 px wide: two people on two real instances.

Everything after the setup (a currency and stock made with a token, passwords set with
the command line) is done by clicking and typing. Every page visited is checked with
axe-core (no serious or critical violation) and must fit 375 px without scrolling
sideways. ``OCE_UPDATE_SCREENSHOTS=1`` writes the screenshots docs/agent-app.md shows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.browser.axe import axe_source, axe_violations
from tests.browser.browsing import BROWSER_TESTS, TIMEOUT_MS
from tests.databases import SqliteFactory
from tests.e2e.conftest import agent_with_token, post_outbox
from tests.processes import ROOT, Process, serving

if TYPE_CHECKING:  # imported for annotations only: without Playwright the tests skip
    from playwright.async_api import Browser, BrowserContext, Page

pytestmark = BROWSER_TESTS

PASSWORD = "correct horse battery"
BREAD = "https://www.wikidata.org/wiki/Q7802"
MUTUAL_CREDIT = "https://w3id.org/oce/ns#MutualCredit"
WIDTH = 375
SHOTS = ROOT / "docs" / "images"


@dataclass
class Sites:
    a: Process
    b: Process


def _password(server: Process, username: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "instance.cli", "agent", "password", username, "--stdin"],
        env={**os.environ, "PYTHONPATH": str(ROOT), **server.env},
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def sites(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sites]:
    """Alice on one instance, with a currency and 50 kg of bread; Bob on another."""
    axe_source()  # skip (or fail under CI) at once when axe-core is missing
    logs: Path = tmp_path_factory.mktemp("agent-app")
    with (
        serving("a", sqlite_factory.new(), logs) as a,
        serving("b", sqlite_factory.new(), logs) as b,
    ):
        auth = agent_with_token(a, "alice", name="Alice")
        b.cli("agent", "create", "bob", "--name", "Bob")
        a.cli("agent", "create", "carol", "--name", "Carol")
        for server, name in ((a, "alice"), (b, "bob"), (a, "carol")):
            _password(server, name)
        spec = {
            "type": "ResourceSpecification",
            "name": "Coop credit",
            "defaultUnitOfResource": "one",
            "resourceClassifiedAs": [MUTUAL_CREDIT],
        }
        post_outbox(a, "alice", auth, spec)
        raised = {
            "type": "EconomicEvent",
            "action": "raise",
            "receiver": f"{a.base_url}/agents/alice",
            "resourceConformsTo": BREAD,
            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "50"},
        }
        post_outbox(a, "alice", auth, raised)
        yield Sites(a, b)


@pytest_asyncio.fixture(loop_scope="session")
async def person(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Browser contexts (one per person) at 375 px, closed at the end."""
    contexts: list[BrowserContext] = []
    yield contexts
    for context in contexts:
        await context.close()


async def _tab(browser: Browser, contexts: list[BrowserContext]) -> Page:
    context = await browser.new_context(
        viewport={"width": WIDTH, "height": 800}, service_workers="block"
    )
    context.set_default_timeout(TIMEOUT_MS)
    contexts.append(context)
    return await context.new_page()


async def _check(page: Page, shot: str | None = None) -> None:
    """The page as it stands: no serious accessibility problem, nothing wider than 375 px."""
    assert await axe_violations(page) == [], page.url
    overflow = await page.evaluate("() => document.documentElement.scrollWidth")
    if overflow > WIDTH:
        widest = await page.evaluate(
            """() => [...document.querySelectorAll('main *')]
                .filter((e) => e.getBoundingClientRect().right > innerWidth)
                .map((e) => e.tagName + ' ' + (e.textContent || '').slice(0, 40))"""
        )
        raise AssertionError(f"{page.url} is {overflow} px wide: {widest[:5]}")
    if shot and os.environ.get("OCE_UPDATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"agent-app-{shot}.png"), full_page=True)


async def _sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def _words(page: Page) -> str:
    """The main text as a reader gets it, spaces collapsed."""
    return " ".join((await page.inner_text("main")).split())


async def _until(page: Page, text: str, within: float = 60) -> None:
    """Reload until ``text`` shows (another instance's delivery arrives in the background)."""
    deadline = time.monotonic() + within
    while text not in await _words(page):
        assert time.monotonic() < deadline, f"{text!r} never showed on {page.url}"
        await page.wait_for_timeout(500)
        await page.reload()


async def test_sign_in_and_sign_out(
    browser: Browser, person: list[BrowserContext], sites: Sites
) -> None:
    page = await _tab(browser, person)
    await page.goto(f"{sites.a.base_url}/login")
    await _check(page, "login")
    await _sign_in(page, sites.a.base_url, "alice")
    await page.wait_for_url(f"{sites.a.base_url}/dashboard")
    assert await page.inner_text("h1") == "Alice"
    await _check(page)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{sites.a.base_url}/login")
    await page.goto(f"{sites.a.base_url}/dashboard")
    assert page.url == f"{sites.a.base_url}/login"


async def test_a_form_without_its_token_is_refused(
    browser: Browser, person: list[BrowserContext], sites: Sites
) -> None:
    page = await _tab(browser, person)
    await _sign_in(page, sites.a.base_url, "carol")
    await page.goto(f"{sites.a.base_url}/app/publish")
    await _check(page)
    await page.get_by_label("Name", exact=True).fill("Forged")
    await page.get_by_label("Quantity", exact=True).first.fill("1")
    await page.get_by_label("Unit", exact=True).first.fill("kg")
    # The publish form's own token (the sign-out form in the header has one too).
    await page.evaluate("() => document.querySelector('main form input[name=csrf]').remove()")
    await page.get_by_role("button", name="Publish").click()
    assert "did not come from this site" in await page.inner_text("main")
    await page.goto(f"{sites.a.base_url}/dashboard")
    assert "Forged" not in await page.inner_text("main")


async def test_repeated_failures_lock_the_account(
    browser: Browser, person: list[BrowserContext], sites: Sites
) -> None:
    page = await _tab(browser, person)
    for _ in range(6):
        await _sign_in(page, sites.b.base_url, "bob", "not the password")
        assert "The name or the password is not right." in await page.inner_text("main")
    await _sign_in(page, sites.b.base_url, "bob")
    assert "Too many failed sign-ins" in await page.inner_text("main")
    await _check(page)
    assert page.url == f"{sites.b.base_url}/login"


async def test_a_whole_exchange_by_clicking(
    browser: Browser, person: list[BrowserContext], sites: Sites
) -> None:
    a, b = sites.a.base_url, sites.b.base_url
    alice = await _tab(browser, person)
    await _sign_in(alice, a, "alice")
    await alice.wait_for_url(f"{a}/dashboard")

    # Alice publishes an offer.
    await alice.get_by_role("link", name="Publish an offer or a request").click()
    await _check(alice, "publish")
    await alice.get_by_label("Name", exact=True).fill("Rye bread")
    await alice.get_by_label("Kind of resource").fill(BREAD)
    await alice.get_by_label("Quantity", exact=True).first.fill("5")
    await alice.get_by_label("Unit", exact=True).first.fill("kg")
    await alice.get_by_label("Available in all (optional)").fill("30")
    await alice.get_by_label("Any multiple of the quantity, at the same rate").check()
    await alice.get_by_label("Kind", exact=True).fill("Coop credit")
    await alice.get_by_label("Quantity", exact=True).nth(1).fill("10")
    await alice.get_by_label("Unit", exact=True).nth(1).fill("one")
    await alice.get_by_role("button", name="Publish").click()
    await alice.wait_for_url(re.compile(r".*/dashboard\?done=published"))
    proposal = await alice.get_by_role("link", name="Rye bread").get_attribute("href")
    assert proposal is not None

    # Bob, on his own instance, answers it: 10 kg.
    bob = await _tab(browser, person)
    await _sign_in(bob, b, "bob")
    await bob.wait_for_url(f"{b}/dashboard")
    await bob.get_by_role("link", name="Answer an offer or a request").click()
    await _check(bob)
    await bob.get_by_label("Address of the offer or request").fill(proposal)
    await bob.get_by_role("button", name="Look it up").click()
    await _check(bob, "answer")
    await bob.get_by_label("How much do you want").fill("10")
    await bob.get_by_role("button", name="Send my answer").click()
    await bob.wait_for_url(re.compile(r".*/dashboard\?done=sent"))

    # Alice's open page learns of the answer without a reload: the header's count.
    # (A locator, not wait_for_function: the pages' policy forbids evaluating strings.)
    from playwright.async_api import expect

    await expect(alice.locator("#unread")).to_have_text("1", timeout=60_000)
    await alice.get_by_role("link", name=re.compile(r"^Notifications")).click()
    assert "bob@" in await _words(alice)
    await _check(alice, "notifications")

    # Alice accepts.
    await alice.goto(f"{a}/dashboard")
    await _until(alice, "Offer from bob@")
    await alice.get_by_role("button", name="Accept").first.click()
    await alice.wait_for_url(re.compile(r".*/dashboard\?done=accepted"))

    # Alice delivers 10 kg from the agreement's page.
    await alice.get_by_role("link", name=re.compile(r"transfer 10 kg .* to bob@")).click()
    await _check(alice, "agreement")
    await alice.get_by_label(re.compile(r"transfer 10 kg .*quantity")).fill("10")
    await alice.get_by_role("button", name="Record").click()
    await alice.wait_for_url(re.compile(r".*/dashboard\?done=recorded"))

    # Bob pays 20 credits from his copy of the agreement.
    await bob.goto(f"{b}/dashboard")
    await _until(bob, "What you owe")
    await _until(bob, "transfer 20")
    await bob.get_by_role("link", name=re.compile(r"transfer 20 .* to alice")).click()
    await _check(bob)
    await bob.get_by_label(re.compile(r"transfer 20 .*quantity")).fill("20")
    await bob.get_by_role("button", name="Record").click()
    await bob.wait_for_url(re.compile(r".*/dashboard\?done=recorded"))

    # Both balances moved.
    await _until(bob, "Accounting 10 kg")
    assert "Accounting -20" in await _words(bob)
    await _check(bob, "dashboard-bob")
    await alice.goto(f"{a}/dashboard")
    await _until(alice, "Accounting 20")
    assert "Accounting 40 kg" in await _words(alice)
    await _check(alice, "dashboard")

    # Alice logs hours and edits her profile.
    await alice.get_by_role("link", name="Log hours of work").click()
    await _check(alice)
    await alice.get_by_role("link", name="Profile", exact=True).click()
    await alice.get_by_label("Name", exact=True).fill("Alice Baker")
    await alice.get_by_role("button", name="Save").click()
    await alice.wait_for_url(re.compile(r".*/app/profile\?done=saved"))
    assert "Alice Baker" in await alice.inner_text("header")
    await _check(alice, "profile")
