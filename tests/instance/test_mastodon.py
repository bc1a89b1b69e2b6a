"""A Mastodon server and an oce agent, in-process: every payload shaped and signed as
Mastodon shapes and signs it (tests/mastodon.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from federation import generate_rsa_keypair, load_private_key
from instance.agents import get_agent
from instance.store.models import Follow, InboxItem, RemoteActor, RemoteKey, StoredObject
from instance.tokens import create_token
from tests import mastodon
from tests.fakepeer import FakePeer, PeerActor
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
INBOX = "https://a.test/inbox"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
async def a(database_url: str, masto: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(masto.origin, masto.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice", name="Alice")
        yield started


async def deliver(
    a: Running, actor: PeerActor, activity: dict[str, Any], *, algorithm: str = "rsa-sha256"
) -> None:
    """POST ``activity`` to our shared inbox as Mastodon does, and process it."""
    body, headers = mastodon.sign_like_mastodon(actor, INBOX, activity, algorithm=algorithm)
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 202, response.text
    await a.settle()


async def token(a: Running, username: str = "alice") -> dict[str, str]:
    async with a.services.db.write() as session:
        agent = await get_agent(session, username)
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


async def inbox(a: Running, auth: dict[str, str]) -> list[dict[str, Any]]:
    page = await a.client.get(f"{ALICE}/inbox?page=1", headers=auth)
    assert page.status_code == 200
    items: list[dict[str, Any]] = page.json().get("orderedItems", [])
    return items


def page_text(html: str) -> str:
    """A page's text as a reader sees it (tags dropped, spaces collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def item_states(a: Running) -> list[tuple[str, str | None]]:
    async with a.services.db.read() as session:
        return [(i.state, i.error) for i in await session.scalars(select(InboxItem))]


# Following ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "hs2019"])
async def test_a_mastodon_follow_is_accepted_with_an_accept_mastodon_matches(
    a: Running, masto: FakePeer, algorithm: str
) -> None:
    bob = masto.actor("bob")
    follow = mastodon.follow(bob, ALICE)
    await deliver(a, bob, follow, algorithm=algorithm)
    async with a.services.db.read() as session:
        item = await session.scalar(select(InboxItem))
        assert item is not None
        assert (item.state, item.verified_by) == ("done", f"cavage-{algorithm}")
    (accept,) = masto.activities("Accept")
    assert masto.received[0].path == "/inbox"  # Mastodon's shared inbox
    # Mastodon finds its follow request by the embedded Follow's id (or actor + object).
    assert accept["actor"] == ALICE
    assert accept["object"] == {
        "id": follow["id"],
        "type": "Follow",
        "actor": bob.id,
        "object": ALICE,
    }
    assert accept["to"] == [bob.id]
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1
    page = page_text((await a.client.get(ALICE, headers={"Accept": BROWSER})).text)
    assert "1 follower ·" in page


async def test_undo_follow_removes_the_follower_and_the_counts_follow(
    a: Running, masto: FakePeer
) -> None:
    bob, carol = masto.actor("bob"), masto.actor("carol")
    bob_follow = mastodon.follow(bob, ALICE)
    await deliver(a, bob, bob_follow)
    await deliver(a, carol, mastodon.follow(carol, ALICE))
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 2
    page = page_text((await a.client.get(ALICE, headers={"Accept": BROWSER})).text)
    assert "2 followers ·" in page
    await deliver(a, bob, mastodon.undo_follow(bob, bob_follow))
    followers = (await a.client.get(f"{ALICE}/followers?page=1")).json()
    assert followers["orderedItems"] == [carol.id]
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1
    # Undo of a follow that is gone already changes nothing.
    await deliver(a, bob, mastodon.undo_follow(bob, bob_follow))
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1
    assert all(state == "done" for state, _ in await item_states(a))


