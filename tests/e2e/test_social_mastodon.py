"""Likes, boosts, deleting, blocking and moving, between real ``oce serve`` processes and
a Mastodon-shaped server on a loopback port (payloads shaped and signed as Mastodon's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import mastodon
from tests.conformance.test_mastodon import Live, get, send, wait_for
from tests.databases import SqliteFactory
from tests.fakepeer import FakePeer
from tests.federation.servers import serve
from tests.processes import serving

pytestmark = pytest.mark.e2e

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def masto() -> AsyncIterator[FakePeer]:
    peer = FakePeer("http://placeholder", nodeinfo=mastodon.NODEINFO)
    peer.actor_document = mastodon.actor_document
    async with serve(peer.app()) as origin:
        peer.origin = origin
        yield peer


async def outbox(client: httpx.AsyncClient, live: Live, document: dict[str, Any]) -> Any:
    response = await client.post(
        f"{live.alice}/outbox", json=document, headers={"Authorization": f"Bearer {live.token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_reactions_deletes_blocks_and_a_move(
    masto: FakePeer, sqlite_factory: SqliteFactory, tmp_path: Path
) -> None:
    bob, mona = masto.actor("bob"), masto.actor("mona")
    with (
        serving("social-old", sqlite_factory.new(), tmp_path) as old,
        serving("social-new", sqlite_factory.new(), tmp_path) as new,
    ):
        old.cli("agent", "create", "alice", "--name", "Alice")
        live = Live(old, old.cli("token", "create", "alice").stdout.strip())
        async with httpx.AsyncClient(timeout=10) as client:
            # Mona follows Alice; Alice posts.
            await send(client, live, mona, mastodon.follow(mona, live.alice))
            await wait_for("Mona's Accept", lambda: masto.activities("Accept"), live)
            note = (
                await outbox(
                    client,
                    live,
                    {
                        "type": "Note",
                        "content": "bread",
                        "to": [PUBLIC],
                        "cc": [f"{live.alice}/followers"],
                    },
                )
            )["object"]

            # Bob likes and boosts it; the counts and the page show it; an Undo counts.
            like = mastodon.like(bob, note["id"])
            await send(client, live, bob, like)
            await send(client, live, bob, mastodon.announce(bob, note["id"], live.alice))

            async def total(collection: str) -> int:
                return int((await get(client, note[collection]))["totalItems"])

            await wait_for("the boost", lambda: total("shares"), live)
            assert await total("likes") == 1
            page = await client.get(note["id"], headers={"Accept": "text/html"})
            assert "1 like · 1 boost" in page.text
            await send(client, live, bob, mastodon.undo(bob, like))
            await wait_for("the unlike", lambda: _zero(total("likes")), live)

            # Alice likes a status of Mona's that reached her.
            status = mastodon.create_note(mona, "hello", mentions=(live.alice,))
            await send(client, live, mona, status)
            await wait_for("Mona's status", lambda: _reached(client, live), live)
            liked = await outbox(client, live, {"type": "Like", "object": status["object"]["id"]})
            await wait_for("the Like at Mastodon", lambda: masto.activities("Like"), live)
            assert masto.activities("Like")[0]["id"] == liked["id"]

            # Alice deletes her note: 410 with a Tombstone; Mona's server hears of it.
            await outbox(client, live, {"type": "Delete", "object": note["id"]})
            gone = await client.get(note["id"], headers={"Accept": "application/activity+json"})
            assert gone.status_code == 410
            assert gone.json()["type"] == "Tombstone"
            await wait_for("the Delete", lambda: masto.activities("Delete"), live)

            # Alice blocks Bob: his follow is refused, nothing of hers reaches him.
            await outbox(client, live, {"type": "Block", "object": bob.id})
            await send(client, live, bob, mastodon.follow(bob, live.alice))
            masto.received.clear()
            await outbox(client, live, {"type": "Note", "content": "hi", "to": [bob.id, mona.id]})
            await wait_for("the note to Mona", lambda: masto.activities("Create"), live)
            assert all(r.path != "/users/bob/inbox" for r in masto.received)
            assert (await get(client, f"{live.alice}/followers"))["totalItems"] == 1

            # Alice moves to the other instance; Mona's server receives the Move, checks
            # the new actor and follows it.
            exported = tmp_path / "alice.jsonld"
            exported.write_text(old.cli("export", "alice", "--with-keys").stdout)
            target = new.cli("import", str(exported)).stdout.strip()
            assert target == f"{new.base_url}/agents/alice"
            masto.received.clear()
            await outbox(client, live, {"type": "Move", "object": live.alice, "target": target})
            (move,) = await wait_for("the Move", lambda: masto.activities("Move"), live)
            assert (move["object"], move["target"]) == (live.alice, target)
            assert live.alice in (await get(client, target))["alsoKnownAs"]
            assert (await get(client, live.alice))["movedTo"] == target
            moved = Live(new, "")
            masto.received.clear()
            await send(client, moved, mona, mastodon.follow(mona, target))
            (accept,) = await wait_for("the new Accept", lambda: masto.activities("Accept"), moved)
            assert accept["actor"] == target
            assert (await get(client, f"{target}/followers"))["totalItems"] == 1


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def _reached(client: httpx.AsyncClient, live: Live) -> bool:
    page = await client.get(
        f"{live.alice}/inbox?page=1", headers={"Authorization": f"Bearer {live.token}"}
    )
    return any(item.get("type") == "Create" for item in page.json().get("orderedItems", []))
