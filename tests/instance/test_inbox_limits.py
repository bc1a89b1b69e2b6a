"""Storage cannot be grown without bound, nor fan-out aimed at a third party (issue 11,
defect 8): inbox rate limits, retention of processed bodies and finished deliveries,
followers' inboxes on their own server, one delivery per host."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import get_agent
from instance.outbox.publish import one_per_host
from instance.store.models import Agent, Delivery, EconomicEvent, Follow, InboxItem, utcnow
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/agents/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def peer() -> FakePeer:
    return FakePeer()


@pytest.fixture
def victim() -> FakePeer:
    return FakePeer(origin="https://victim.test")


@pytest.fixture
async def a(database_url: str, peer: FakePeer, victim: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(peer.origin, peer.app())
    network.add(victim.origin, victim.app())
    settings = make_settings(
        database_url,
        inbox_actor_per_minute=60,
        inbox_actor_burst=3,
        inbox_host_per_minute=60,
        inbox_host_burst=5,
    )
    async with running(settings, network=network) as started:
        await add_agent(started, "alice")
        yield started


def note(actor: PeerActor, text: str = "hello") -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": actor.id,
        "to": [ALICE],
        "object": {
            "id": f"{actor.origin}/notes/{uuid.uuid4()}",
            "type": "Note",
            "attributedTo": actor.id,
            "to": [ALICE],
            "content": text,
        },
    }


def follow(actor: PeerActor) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": ALICE,
    }


async def send(a: Running, actor: PeerActor, activity: dict[str, Any]) -> Any:
    body, headers = signed_post(actor, INBOX, activity)
    return await a.client.post(INBOX, content=body, headers=headers)


async def count(a: Running, table: Any) -> int:
    async with a.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_one_actor_is_limited_and_told_when_to_come_back(a: Running, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")
    statuses = [(await send(a, mallory, note(mallory))).status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    refused = await send(a, mallory, note(mallory))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many activities" in refused.json()["detail"]
    assert await count(a, InboxItem) == 3
    # Over the limit, the body is not even read: a huge or broken one is refused alike.
    body, headers = signed_post(mallory, INBOX, b"{" * 10)
    assert (await a.client.post(INBOX, content=body, headers=headers)).status_code == 429


async def test_one_host_is_limited_across_its_actors(a: Running, peer: FakePeer) -> None:
    actors = [peer.actor(name) for name in ("m1", "m2", "m3")]
    statuses = [(await send(a, actor, note(actor))).status_code for actor in actors * 2]
    assert statuses.count(202) == 5
    assert statuses[-1] == 429
    assert await count(a, InboxItem) == 5


async def test_requests_that_do_not_verify_spend_nothing(
    a: Running, peer: FakePeer, victim: FakePeer
) -> None:
    """Requests under a victim's key id that do not verify cannot use up its allowance."""
    bob = victim.actor("bob")
    mallory = peer.actor("mallory")
    for _ in range(10):
        body, headers = signed_post(
            bob, INBOX, note(bob), key_id=bob.key_id, private_key=mallory.private_key
        )
        assert (await a.client.post(INBOX, content=body, headers=headers)).status_code == 401
    assert (await send(a, bob, note(bob))).status_code == 202