async def test_a_follow_signed_with_another_key_is_refused(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    other = load_private_key(generate_rsa_keypair().private_pem)
    assert isinstance(other, rsa.RSAPrivateKey)
    body, headers = mastodon.sign_like_mastodon(
        bob,
        INBOX,
        mastodon.follow(bob, ALICE),
        private_key=other,
    )
    response = await a.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await item_states(a) == []


# Mentions and replies ---------------------------------------------------------------------


async def test_a_mention_reaches_the_agents_inbox_readable_by_its_client(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    create = mastodon.create_note(bob, "are the loaves ready?", mentions=(ALICE,))
    await deliver(a, bob, create)
    items = await inbox(a, await token(a))
    (received,) = [i for i in items if i["type"] == "Create"]
    assert received["id"] == create["id"]
    assert received["object"]["id"] == create["object"]["id"]
    assert "are the loaves ready?" in received["object"]["content"]


async def test_a_direct_message_reaches_the_agent(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    create = mastodon.create_note(bob, "just for you", mentions=(ALICE,), public=False)
    await deliver(a, bob, create)
    items = await inbox(a, await token(a))
    assert [i["id"] for i in items] == [create["id"]]


async def test_a_mention_only_in_tags_reaches_the_agent(a: Running, masto: FakePeer) -> None:
    """Mastodon addresses mentions too, but other servers may only tag them."""
    bob = masto.actor("bob")
    create = mastodon.create_note(bob, "tag only", mentions=(ALICE,))
    for holder in (create, create["object"]):
        holder["cc"] = [f"{bob.id}/followers"]
    await deliver(a, bob, create)
    assert [i["id"] for i in await inbox(a, await token(a))] == [create["id"]]


async def test_a_reply_to_a_proposal_note_reaches_its_author(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    auth = await token(a)
    created = await a.client.post(
        f"{ALICE}/outbox",
        json={
            "type": "Proposal",
            "purpose": "request",
            "name": "Help at the harvest",
            "publishes": {
                "type": "Intent",
                "action": "work",
                "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "4"},
            },
        },
        headers=auth,
    )
    assert created.status_code == 201
    note = created.json()["object"]["id"] + "/note"
    reply = mastodon.create_note(bob, "I can come on Saturday", in_reply_to=note)
    await deliver(a, bob, reply)
    (received,) = [i for i in await inbox(a, auth) if i["type"] == "Create"]
    assert received["object"]["inReplyTo"] == note
    # And a Like of it too.
    await deliver(a, bob, mastodon.like(bob, note))
    assert [i["type"] for i in await inbox(a, auth)] == ["Like", "Create"]


async def test_post_html_is_reduced_to_what_mastodon_keeps(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    create = mastodon.create_note(bob, "hi", mentions=(ALICE,))
    hostile = '<p>hi <script>steal()</script><img src="https://x.example/p.png"><b>x</b></p>'
    create["object"]["content"] = create["object"]["contentMap"]["en"] = hostile
    await deliver(a, bob, create)
    (received,) = await inbox(a, await token(a))
    content = received["object"]["content"]
    assert "<script" not in content
    assert "<img" not in content
    assert "<b>" not in content
    assert received["object"]["contentMap"]["en"] == content
    async with a.services.db.read() as session:
        stored = await session.scalar(
            select(StoredObject).where(StoredObject.uri == create["object"]["id"])
        )
        assert stored is not None
        assert "<script" not in stored.body


# Actors deleting and updating themselves --------------------------------------------------


async def test_delete_of_a_mastodon_account_removes_it_and_its_follows(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    await deliver(a, bob, mastodon.delete_actor(bob))
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0
    async with a.services.db.read() as session:
        assert await session.scalar(select(RemoteActor).where(RemoteActor.uri == bob.id)) is None
        assert await session.scalar(select(RemoteKey).where(RemoteKey.owner == bob.id)) is None
        assert (await session.scalars(select(Follow))).all() == []
    assert [state for state, _ in await item_states(a)] == ["done", "done"]


async def test_update_of_a_mastodon_account_with_a_new_key(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    old_key = bob.private_key
    assert isinstance(old_key, rsa.RSAPrivateKey)  # Mastodon actors have RSA keys
    masto.rotate_key("bob")
    document = mastodon.actor_document(bob)
    document["name"] = "Robert"
    update = mastodon.update_actor(bob, document)
    body, headers = mastodon.sign_like_mastodon(bob, INBOX, update, private_key=old_key)
    assert (await a.client.post(INBOX, content=body, headers=headers)).status_code == 202
    await a.settle()
    async with a.services.db.read() as session:
        actor = await session.scalar(select(RemoteActor).where(RemoteActor.uri == bob.id))
        key = await session.scalar(select(RemoteKey).where(RemoteKey.key_id == bob.key_id))
        assert actor is not None
        assert actor.name == "Robert"
        assert key is not None
        assert key.public_key_pem == bob.public_pem
    # The new key signs from now on.
    carol_follow = mastodon.follow(bob, ALICE)
    await deliver(a, bob, carol_follow)
    assert all(state == "done" for state, _ in await item_states(a))


# Agents following Mastodon accounts -------------------------------------------------------


async def test_an_agent_follows_a_mastodon_account_and_reads_its_posts(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    auth = await token(a)
    response = await a.client.post(
        f"{ALICE}/outbox", json={"type": "Follow", "object": bob.id}, headers=auth
    )
    assert response.status_code == 201
    follow_id = response.headers["location"]
    await a.settle()
    (sent,) = masto.activities("Follow")
    assert (sent["id"], sent["actor"], sent["object"]) == (follow_id, ALICE, bob.id)
    assert masto.received[0].path == "/inbox"  # its shared inbox

    await deliver(a, bob, mastodon.accept_follow(bob, follow_id, ALICE))
    following = (await a.client.get(f"{ALICE}/following?page=1")).json()
    assert following["orderedItems"] == [bob.id]

    # Bob posts to his followers (no mention): alice's inbox has it.
    post = mastodon.create_note(bob, "The market opens at nine")
    await deliver(a, bob, post)
    assert [i["id"] for i in await inbox(a, auth) if i["type"] == "Create"] == [post["id"]]
    # He deletes it: the stored copy becomes a tombstone.
    await deliver(a, bob, mastodon.delete_status(bob, post["object"]["id"]))
    async with a.services.db.read() as session:
        stored = await session.scalar(
            select(StoredObject).where(StoredObject.uri == post["object"]["id"])
        )
        assert stored is not None
        assert stored.deleted_at is not None

    # Unfollowing sends Mastodon the Undo it expects.
    masto.received.clear()
    undo = await a.client.post(
        f"{ALICE}/outbox", json={"type": "Undo", "object": follow_id}, headers=auth
    )
    assert undo.status_code == 201
    await a.settle()
    (sent_undo,) = masto.activities("Undo")
    assert sent_undo["object"] == {
        "id": follow_id,
        "type": "Follow",
        "actor": ALICE,
        "object": bob.id,
    }
    assert (await a.client.get(f"{ALICE}/following")).json()["totalItems"] == 0
