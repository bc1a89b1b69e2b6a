"""Client-to-server: an agent's client posts to its outbox; deliveries follow."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from instance.agents import get_agent
from instance.moderation import block_domain
from instance.store.models import Delivery, PeerHost, utcnow
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def peer() -> FakePeer:
    return FakePeer()


@pytest.fixture
async def a(database_url: str, peer: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(peer.origin, peer.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice")
        yield started


async def token_for(a: Running, username: str) -> dict[str, str]:
    async with a.services.db.write() as session:
        agent = await get_agent(session, username)
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


async def followed_by(a: Running, peer: FakePeer, *names: str) -> None:
    for name in names:
        actor = peer.actor(name)
        activity = {
            "@context": AS,
            "id": f"{peer.origin}/f/{uuid.uuid4()}",
            "type": "Follow",
            "actor": actor.id,
            "object": ALICE,
        }
        body, headers = signed_post(actor, "https://a.test/inbox", activity)
        assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    peer.received.clear()


async def test_a_note_reaches_followers_once_per_server(a: Running, peer: FakePeer) -> None:
    await followed_by(a, peer, "bob", "carol", "dave")
    auth = await token_for(a, "alice")
    note = {
        "type": "Note",
        "content": "<p>Fresh bread <script>alert(1)</script>today</p>",
        "to": [PUBLIC],
        "cc": [f"{ALICE}/followers"],
    }
    response = await a.client.post(f"{ALICE}/outbox", json=note, headers=auth)
    assert response.status_code == 201
    location = response.headers["location"]
    created = response.json()
    assert created["id"] == location
    assert created["type"] == "Create"
    assert created["actor"] == ALICE
    assert created["object"]["attributedTo"] == ALICE
    assert "<script>" not in created["object"]["content"]
    # The activity and its object are readable at their ids.
    assert (await a.client.get(location)).json()["id"] == location
    note_id = created["object"]["id"]
    assert (await a.client.get(note_id)).json()["content"] == created["object"]["content"]
    await a.settle()
    # Three followers on one server: one delivery, to its shared inbox.
    assert [r.path for r in peer.received] == ["/inbox"]
    delivered = peer.received[0]
    assert delivered.json["id"] == location
    assert "signature" in delivered.headers
    assert delivered.headers["digest"].startswith("SHA-256=")
    assert 'keyId="https://a.test/agents/alice#main-key"' in delivered.headers["signature"]
    outbox = (await a.client.get(f"{ALICE}/outbox?page=1")).json()
    assert next(item["id"] for item in outbox["orderedItems"]) == location


async def test_outbox_needs_the_agents_own_token(a: Running) -> None:
    await add_agent(a, "zoe")
    note = {"type": "Note", "content": "hi", "to": [PUBLIC]}
    assert (await a.client.post(f"{ALICE}/outbox", json=note)).status_code == 401
    zoe = await token_for(a, "zoe")
    forbidden = await a.client.post(f"{ALICE}/outbox", json=note, headers=zoe)
    assert forbidden.status_code == 403


async def test_outbox_refuses_unhandled_and_invalid_posts(a: Running) -> None:
    auth = await token_for(a, "alice")
    unknown = await a.client.post(f"{ALICE}/outbox", json={"type": "Wiggle"}, headers=auth)
    assert unknown.status_code in (400, 422)
    untyped = await a.client.post(f"{ALICE}/outbox", json={"id": "x"}, headers=auth)
    assert untyped.status_code == 400
    assert untyped.json()["field"] == "type"
    huge = await a.client.post(
        f"{ALICE}/outbox", json={"type": "Note", "content": "x" * 60_000}, headers=auth
    )
    assert huge.status_code == 400
    assert huge.json()["field"] == "object.content"
    async with a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_follow_through_the_outbox_and_its_accept(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    auth = await token_for(a, "alice")
    response = await a.client.post(
        f"{ALICE}/outbox", json={"type": "Follow", "object": bob.id}, headers=auth
    )
    assert response.status_code == 201
    follow_id = response.headers["location"]
    await a.settle()
    assert [activity["id"] for activity in peer.activities("Follow")] == [follow_id]
    accept = {
        "@context": AS,
        "id": f"{peer.origin}/a/{uuid.uuid4()}",
        "type": "Accept",
        "actor": bob.id,
        "object": follow_id,
    }
    body, headers = signed_post(bob, "https://a.test/inbox", accept)
    assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    following = (await a.client.get(f"{ALICE}/following?page=1")).json()
    assert following["orderedItems"] == [bob.id]


async def test_an_accept_for_a_follow_never_sent_changes_nothing(
    a: Running, peer: FakePeer
) -> None:
    bob = peer.actor("bob")
    accept = {
        "@context": AS,
        "id": f"{peer.origin}/a/{uuid.uuid4()}",
        "type": "Accept",
        "actor": bob.id,
        "object": "https://a.test/activities/never-sent",
    }
    body, headers = signed_post(bob, "https://a.test/inbox", accept)
    assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    assert (await a.client.get(f"{ALICE}/following")).json()["totalItems"] == 0


async def _note(a: Running) -> None:
    auth = await token_for(a, "alice")
    note = {"type": "Note", "content": "hello", "to": [PUBLIC], "cc": [f"{ALICE}/followers"]}
    assert (await a.client.post(f"{ALICE}/outbox", json=note, headers=auth)).status_code == 201


async def _delivery(a: Running) -> Delivery:
    async with a.services.db.read() as session:
        row = await session.scalar(select(Delivery).order_by(Delivery.id.desc()))
        assert row is not None
        return row


@pytest.mark.parametrize(
    ("status", "headers", "state"),
    [
        (500, {}, "pending"),
        (503, {"Retry-After": "120"}, "pending"),
        (429, {"Retry-After": "30"}, "pending"),
        (401, {}, "pending"),
        (410, {}, "failed"),
        (400, {}, "failed"),
        (202, {}, "done"),
    ],
)
async def test_answers_are_classified(
    a: Running, peer: FakePeer, status: int, headers: dict[str, str], state: str
) -> None:
    await followed_by(a, peer, "bob")
    peer.inbox_status, peer.inbox_headers = status, headers
    await _note(a)
    before = utcnow()
    await a.settle()
    row = await _delivery(a)
    assert row.state == state
    assert row.last_status == status
    assert row.attempts == 1
    if state == "pending":
        assert row.next_attempt_at > before
        if "Retry-After" in headers:
            wait = (row.next_attempt_at - before).total_seconds()
            assert abs(wait - int(headers["Retry-After"])) < 5


async def test_a_peer_that_was_down_gets_it_when_back(a: Running, peer: FakePeer) -> None:
    await followed_by(a, peer, "bob")
    peer.inbox_status = 503
    await _note(a)
    await a.settle()
    assert (await _delivery(a)).state == "pending"
    peer.inbox_status = 202
    peer.received.clear()
    # Time passes: make the retry due now.
    async with a.services.db.write() as session:
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await a.settle()
    assert (await _delivery(a)).state == "done"
    assert len(peer.activities("Create")) == 1


async def test_a_host_that_keeps_failing_is_paused_then_resumes(a: Running, peer: FakePeer) -> None:
    await followed_by(a, peer, "bob")
    peer.inbox_status = 500
    for _ in range(12):
        await _note(a)
    # Failures spread over more than half an hour pause the host.
    async with a.services.db.write() as session:
        session.add(
            PeerHost(
                host="peer.test",
                consecutive_failures=9,
                first_failure_at=utcnow() - timedelta(hours=1),
            )
        )
    await a.settle()
    async with a.services.db.read() as session:
        host = await session.get(PeerHost, "peer.test")
        assert host is not None
        assert host.paused_until is not None
        pending = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
        )
    # While paused, nothing is tried, even when retries fall due.
    peer.received.clear()
    async with a.services.db.write() as session:
        await session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    await a.settle()
    assert peer.received == []
    # A signed request from the host shows it is up: deliveries resume.
    peer.inbox_status = 202
    bob = peer.actor("bob")
    like = {
        "@context": AS,
        "id": f"{peer.origin}/l/1",
        "type": "Like",
        "actor": bob.id,
        "object": ALICE,
    }
    body, headers = signed_post(bob, "https://a.test/inbox", like)
    assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    assert len(peer.activities("Create")) == pending


async def test_nothing_is_delivered_to_a_blocked_domain(a: Running, peer: FakePeer) -> None:
    await followed_by(a, peer, "bob")
    async with a.services.db.write() as session:
        await block_domain(session, "peer.test")
    await asyncio.sleep(1.1)  # the blocklist is re-read at most every second
    await _note(a)
    await a.settle()
    assert peer.received == []
    row = await _delivery(a)
    assert row.state == "failed"
    assert row.last_error == "the domain is blocked"
