"""Linking a person's accounts on two instances through an OAuth grant (in-process,
two instances talking HTTP through the test network, SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from instance.store.models import AccountLink, Agent, OAuthClient, utcnow
from instance.tokens import create_token
from instance.web.app.sessions import COOKIE, open_session
from tests.exchange.conftest import Client, client
from tests.harness import Network, Running, make_settings, running
from tests.web.signing import form_token, page_token

HTML = {"Accept": "text/html"}
AS_JSON = {"Accept": "application/activity+json"}
BREAD = "https://www.wikidata.org/wiki/Q7802"
A_ALICE = "https://a.test/agents/alice"
B_ALICE = "https://b.test/agents/alice"


@pytest.fixture
async def two(
    database_url: str, postgres_or_sqlite_second: str
) -> AsyncIterator[tuple[Running, Running, Client]]:
    """Alice on a.test and on b.test (where she holds 50 kg of bread), signed in to
    both in one browser each."""
    network = Network()
    async with (
        running(make_settings(database_url, "https://a.test"), network=network) as a,
        running(make_settings(postgres_or_sqlite_second, "https://b.test"), network=network) as b,
    ):
        await client(a, "alice")
        there = await client(b, "alice")
        await there.post(
            {
                "type": "EconomicEvent",
                "action": "raise",
                "receiver": B_ALICE,
                "resourceConformsTo": BREAD,
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "50"},
            }
        )
        for site in (a, b):
            async with site.services.db.write() as session:
                agent = await session.scalar(select(Agent).where(Agent.username == "alice"))
                assert agent is not None
                secret, _ = await open_session(session, agent, address="127.0.0.1", user_agent="t")
            site.client.cookies.set(COOKIE, secret, domain=urlsplit(site.settings.base_url).netloc)
        yield a, b, there


async def aliases(site: Running, actor: str) -> list[str]:
    document = (await site.client.get(actor, headers=AS_JSON)).json()
    found: list[str] = document.get("alsoKnownAs", [])
    return found


async def link(a: Running, b: Running) -> None:
    """Alice links b.test from a.test: a.test registers at b.test, her browser consents
    there and comes back."""
    started = await a.client.post(
        "/app/links",
        data={"csrf": await page_token(a.client, "/app/links"), "instance": "https://b.test"},
    )
    assert started.status_code == 200, started.text
    found = re.search(r'href="(https://b\.test/oauth/authorize\?[^"]+)"', started.text)
    assert found, started.text
    consent_url = html.unescape(found[1])
    assert consent_url.startswith("https://b.test/oauth/authorize?")
    page = await b.client.get(consent_url, headers=HTML)
    assert page.status_code == 200, page.text
    assert "oce at a.test" in page.text
    fields = dict(httpx.URL(consent_url).params)
    allowed = await b.client.post(
        "/oauth/authorize", data={**fields, "csrf": form_token(page.text), "decision": "allow"}
    )
    back = allowed.headers["location"]
    assert back.startswith("https://a.test/app/links/callback?code=")
    done = await a.client.get(back, headers=HTML)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/links"


async def test_a_link_is_published_both_ways_shown_and_removed_when_revoked(
    two: tuple[Running, Running, Client],
) -> None:
    a, b, _ = two
    await link(a, b)
    assert await aliases(a, A_ALICE) == [B_ALICE]
    assert await aliases(b, B_ALICE) == [A_ALICE]
    # a.test registered itself at b.test, asking to read only.
    async with b.services.db.read() as session:
        registered = await session.scalar(select(OAuthClient))
    assert registered is not None
    assert registered.scope == "read"

    dashboard = await a.client.get("/dashboard", headers=HTML)
    words = " ".join(dashboard.text.split())
    assert "On b.test" in words
    assert "Balances on b.test" in words
    assert "50 kg" in words
    assert B_ALICE in (await a.client.get("/app/links", headers=HTML)).text
    # An expired access token is renewed with the refresh token, and read with again.
    async with a.services.db.write() as session:
        before = await session.scalar(select(AccountLink))
        assert before is not None
        old_token = before.access_token
        await session.execute(
            update(AccountLink).values(
                expires_at=utcnow() - timedelta(seconds=1),
                cached_at=utcnow() - timedelta(hours=1),
            )
        )
    assert "50 kg" in (await a.client.get("/dashboard", headers=HTML)).text
    async with a.services.db.read() as session:
        after = await session.scalar(select(AccountLink))
    assert after is not None
    assert after.access_token != old_token
    assert after.expires_at is not None
    assert after.expires_at > utcnow()

    # Alice revokes a.test on b.test: b.test stops naming a.test at once, and a.test
    # drops the link when it next reads b.test (the cache is 60 s; made stale here).
    token = await page_token(b.client, "/app/tokens")
    revoked = await b.client.post(
        "/app/tokens", data={"csrf": token, "client_id": registered.client_id}
    )
    assert revoked.status_code == 303
    assert await aliases(b, B_ALICE) == []
    async with a.services.db.write() as session:
        await session.execute(update(AccountLink).values(cached_at=utcnow() - timedelta(hours=1)))
    dashboard = await a.client.get("/dashboard", headers=HTML)
    assert "On b.test" not in dashboard.text
    assert await aliases(a, A_ALICE) == []

    # Linked again, then unlinked from a.test: the grant is revoked at b.test too.
    await link(a, b)
    assert await aliases(b, B_ALICE) == [A_ALICE]
    async with a.services.db.read() as session:
        row = await session.scalar(select(AccountLink).where(AccountLink.status == "active"))
    assert row is not None
    unlinked = await a.client.post(
        "/app/links", data={"csrf": await page_token(a.client, "/app/links"), "id": row.id}
    )
    assert unlinked.status_code == 303
    assert await aliases(a, A_ALICE) == []
    assert await aliases(b, B_ALICE) == []


async def test_what_a_link_refuses(two: tuple[Running, Running, Client]) -> None:
    a, b, there = two
    token = await page_token(a.client, "/app/links")
    for typed, status in (
        ("ftp://b.test", 400),
        ("https://b.test/some/path", 400),
        ("https://a.test", 400),
        ("https://nowhere.test", 502),
    ):
        answer = await a.client.post("/app/links", data={"csrf": token, "instance": typed})
        assert answer.status_code == status, (typed, answer.text)
        assert 'id="instance-error"' in answer.text
    # A callback nobody started here is refused.
    stray = await a.client.get("/app/links/callback?code=x&state=y", headers=HTML)
    assert stray.status_code == 400
    # b.test believes a link only when the other actor names it back: a token made by
    # the command line cannot link, nor can an application for an actor that does not.
    refused = await b.client.post("/oauth/link", json={"actor": A_ALICE}, headers=there.auth)
    assert refused.status_code == 403
    async with b.services.db.write() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == "alice"))
        assert agent is not None
        app_token = await create_token(session, agent, scopes=["read"], client_id="some-app")
    unnamed = await b.client.post(
        "/oauth/link", json={"actor": A_ALICE}, headers={"Authorization": f"Bearer {app_token}"}
    )
    assert unnamed.status_code == 422
    assert unnamed.json()["detail"] == f"{A_ALICE} does not name {B_ALICE} in its alsoKnownAs"
    async with a.services.db.read() as session:
        assert (await session.scalar(select(AccountLink))) is None
    assert await aliases(b, B_ALICE) == []
