"""The inbox: signed deliveries are stored and processed; every refusal stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from instance.agents import create_agent, get_agent
from instance.moderation import block_domain
from instance.peers import Peers
from instance.store.models import Follow, InboxItem, RemoteActor, RemoteKey
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/agents/alice"


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


def follow(actor: PeerActor, target: str = ALICE) -> dict[str, object]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


async def post(a: Running, body: bytes, headers: dict[str, str], url: str = INBOX) -> int:
    response = await a.client.post(url, content=body, headers=headers)
    return response.status_code


async def stored_items(a: Running) -> int:
    async with a.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)


async def test_a_signed_follow_is_accepted_and_answered(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = follow(bob)
    body, headers = signed_post(bob, INBOX, activity)
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 202
    async with a.services.db.read() as session:
        item = await session.scalar(select(InboxItem))
        assert item is not None
        assert item.body == body  # the exact bytes, kept with their provenance
        assert item.signer == bob.id
        assert item.signer_key_id == bob.key_id
        assert item.verified_by.startswith("cavage")
    await a.settle()
    accepts = peer.activities("Accept")
    assert len(accepts) == 1
    assert accepts[0]["actor"] == ALICE
    assert accepts[0]["object"]["id"] == activity["id"]
    assert peer.received[0].path == "/inbox"  # bob's server's shared inbox
    followers = (await a.client.get(f"{ALICE}/followers?page=1")).json()
    assert followers["orderedItems"] == [bob.id]
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1


async def test_a_replay_is_a_no_op(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    body, headers = signed_post(bob, INBOX, follow(bob))
    assert await post(a, body, headers) == 202
    assert await post(a, body, headers) == 202
    assert await stored_items(a) == 1
    await a.settle()
    assert len(peer.activities("Accept")) == 1


async def test_the_same_id_with_other_bytes_is_refused(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = follow(bob)
    assert await post(a, *signed_post(bob, INBOX, activity)) == 202
    activity["summary"] = "changed"
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, activity))[0], headers=s[1]
    )
    assert response.status_code == 409
    assert response.json()["field"] == "id"
    assert await stored_items(a) == 1


async def test_personal_inbox_accepts_too(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    url = f"{ALICE}/inbox"
    assert await post(a, *signed_post(bob, url, follow(bob)), url=url) == 202
    async with a.services.db.read() as session:
        item = await session.scalar(select(InboxItem))
        assert item is not None
        assert item.recipient_agent_id is not None


async def test_unknown_activity_types_are_accepted_and_ignored(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = {
        "@context": AS,
        "id": f"{peer.origin}/x/1",
        "type": "Wiggle",
        "actor": bob.id,
        "object": ALICE,
    }
    assert await post(a, *signed_post(bob, INBOX, activity)) == 202
    await a.settle()
    async with a.services.db.read() as session:
        item = await session.scalar(select(InboxItem))
        assert item is not None
        assert item.state == "done"
        assert item.error is None


# Refusals: each answers its status with a problem body and stores nothing -------------


def _tamper_body(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"Follow", b"Like"), headers


def _tamper_digest(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, "Digest": "SHA-256=" + "A" * 43 + "="}


def _unsigned(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k.lower() != "signature"}


@pytest.mark.parametrize(
    ("tamper", "status", "detail"),
    [
        (_unsigned, 401, "signature"),
        (_tamper_body, 401, "igest"),
        (_tamper_digest, 401, "igest"),
    ],
)
async def test_signature_refusals(
    a: Running,
    peer: FakePeer,
    tamper: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]],
    status: int,
    detail: str,
) -> None:
    bob = peer.actor("bob")
    body, headers = tamper(*signed_post(bob, INBOX, follow(bob)))
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert await stored_items(a) == 0


async def test_wrong_key_is_refused(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    mallory = peer.actor("mallory")
    # Signed with mallory's private key, but naming bob's key.
    body, headers = signed_post(bob, INBOX, follow(bob), private_key=mallory.private_key)
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 401
    assert await stored_items(a) == 0


async def test_key_of_another_actor_is_refused(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    mallory = peer.actor("mallory")
    # Mallory signs correctly with her own key, but claims bob is the actor.
    body, headers = signed_post(mallory, INBOX, follow(bob))
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 403
    assert "not the signer" in response.json()["detail"]
    assert await stored_items(a) == 0


@pytest.mark.parametrize("shift", [timedelta(hours=13), -timedelta(hours=2)])
async def test_stale_and_future_dates_are_refused(
    a: Running, peer: FakePeer, shift: timedelta
) -> None:
    bob = peer.actor("bob")
    body, headers = signed_post(bob, INBOX, follow(bob), now=datetime.now(UTC) - shift)
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 401
    assert await stored_items(a) == 0


async def test_activity_id_on_another_origin_is_refused(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = follow(bob)
    activity["id"] = "https://elsewhere.test/activities/1"
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, activity))[0], headers=s[1]
    )
    assert response.status_code == 403
    assert await stored_items(a) == 0


async def test_objects_in_our_namespace_are_refused(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = {
        "@context": AS,
        "id": f"{peer.origin}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": bob.id,
        "object": {"id": "https://a.test/objects/forged", "type": "Note", "content": "x"},
    }
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, activity))[0], headers=s[1]
    )
    assert response.status_code == 403
    assert await stored_items(a) == 0


async def test_oversized_body_is_413(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = follow(bob)
    activity["content"] = "x" * 1_100_000
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, activity))[0], headers=s[1]
    )
    assert response.status_code == 413
    assert await stored_items(a) == 0


async def test_deeply_nested_body_is_400(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    body = b'{"id":"https://peer.test/a","type":"Follow","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, body))[0], headers=s[1]
    )
    assert response.status_code == 400
    assert "deep" in response.json()["detail"] or "nest" in response.json()["detail"]
    assert await stored_items(a) == 0


async def test_duplicate_keys_are_400(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    body = b'{"id":"https://peer.test/a","type":"Follow","actor":"x","actor":"y"}'
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, body))[0], headers=s[1]
    )
    assert response.status_code == 400
    assert await stored_items(a) == 0


async def test_blocked_domain_is_403(a: Running, peer: FakePeer) -> None:
    async with a.services.db.write() as session:
        await block_domain(session, "peer.test")
    bob = peer.actor("bob")
    response = await a.client.post(
        INBOX, content=(s := signed_post(bob, INBOX, follow(bob)))[0], headers=s[1]
    )
    assert response.status_code == 403
    assert await stored_items(a) == 0


# The social graph ---------------------------------------------------------------------


async def test_undo_follow_removes_it(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    activity = follow(bob)
    assert await post(a, *signed_post(bob, INBOX, activity)) == 202
    await a.settle()
    undo = {
        "@context": AS,
        "id": f"{peer.origin}/activities/{uuid.uuid4()}",
        "type": "Undo",
        "actor": bob.id,
        "object": activity,
    }
    assert await post(a, *signed_post(bob, INBOX, undo)) == 202
    await a.settle()
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0


async def test_manual_approval_holds_the_follow(a: Running, peer: FakePeer) -> None:
    await add_agent(a, "careful", manually_approves_followers=True)
    bob = peer.actor("bob")
    assert (
        await post(a, *signed_post(bob, INBOX, follow(bob, "https://a.test/agents/careful"))) == 202
    )
    await a.settle()
    assert peer.activities("Accept") == []
    async with a.services.db.read() as session:
        row = await session.scalar(select(Follow))
        assert row is not None
        assert row.state == "pending"
    # The agent's client approves it: the Accept reaches bob, the follower counts.
    async with a.services.db.write() as session:
        careful = await get_agent(session, "careful")
        assert careful is not None
        token = await create_token(session, careful)
    auth = {"Authorization": f"Bearer {token}"}
    held = (await a.client.get("https://a.test/agents/careful/inbox?page=1", headers=auth)).json()
    follow_id = held["orderedItems"][0]["id"]
    answered = await a.client.post(
        "https://a.test/agents/careful/outbox",
        json={"type": "Accept", "object": follow_id},
        headers=auth,
    )
    assert answered.status_code == 201
    again = await a.client.post(
        "https://a.test/agents/careful/outbox",
        json={"type": "Accept", "object": follow_id},
        headers=auth,
    )
    assert again.status_code == 409
    await a.settle()
    assert [x["object"]["id"] for x in peer.activities("Accept")] == [follow_id]
    followers = (await a.client.get("https://a.test/agents/careful/followers")).json()
    assert followers["totalItems"] == 1


async def test_update_of_an_actor_refreshes_name_and_key(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
    await a.settle()
    old_key = bob.private_key
    peer.rotate_key("bob")
    document = bob.document()
    document["name"] = "Robert"
    update = {
        "@context": AS,
        "id": f"{peer.origin}/activities/{uuid.uuid4()}",
        "type": "Update",
        "actor": bob.id,
        "object": document,
    }
    # Signed with the old key, which we still hold: the update brings the new one.
    assert await post(a, *signed_post(bob, INBOX, update, private_key=old_key)) == 202
    await a.settle()
    async with a.services.db.read() as session:
        actor = await session.scalar(select(RemoteActor).where(RemoteActor.uri == bob.id))
        key = await session.scalar(select(RemoteKey).where(RemoteKey.key_id == bob.key_id))
        assert actor is not None
        assert actor.name == "Robert"
        assert key is not None
        assert key.public_key_pem == bob.public_pem
    # And a request signed with the new key now verifies.
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202


async def test_rotated_key_is_refetched_at_most_once_a_minute(a: Running, peer: FakePeer) -> None:
    now = [1000.0]
    svc = a.services
    svc.peers = Peers(svc.db, svc.peers.fetcher, clock=lambda: now[0])
    bob = peer.actor("bob")
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
    peer.rotate_key("bob")  # no Update sent: the cached key fails on the next request
    # Fetched seconds ago: a failing signature does not make us fetch the key again.
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 401
    now[0] += 61
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
    assert await stored_items(a) == 2


async def test_delete_of_an_actor_removes_its_follows(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
    await a.settle()
    delete = {
        "@context": AS,
        "id": f"{bob.id}#delete",
        "type": "Delete",
        "actor": bob.id,
        "object": bob.id,
        "to": [f"{AS}#Public"],
    }
    assert await post(a, *signed_post(bob, INBOX, delete)) == 202
    await a.settle()
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0
    async with a.services.db.read() as session:
        assert await session.scalar(select(RemoteActor).where(RemoteActor.uri == bob.id)) is None


async def test_delete_of_an_unknown_actor_fetches_nothing(a: Running, peer: FakePeer) -> None:
    ghost = peer.actor("ghost")
    body, headers = signed_post(
        ghost,
        INBOX,
        {
            "@context": AS,
            "id": f"{ghost.id}#delete",
            "type": "Delete",
            "actor": ghost.id,
            "object": ghost.id,
        },
    )
    del peer.actors["ghost"]  # its server now answers 410 for it
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 202
    assert await stored_items(a) == 0


async def test_clients_read_their_inbox_with_their_token(a: Running, peer: FakePeer) -> None:
    bob = peer.actor("bob")
    assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
    await a.settle()
    async with a.services.db.write() as session:
        alice = await get_agent(session, "alice")
        assert alice is not None
        token = await create_token(session, alice)
        other = await create_agent(session, "zoe")
        other_token = await create_token(session, other)
    assert (await a.client.get(f"{ALICE}/inbox")).status_code == 401
    forbidden = await a.client.get(
        f"{ALICE}/inbox", headers={"Authorization": f"Bearer {other_token}"}
    )
    assert forbidden.status_code == 403
    bad = await a.client.get(f"{ALICE}/inbox", headers={"Authorization": "Bearer oce_nope"})
    assert bad.status_code == 401
    page = await a.client.get(f"{ALICE}/inbox?page=1", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert [item["type"] for item in page.json()["orderedItems"]] == ["Follow"]
