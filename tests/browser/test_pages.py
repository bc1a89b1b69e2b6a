"""oce's web pages as a visitor sees them: a real ``oce serve`` and a real Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from instance.store.db import Database
from instance.store.models import Agent, Follow
from tests.browser.accessibility import audit
from tests.browser.browsing import BROWSER_TESTS, PageAt
from tests.databases import SqliteFactory
from tests.processes import Process, serving

pytestmark = BROWSER_TESTS

SUMMARY = "Bakes bread for the neighbourhood.\n\nAsk about <rye> & sourdough."


async def _add_follower(database_url: str, actor: str, follower: str) -> None:
    """An accepted remote follower of the local ``actor``, as the inbox records one."""
    username = actor.rsplit("/", 1)[1]
    db = Database.from_url(database_url, pool_size=1)
    try:
        async with db.write() as session:
            agent = await session.scalar(select(Agent).where(Agent.username == username))
            assert agent is not None
            session.add(
                Follow(
                    activity_uri=f"{follower}#follows/{username}",
                    follower=follower,
                    followee=actor,
                    followee_agent_id=agent.id,
                    state="accepted",
                )
            )
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def site(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    """One instance for the module, with a person (who has a follower) and an organization."""
    database_url = sqlite_factory.new()
    logs: Path = tmp_path_factory.mktemp("browser")
    with serving("browser", database_url, logs) as server:
        server.cli("agent", "create", "alice", "--name", "Alice Example", "--summary", SUMMARY)
        server.cli("agent", "create", "bakery", "--type", "organization", "--name", "Corner Bakery")
        follower = "https://remote.example/users/bob"
        asyncio.run(_add_follower(database_url, f"{server.base_url}/agents/alice", follower))
        yield server


async def test_home_lists_the_agents_and_its_links_lead_to_their_profiles(
    site: Process, page_at: PageAt
) -> None:
    visit = await page_at(f"{site.base_url}/")
    page = visit.page
    assert visit.status == 200
    names = await page.locator("ul.agents a").all_inner_texts()
    assert names == ["Alice Example", "Corner Bakery"]
    for name, username in [("Alice Example", "alice"), ("Corner Bakery", "bakery")]:
        await page.get_by_role("link", name=name).click()
        await page.wait_for_url(f"{site.base_url}/agents/{username}")
        assert await page.locator("h1").inner_text() == name
        await page.go_back()
        await page.wait_for_url(f"{site.base_url}/")
    assert visit.console_errors == []


async def test_a_profile_shows_who_the_agent_is_and_how_to_follow_it(
    site: Process, page_at: PageAt
) -> None:
    actor = f"{site.base_url}/agents/alice"
    handle = f"@alice@{site.base_url.removeprefix('http://')}"
    visit = await page_at(actor)
    page = visit.page
    assert visit.status == 200
    assert await page.title() == f"Alice Example ({handle})"
    assert await page.locator("h1").inner_text() == "Alice Example"
    assert handle in await page.locator(".handle").inner_text()
    # The summary keeps its paragraphs and shows markup as text, never as markup.
    assert await page.locator(".summary p").all_inner_texts() == [
        "Bakes bread for the neighbourhood.",
        "Ask about <rye> & sourdough.",
    ]
    assert await page.locator(".summary rye").count() == 0
    assert await page.locator("#followers-count").inner_text() == "1"
    assert await page.locator("#following-count").inner_text() == "0"
    hint = await page.locator(".follow-hint").inner_text()
    assert "Mastodon" in hint
    assert handle in hint
    # Pasting the profile's address into a Fediverse search finds the actor.
    alternate = page.locator('link[rel="alternate"][type="application/activity+json"]')
    assert await alternate.get_attribute("href") == actor
    assert visit.console_errors == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/agents/alice", "/agents/bakery"])
async def test_pages_are_accessible(
    site: Process, page_at: PageAt, path: str, color_scheme: str
) -> None:
    visit = await page_at(f"{site.base_url}{path}", color_scheme=color_scheme)
    assert visit.status == 200
    assert await audit(visit.page) == []
    assert visit.console_errors == []
    # The stylesheet came from the instance itself and was applied.
    assert f"GET {site.base_url}/static/oce.css" in visit.requests
    assert await visit.page.evaluate("document.styleSheets[0].cssRules.length") > 0


async def test_an_unknown_agent_is_a_404_that_says_so(site: Process, page_at: PageAt) -> None:
    visit = await page_at(f"{site.base_url}/agents/nobody")
    assert visit.status == 404
    assert "no agent named 'nobody'" in await visit.page.inner_text("body")
