"""An agent's own actor from its client: ``Update`` (profile edits reach followers) and
``Delete`` (a tombstone that answers 410; followers are told)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from instance.agents import get_agent
from instance.tokens import create_token
from tests import mastodon
from tests.fakepeer import FakePeer, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
AS = {"Accept": "application/activity+json"}


@pytest.fixture
async def a(database_url: str, masto: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(masto.origin, masto.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice", name="Alice", summary="Bakes bread.")
        await add_agent(started, "carol")
        yield started


async def _token(a: Running, name: str) -> dict[str, str]:
    async with a.services.db.write() as session:
        agent = await get_agent(session, name)
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


async def _post(a: Running, auth: dict[str, str], document: dict[str, Any], status: int) -> Any:
    response = await a.client.post(f"{ALICE}/outbox", json=document, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_profile_edit_reaches_a_mastodon_follower_and_refusals_change_nothing(
    a: Running, masto: FakePeer
) -> None:
    follower = masto.actor("bob")
    body, headers = signed_post(follower, "https://a.test/inbox", mastodon.follow(follower, ALICE))
    assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    masto.received.clear()
    auth = await _token(a, "alice")

    edit = {"type": "Person", "name": "Alice Baker", "summary": "Rye on Tuesdays."}
    await _post(a, auth, {"type": "Update", "object": edit}, 201)
    await a.settle()
    (update,) = masto.activities()
    assert update["type"] == "Update"
    assert update["object"]["id"] == ALICE
    assert update["object"]["name"] == "Alice Baker"
    assert update["object"]["summary"] == "<p>Rye on Tuesdays.</p>"
    assert update["object"]["inbox"] == f"{ALICE}/inbox"  # the whole actor, as Mastodon wants
    actor = (await a.client.get(ALICE, headers=AS)).json()
    assert actor["name"] == "Alice Baker"

    masto.received.clear()
    refusals = [
        ({"type": "Person", "id": "https://a.test/agents/carol", "name": "X"}, 403, "object"),
        ({"type": "Organization", "name": "X"}, 422, "object.type"),
        ({"type": "Person", "name": "x" * 201}, 400, "object.name"),
        ({"type": "Person", "icon": "https://elsewhere.example/me.png"}, 422, "object.icon"),
        ({"type": "Person"}, 400, "object"),
    ]
    for document, status, field in refusals:
        problem = await _post(a, auth, {"type": "Update", "object": document}, status)
        assert problem["field"] == field, problem
    await a.settle()
    assert masto.received == []
    assert (await a.client.get(ALICE, headers=AS)).json()["name"] == "Alice Baker"


async def test_deleting_an_agent_leaves_a_tombstone_and_tells_followers(
    a: Running, masto: FakePeer
) -> None:
    follower = masto.actor("bob")
    body, headers = signed_post(follower, "https://a.test/inbox", mastodon.follow(follower, ALICE))
    assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    masto.received.clear()
    auth = await _token(a, "alice")

    # Another agent's client cannot delete her.
    carol = await _token(a, "carol")
    refused = await a.client.post(
        "https://a.test/agents/carol/outbox",
        json={"type": "Delete", "object": {"id": ALICE, "type": "Person"}},
        headers=carol,
    )
    assert refused.status_code == 403, refused.text

    await _post(a, auth, {"type": "Delete", "object": ALICE}, 201)
    await a.settle()
    (deleted,) = masto.activities()
    assert deleted["type"] == "Delete"
    assert deleted["object"]["id"] == ALICE
    assert deleted["object"]["type"] == "Tombstone"

    gone = await a.client.get(ALICE, headers=AS)
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"
    assert gone.json()["formerType"] == "Person"
    page = await a.client.get(ALICE, headers={"Accept": "text/html"})
    assert page.status_code == 410
    assert "was deleted" in page.text
    # Its token no longer works; the home page no longer lists it.
    again = await a.client.post(f"{ALICE}/outbox", json={"type": "Note"}, headers=auth)
    assert again.status_code == 401
    assert "/agents/alice" not in (await a.client.get("/", headers={"Accept": "text/html"})).text
