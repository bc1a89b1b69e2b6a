"""A coordinator in a real Chromium, 375 px wide, on a real instance: switches the
session to the cooperative, validates a member's work, previews and runs a distribution;
the plan board and the trace page. axe-core runs on every new page.

The setup (the cooperative, its currency and value equation, logged work, an income, a
plan) is made with the command line and tokens; what the test is about is clicked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from instance.coopdemo import EQUATION
from tests.browser.axe import axe_source
from tests.browser.browsing import BROWSER_TESTS
from tests.browser.test_agent_app import MUTUAL_CREDIT, _check, _password, _sign_in, _tab, _words
from tests.databases import SqliteFactory
from tests.e2e.conftest import agent_with_token, post_outbox, wait_for
from tests.processes import Process, serving

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = BROWSER_TESTS


@dataclass
class Coop:
    site: Process
    income: str
    plan: str


@pytest.fixture(scope="module")
def coop(sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coop]:
    """The bakery (open) on one instance: alice coordinates it, bob joined and logged 7
    hours, alice paid it 100 credits (the income); alice's plan asks bob for 3 hours."""
    axe_source()
    logs: Path = tmp_path_factory.mktemp("coop-app")
    with serving("a", sqlite_factory.new(), logs) as a:
        base = a.base_url
        # Few commands (each is a process start): alice coordinates, so her token posts
        # for the bakery; she is also the customer whose payment is the income.
        a.cli("agent", "create", "bakery", "--name", "Bakery", "--type", "organization",
              "--joining", "open")  # fmt: skip
        alice = agent_with_token(a, "alice", name="Alice")
        bob = agent_with_token(a, "bob", name="Bob")
        _password(a, "alice")
        a.cli("member", "add", "bakery", "alice", "--role", "coordinator")
        org = f"{base}/agents/bakery"
        post_outbox(a, "bob", bob, {"type": "Join", "object": org})
        spec = post_outbox(
            a,
            "bakery",
            alice,
            {
                "type": "ResourceSpecification",
                "name": "Coop credit",
                "defaultUnitOfResource": "one",
                "resourceClassifiedAs": [MUTUAL_CREDIT],
            },
        ).json()["object"]["id"]
        equation = {**EQUATION, "buckets": [dict(b) for b in EQUATION["buckets"]]}
        equation["buckets"][0]["distributionAgent"] = f"{base}/agents/alice"
        post_outbox(a, "bakery", alice, {"type": "Create", "object": equation})
        wait_for("bob's membership", lambda: _member(a, "bob"), 30, a)
        post_outbox(
            a,
            "bob",
            bob,
            {
                "type": "EconomicEvent",
                "action": "work",
                "provider": f"{base}/agents/bob",
                "receiver": org,
                "inScopeOf": org,
                "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "7"},
                "requestDistribution": True,
            },
        )
        income = post_outbox(
            a,
            "alice",
            alice,
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": f"{base}/agents/alice",
                "receiver": f"{base}/agents/bakery",
                "resourceConformsTo": spec,
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "100.00"},
            },
        ).json()["object"]["id"]
        plan = post_outbox(
            a,
            "alice",
            alice,
            {
                "type": "Plan",
                "name": "Saturday bread",
                "planIncludes": [
                    {
                        "type": "Process",
                        "name": "Bake",
                        "hasInput": [
                            {
                                "type": "Commitment",
                                "action": "work",
                                "provider": f"{base}/agents/bob",
                                "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "3"},
                            }
                        ],
                    }
                ],
            },
        ).json()["object"]["id"]
        yield Coop(a, income, plan)


def _member(site: Process, username: str) -> bool:
    members = httpx.get(f"{site.base_url}/agents/bakery/members", timeout=10).json()
    first = httpx.get(members["first"], timeout=10).json() if "first" in members else members
    return f"{site.base_url}/agents/{username}" in json.dumps(first)


@pytest_asyncio.fixture(loop_scope="session")
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    found: list[BrowserContext] = []
    yield found
    for context in found:
        await context.close()


async def test_a_coordinator_acts_for_the_cooperative_validates_and_distributes(
    browser: Browser, contexts: list[BrowserContext], coop: Coop
) -> None:
    base = coop.site.base_url
    page = await _tab(browser, contexts)
    await _sign_in(page, base, "alice")
    await page.wait_for_url(f"{base}/dashboard")

    # Switch to the cooperative in the header.
    await page.get_by_label("Act as").select_option("bakery")
    await page.get_by_role("button", name="Switch").click()
    await page.wait_for_url(f"{base}/dashboard")
    assert await page.inner_text("h1") == "Bakery"
    assert "You are acting as Bakery" in await page.inner_text("body")
    await _check(page)

    # Validate bob's work on the cooperative's page.
    await page.get_by_role("link", name="Organizations").click()
    await _check(page)
    await page.get_by_role("link", name="Bakery", exact=True).click()
    assert "bob: work 7 h" in await _words(page)
    await _check(page, "organization")
    await page.get_by_role("button", name="Approve").click()
    assert "Your verdict was recorded." in await _words(page)
    assert "approved" in await _words(page)

    # Preview the distribution, then run it; a second run pays nothing.
    await page.get_by_role("link", name="Distribute an income").click()
    await page.get_by_role("button", name="Preview").click()
    words = await _words(page)
    assert "founder alice 25.00" in words
    assert "work bob debt-like 75.00" in words
    await _check(page, "distribution")
    await page.get_by_role("button", name="Confirm and pay").click()
    words = await _words(page)
    assert "Distributed." in words
    assert "bob 75.00 paid" in words
    await _check(page)
    await page.goto(
        f"{base}/app/orgs/bakery/distribute?income={quote(coop.income, safe='')}&equation=default"
    )
    assert "This income was distributed already" in await _words(page)

    # Back to herself: the plan board and the trace page.
    await page.get_by_label("Act as").select_option(label="Alice")
    await page.get_by_role("button", name="Switch").click()
    await page.wait_for_url(f"{base}/dashboard")
    assert await page.inner_text("h1") == "Alice"
    await page.get_by_role("link", name="Plans").click()
    await _check(page)
    await page.get_by_role("link", name="Saturday bread").click()
    assert "Bake" in await _words(page)
    await _check(page, "board")
    await page.goto(f"{base}/app/trace")
    await _check(page)
