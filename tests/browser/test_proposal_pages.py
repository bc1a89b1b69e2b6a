"""Offers and requests as a visitor sees them: a real ``oce serve`` and a real Chromium.

The instance has one agent with an open offer (bread, for credit, at the market), an
open request (help, for nothing), a withdrawn offer and a follower. Every page must
render, pass the accessibility audit in both colour schemes, load nothing from
elsewhere, and its links must lead where they say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.accessibility import audit
from tests.browser.browsing import BROWSER_TESTS, PageAt
from tests.browser.test_pages import _add_follower
from tests.databases import SqliteFactory
from tests.processes import Process, serving

pytestmark = BROWSER_TESTS

WIKIDATA_BREAD = "https://www.wikidata.org/wiki/Q7802"


@dataclass
class Market:
    server: Process
    offer: str
    request: str
    withdrawn: str

    @property
    def alice(self) -> str:
        return f"{self.server.base_url}/agents/alice"


def _post(server: Process, token: str, document: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{server.base_url}/agents/alice/outbox",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def market(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Market]:
    database_url = sqlite_factory.new()
    logs: Path = tmp_path_factory.mktemp("market")
    with serving("market", database_url, logs) as server:
        server.cli("agent", "create", "alice", "--name", "Alice's Bakery")
        token = server.cli("token", "create", "alice").stdout.strip()
        credit = _post(
            server,
            token,
            {
                "type": "ResourceSpecification",
                "name": "Coop credit",
                "defaultUnitOfResource": "one",
            },
        )["object"]["id"]
        offer = _post(
            server,
            token,
            {
                "type": "Proposal",
                "purpose": "offer",
                "name": "Rye bread",
                "content": "<p>Baked this <em>morning</em>.</p>",
                "location": {"type": "Place", "name": "Market square"},
                "unitBased": True,
                "publishes": {
                    "type": "Intent",
                    "action": "transfer",
                    "resourceConformsTo": WIKIDATA_BREAD,
                    "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "5"},
                    "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "30"},
                },
                "reciprocal": {
                    "type": "Intent",
                    "action": "transfer",
                    "resourceConformsTo": credit,
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "10"},
                },
            },
        )["object"]["id"]
        request = _post(
            server,
            token,
            {
                "type": "Proposal",
                "purpose": "request",
                "name": "Help at the oven",
                "publishes": {
                    "type": "Intent",
                    "action": "work",
                    "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "3"},
                },
            },
        )["object"]["id"]
        withdrawn = _post(
            server,
            token,
            {
                "type": "Proposal",
                "purpose": "offer",
                "name": "Yesterday's cake",
                "publishes": {
                    "type": "Intent",
                    "action": "transfer",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
                },
            },
        )["object"]["id"]
        _post(server, token, {"type": "Delete", "object": withdrawn})
        asyncio.run(
            _add_follower(
                database_url, f"{server.base_url}/agents/alice", "https://remote.example/users/bob"
            )
        )
        yield Market(server, offer, request, withdrawn)


async def test_the_profile_lists_offers_and_requests_and_its_links_work(
    market: Market, page_at: PageAt
) -> None:
    visit = await page_at(market.alice)
    page = visit.page
    assert visit.status == 200
    assert await page.locator(".counts").inner_text() == "1 follower · 0 following"
    offers = page.locator("section.offers li")
    assert await offers.count() == 1
    line = await offers.inner_text()
    assert "Rye bread" in line
    assert "5 kilogram of Q7802 (30 kilogram still available)" in line
    assert "in return for 10 Coop credit" in line
    assert "Market square" in line
    requests = page.locator("section.requests li")
    assert await requests.all_inner_texts() == ["Help at the oven\nwork: 3 hour"]
    assert "Yesterday's cake" not in await page.inner_text("main")

    await page.get_by_role("link", name="Rye bread").click()
    await page.wait_for_url(market.offer)
    assert await page.locator("h1").inner_text() == "Rye bread"
    await page.go_back()
    await page.get_by_role("link", name="Help at the oven").click()
    await page.wait_for_url(market.request)
    assert await page.locator("h1").inner_text() == "Help at the oven"
    await page.go_back()
    await page.get_by_role("link", name="1 follower").click()
    await page.wait_for_url(f"{market.alice}/followers")
    assert await page.locator("h1").inner_text() == "Following Alice's Bakery"
    assert await page.locator("ul.items a").all_inner_texts() == [
        "https://remote.example/users/bob"
    ]
    assert visit.console_errors == []


async def test_an_offer_page_says_what_how_much_for_what_where_and_who(
    market: Market, page_at: PageAt
) -> None:
    visit = await page_at(market.offer)
    page = visit.page
    assert visit.status == 200
    assert await page.title() == "Rye bread · Offer by Alice's Bakery"
    assert await page.locator(".purpose").inner_text() == "Offer · Open"
    assert await page.locator(".content").inner_text() == "Baked this morning."
    assert await page.locator("section.primary h2").inner_text() == "Offered"
    assert await page.locator("section.primary li").inner_text() == (
        "5 kilogram of Q7802 (30 kilogram still available)"
    )
    assert await page.locator("section.reciprocal li").inner_text() == "10 Coop credit"
    assert await page.locator(".location").inner_text() == "Market square"
    assert "whole multiples" in await page.locator(".unit-based").inner_text()
    # The kind of resource links to where it is defined (not followed: no internet here).
    what = page.locator("section.primary a.what")
    assert await what.get_attribute("href") == WIKIDATA_BREAD
    # Who: the proposer's profile.
    await page.get_by_role("link", name="Alice's Bakery").click()
    await page.wait_for_url(market.alice)
    assert await page.locator("h1").inner_text() == "Alice's Bakery"
    await page.go_back()
    # The post Mastodon followers saw, and from there back to the offer.
    await page.get_by_role("link", name="this offer's post").click()
    await page.wait_for_url(f"{market.offer}/note")
    assert "Offer: Rye bread" in await page.locator(".content").inner_text()
    await page.get_by_role("link", name="See the whole offer and answer it").first.click()
    await page.wait_for_url(market.offer)
    assert visit.console_errors == []


async def test_a_request_and_a_withdrawn_offer(market: Market, page_at: PageAt) -> None:
    request = await page_at(market.request)
    assert await request.page.locator(".purpose").inner_text() == "Request · Open"
    assert await request.page.locator("section.primary h2").inner_text() == "Requested"
    assert await request.page.locator("section.primary li").inner_text() == "work: 3 hour"
    assert await request.page.locator("section.reciprocal .none").inner_text() == (
        "Nothing is asked in return."
    )
    closed = await page_at(market.withdrawn)
    assert closed.status == 200
    assert await closed.page.locator(".purpose").inner_text() == "Offer · Closed (withdrawn)"
    assert await closed.page.locator(".answer-hint").count() == 0
    note = await page_at(f"{market.withdrawn}/note")
    assert note.status == 410
    assert await note.page.locator("h1").inner_text() == "Deleted"


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize(
    "which", ["profile", "offer", "request", "withdrawn", "note", "followers", "missing"]
)
async def test_every_page_is_accessible(
    market: Market, page_at: PageAt, which: str, color_scheme: str
) -> None:
    url = {
        "profile": market.alice,
        "offer": market.offer,
        "request": market.request,
        "withdrawn": market.withdrawn,
        "note": f"{market.offer}/note",
        "followers": f"{market.alice}/followers",
        "missing": f"{market.server.base_url}/proposals/nothing-here",
    }[which]
    visit = await page_at(url, color_scheme=color_scheme)
    assert visit.status == (404 if which == "missing" else 200)
    assert await audit(visit.page) == []
    # A browser logs the 404 of the page itself; nothing else may go wrong.
    assert [e for e in visit.console_errors if "status of 404" not in e] == []
    assert f"GET {market.server.base_url}/static/oce.css" in visit.requests


async def test_a_missing_page_is_a_page(market: Market, page_at: PageAt) -> None:
    visit = await page_at(f"{market.server.base_url}/proposals/nothing-here")
    assert visit.status == 404
    assert await visit.page.locator("h1").inner_text() == "Not found"
    await visit.page.get_by_role("link", name="Back to oce").click()
    await visit.page.wait_for_url(f"{market.server.base_url}/")
    assert await visit.page.locator("h1").inner_text() == "oce"