async def test_processed_bodies_and_finished_deliveries_are_pruned(
    a: Running, peer: FakePeer
) -> None:
    bob = peer.actor("bob")
    assert (await send(a, bob, follow(bob))).status_code == 202
    assert (await send(a, bob, note(bob))).status_code == 202
    # A peer's event is a ledger record (held for alice): its bytes prove it, and stay.
    gift = {
        "@context": [AS, "https://a.test/ns/oce-v1.jsonld"],
        "id": f"{peer.origin}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": bob.id,
        "to": [ALICE],
        "object": {
            "id": f"{peer.origin}/events/{uuid.uuid4()}",
            "type": "EconomicEvent",
            "action": "transfer",
            "provider": bob.id,
            "receiver": ALICE,
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "5"},
        },
    }
    assert (await send(a, bob, gift)).status_code == 202
    await a.settle()
    assert await count(a, InboxItem) == 3
    assert await count(a, EconomicEvent) == 1
    assert await count(a, Delivery) == 1  # alice's Accept of the Follow
    workers = a.workers
    # Within retention, nothing goes.
    assert (await workers.prune_once(now=utcnow() + timedelta(days=6))).total == 0
    pruned = await workers.prune_once(now=utcnow() + timedelta(days=31))
    assert (pruned.inbox_deleted, pruned.inbox_kept, pruned.deliveries_deleted) == (2, 1, 1)
    async with a.services.db.read() as session:
        left = (await session.scalars(select(InboxItem.activity_uri))).all()
    assert left == [gift["id"]]
    assert await count(a, Delivery) == 0
    # Kept items are not looked at again.
    assert (await workers.prune_once(now=utcnow() + timedelta(days=62))).total == 0
    # What the processing did stays: bob still follows alice.
    assert await count(a, Follow) == 1


async def test_a_follower_whose_inbox_is_elsewhere_is_refused(
    a: Running, peer: FakePeer, victim: FakePeer
) -> None:
    def aimed_at_victim(actor: PeerActor) -> dict[str, Any]:
        document = actor.document()
        document["inbox"] = f"{victim.origin}/inbox"
        document["endpoints"] = {"sharedInbox": f"{victim.origin}/inbox"}
        return document

    peer.actor_document = aimed_at_victim
    for name in ("m1", "m2", "m3"):
        mallory = peer.actor(name)
        assert (await send(a, mallory, follow(mallory))).status_code == 202
    await a.settle()
    async with a.services.db.write() as session:
        token = await create_token(session, await _alice(session))
    post = {"type": "Note", "content": "news", "to": [PUBLIC], "cc": [f"{ALICE}/followers"]}
    response = await a.client.post(
        f"{ALICE}/outbox", json=post, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    await a.settle()
    assert victim.received == []
    async with a.services.db.read() as session:
        accepted = await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.state == "accepted")
        )
    assert accepted == 0


async def test_one_post_per_host_per_activity(a: Running, peer: FakePeer) -> None:
    """Followers on a server without a shared inbox: still one POST to that server."""

    def no_shared_inbox(actor: PeerActor) -> dict[str, Any]:
        document = actor.document()
        del document["endpoints"]
        return document

    peer.actor_document = no_shared_inbox
    for name in ("f1", "f2", "f3"):
        follower = peer.actor(name)
        assert (await send(a, follower, follow(follower))).status_code == 202
    await a.settle()
    peer.received.clear()
    async with a.services.db.write() as session:
        token = await create_token(session, await _alice(session))
    post = {"type": "Note", "content": "news", "to": [PUBLIC], "cc": [f"{ALICE}/followers"]}
    response = await a.client.post(
        f"{ALICE}/outbox", json=post, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    await a.settle()
    assert len(peer.received) == 1


async def _alice(session: AsyncSession) -> Agent:
    agent = await get_agent(session, "alice")
    assert agent is not None
    return agent


def test_one_per_host_prefers_the_shared_inbox_and_skips_foreign_ones() -> None:
    targets = [
        ("h.test", "https://h.test/users/a/inbox", None),
        ("h.test", "https://h.test/users/b/inbox", "https://h.test/inbox"),
        ("k.test", "https://k.test/users/c/inbox", None),
        ("k.test", "https://k.test/users/d/inbox", None),
        # Stored before foreign inboxes were refused: the foreign one is never used.
        ("m.test", "https://victim.test/inbox", None),
        ("n.test", "https://n.test/users/e/inbox", "https://victim.test/inbox"),
    ]
    assert one_per_host(targets) == [
        "https://h.test/inbox",
        "https://k.test/users/c/inbox",
        "https://n.test/users/e/inbox",
    ]
