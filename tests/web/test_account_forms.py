"""Following by handle and managing tokens from the app."""

from __future__ import annotations

from sqlalchemy import select

from instance.store.models import Follow, Token
from tests.exchange.conftest import Pair
from tests.web.signing import page_token, sign_in

HTML = {"Accept": "text/html"}


async def test_following_someone_on_another_instance_by_handle(pair: Pair) -> None:
    await sign_in(pair.a.client, "alice")
    token = await page_token(pair.a.client, "/app/follow")
    followed = await pair.a.client.post(
        "/app/follow", data={"csrf": token, "handle": "@bob@b.test"}
    )
    assert followed.status_code == 303, followed.text
    await pair.settle()
    async with pair.b.services.db.read() as session:
        rows = (await session.scalars(select(Follow))).all()
    assert [(row.follower, row.followee) for row in rows] == [
        ("https://a.test/agents/alice", "https://b.test/agents/bob")
    ]
    unknown = await pair.a.client.post(
        "/app/follow", data={"csrf": token, "handle": "@nobody@b.test"}
    )
    assert unknown.status_code == 502
    assert 'id="handle-error">cannot find @nobody@b.test' in unknown.text


async def test_tokens_are_listed_and_revoked_from_the_app(pair: Pair) -> None:
    await sign_in(pair.a.client, "alice")
    page = await pair.a.client.get("/app/tokens", headers=HTML)
    assert page.status_code == 200
    assert "read write" in page.text
    async with pair.a.services.db.read() as session:
        row = await session.scalar(select(Token))
    assert row is not None
    revoked = await pair.a.client.post(
        "/app/tokens", data={"csrf": await page_token(pair.a.client, "/app/tokens"), "id": row.id}
    )
    assert revoked.status_code == 303
    # The token no longer works for its client.
    answer = await pair.a.client.get(
        "/agents/alice/inbox",
        headers={"Authorization": f"Bearer {pair.alice.token}", "Accept": "application/json"},
    )
    assert answer.status_code == 401
    assert "revoked" in (await pair.a.client.get("/app/tokens", headers=HTML)).text
    # Another person's token id is not found, and nothing changes.
    refused = await pair.a.client.post(
        "/app/tokens", data={"csrf": await page_token(pair.a.client, "/app/tokens"), "id": "999"}
    )
    assert refused.status_code == 404
