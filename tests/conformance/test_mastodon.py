"""Mastodon conformance against a live instance: a real ``oce serve`` and a fake Mastodon.

The fake Mastodon is a real HTTP server on a loopback port (uvicorn, in this process):
it serves its accounts (Mastodon-shaped actor documents, with keys this test holds),
its NodeInfo, and records what reaches its inboxes. The test sends the instance the
payloads Mastodon sends, shaped and signed as Mastodon does (tests/mastodon.py):
Follow (rsa-sha256 and hs2019), Undo, Create{Note} with mentions, Delete of an actor,
Update of an actor with a new key. It then checks what the instance answered and
delivered, over HTTP only, as Mastodon would see it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import mastodon
from tests.databases import SqliteFactory
from tests.fakepeer import FakePeer, PeerActor
from tests.federation.servers import serve
from tests.processes import Process, serving

pytestmark = pytest.mark.e2e

WAIT_S = 20.0


@dataclass
class Live:
    server: Process
    token: str

    @property
    def alice(self) -> str:
        return f"{self.server.base_url}/agents/alice"

    @property
    def inbox(self) -> str:
        return f"{self.server.base_url}/inbox"


@pytest.fixture(scope="module")
def live(sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with serving("mastodon-conformance", sqlite_factory.new(), tmp_path_factory.mktemp("m")) as s:
        s.cli("agent", "create", "alice", "--name", "Alice")
        yield Live(s, s.cli("token", "create", "alice").stdout.strip())


@pytest.fixture
async def masto() -> AsyncIterator[FakePeer]:
    """A Mastodon server on a loopback port, for one test."""
    peer = FakePeer("http://placeholder", nodeinfo=mastodon.NODEINFO)
    peer.actor_document = mastodon.actor_document
    async with serve(peer.app()) as origin:
        peer.origin = origin
        yield peer


async def wait_for(what: str, check: Callable[[], Any], live: Live) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{live.server.output()[-4000:]}")


async def send(
    client: httpx.AsyncClient,
    live: Live,
    actor: PeerActor,
    activity: dict[str, Any],
    **signing: Any,
) -> None:
    body, headers = mastodon.sign_like_mastodon(actor, live.inbox, activity, **signing)
    response = await client.post(live.inbox, content=body, headers=headers)
    assert response.status_code == 202, response.text


async def get(client: httpx.AsyncClient, url: str, **headers: str) -> Any:
    response = await client.get(url, headers={"Accept": "application/activity+json", **headers})
    response.raise_for_status()
    return response.json()


async def followers(client: httpx.AsyncClient, live: Live) -> int:
    count: int = (await get(client, f"{live.alice}/followers"))["totalItems"]
    return count


def answers(peer: FakePeer, kind: str, about: str) -> list[dict[str, Any]]:
    return [a for a in peer.activities(kind) if isinstance(a.get("object"), dict)
            and a["object"].get("id") == about]  # fmt: skip


async def test_a_mastodon_search_for_the_handle_finds_the_actor(live: Live) -> None:
    """WebFinger round trip: the handle gives the actor, whose preferredUsername and host
    give back the same handle and the same actor."""
    host = live.server.base_url.removeprefix("http://")
    async with httpx.AsyncClient(timeout=10) as client:
        jrd = await client.get(
            f"{live.server.base_url}/.well-known/webfinger",
            params={"resource": f"acct:alice@{host}"},
            headers={"Accept": "application/jrd+json"},
        )
        assert jrd.status_code == 200
        (self_link,) = [link for link in jrd.json()["links"] if link["rel"] == "self"]
        assert self_link["type"] == "application/activity+json"
        actor = await get(client, self_link["href"])
        assert actor["id"] == self_link["href"] == live.alice
        again = await client.get(
            f"{live.server.base_url}/.well-known/webfinger",
            params={"resource": f"acct:{actor['preferredUsername']}@{host}"},
        )
        assert again.json()["subject"] == f"acct:alice@{host}"
        assert [link["href"] for link in again.json()["links"] if link["rel"] == "self"] == [
            actor["id"]
        ]


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "hs2019"])
async def test_follow_accept_and_undo(live: Live, masto: FakePeer, algorithm: str) -> None:
    bob = masto.actor(f"bob_{algorithm.replace('-', '')}")
    async with httpx.AsyncClient(timeout=10) as client:
        before = await followers(client, live)
        follow = mastodon.follow(bob, live.alice)
        await send(client, live, bob, follow, algorithm=algorithm)
        (accept,) = await wait_for(
            "the Accept", lambda: answers(masto, "Accept", follow["id"]), live
        )
        assert accept["actor"] == live.alice
        assert accept["object"] == {
            "id": follow["id"],
            "type": "Follow",
            "actor": bob.id,
            "object": live.alice,
        }
        assert await followers(client, live) == before + 1
        await send(client, live, bob, mastodon.undo_follow(bob, follow))

        async def back() -> bool:
            return await followers(client, live) == before

        await wait_for("the follower to be removed", back, live)


async def test_a_mention_reaches_the_agents_inbox(live: Live, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    create = mastodon.create_note(bob, "is there bread left?", mentions=(live.alice,))
    auth = {"Authorization": f"Bearer {live.token}"}
    async with httpx.AsyncClient(timeout=10) as client:
        await send(client, live, bob, create)

        async def arrived() -> list[Any]:
            page = await get(client, f"{live.alice}/inbox?page=1", **auth)
            return [i for i in page.get("orderedItems", []) if i["id"] == create["id"]]

        (received,) = await wait_for("the mention in alice's inbox", arrived, live)
        assert received["object"]["attributedTo"] == bob.id
        assert "is there bread left?" in received["object"]["content"]


async def test_update_of_an_actor_with_a_new_key_then_delete(live: Live, masto: FakePeer) -> None:
    carol = masto.actor("carol")
    async with httpx.AsyncClient(timeout=10) as client:
        before = await followers(client, live)
        first = mastodon.follow(carol, live.alice)
        await send(client, live, carol, first)
        await wait_for("the Accept", lambda: answers(masto, "Accept", first["id"]), live)

        old_key = carol.private_key
        masto.rotate_key("carol")
        update = mastodon.update_actor(carol, mastodon.actor_document(carol))
        await send(client, live, carol, update, private_key=old_key)
        # Signed with the new key only: accepted once the Update brought it.
        again = mastodon.follow(carol, live.alice)

        async def accepted_with_new_key() -> bool:
            body, headers = mastodon.sign_like_mastodon(carol, live.inbox, again)
            response = await client.post(live.inbox, content=body, headers=headers)
            return response.status_code == 202

        await wait_for("a request signed with the new key", accepted_with_new_key, live)
        await wait_for("the second Accept", lambda: answers(masto, "Accept", again["id"]), live)

        await send(client, live, carol, mastodon.delete_actor(carol))

        async def gone() -> bool:
            return await followers(client, live) == before

        await wait_for("carol's follow to be removed", gone, live)


async def test_a_new_offer_reaches_a_mastodon_follower_as_a_note(
    live: Live, masto: FakePeer
) -> None:
    dave = masto.actor("dave")
    auth = {"Authorization": f"Bearer {live.token}"}
    async with httpx.AsyncClient(timeout=10) as client:
        follow = mastodon.follow(dave, live.alice)
        await send(client, live, dave, follow)
        await wait_for("the Accept", lambda: answers(masto, "Accept", follow["id"]), live)
        created = await client.post(
            f"{live.alice}/outbox",
            json={
                "type": "Proposal",
                "purpose": "offer",
                "name": "Jam",
                "publishes": {
                    "type": "Intent",
                    "action": "transfer",
                    "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "6"},
                },
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
        proposal = created.json()["object"]["id"]
        note_id = f"{proposal}/note"
        (note_create,) = await wait_for("the Note", lambda: answers(masto, "Create", note_id), live)
        assert note_create["object"]["type"] == "Note"
        assert note_create["object"]["url"] == proposal
        assert "Offer: Jam" in note_create["object"]["content"]
        assert not [a for a in masto.activities("Create") if a["object"]["type"] == "Proposal"]
        # The Note's id answers as Mastodon fetches it.
        fetched = await get(client, note_id)
        assert fetched["id"] == note_id
        assert fetched["type"] == "Note"
        assert "/.well-known/nodeinfo" in masto.fetched
