"""ActivityPub beyond following (issue 15), in-process, with a Mastodon-shaped peer:
blind copies, every property of a post, empty arrays, deleting, likes and boosts,
blocks, featured posts, and error messages that name the problem."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from instance.store.models import InboxItem, StoredObject
from tests import mastodon
from tests.fakepeer import FakePeer
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent
from tests.instance.test_mastodon import deliver, inbox, page_text, token

ALICE = "https://a.test/agents/alice"
CAROL = "https://a.test/agents/carol"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BROWSER = "text/html"


@pytest.fixture
async def a(database_url: str, masto: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(masto.origin, masto.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice", name="Alice")
        await add_agent(started, "carol", name="Carol")
        yield started


async def post(a: Running, auth: dict[str, str], document: dict[str, Any]) -> dict[str, Any]:
    response = await a.client.post(f"{ALICE}/outbox", json=document, headers=auth)
    assert response.status_code == 201, response.text
    await a.settle()
    created: dict[str, Any] = response.json()
    return created


async def refused(
    a: Running, auth: dict[str, str], document: dict[str, Any], status: int
) -> dict[str, Any]:
    response = await a.client.post(f"{ALICE}/outbox", json=document, headers=auth)
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    return problem


async def stored_count(a: Running) -> int:
    async with a.services.db.read() as session:
        return len((await session.scalars(select(StoredObject.id))).all())


def _blind(document: dict[str, Any]) -> bool:
    inner = document.get("object")
    keys = set(document) | (set(inner) if isinstance(inner, dict) else set())
    return bool(keys & {"bto", "bcc"})


async def test_bto_and_bcc_reach_their_recipients_and_nobody_sees_them(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    auth = await token(a)
    created = await post(
        a,
        auth,
        {"type": "Note", "content": "<p>psst</p>", "to": [PUBLIC], "bto": [bob.id], "bcc": [CAROL]},
    )
    assert not _blind(created)
    # The remote blind recipient got it, without the blind addressing.
    (sent,) = masto.activities("Create")
    assert sent["id"] == created["id"]
    assert not _blind(sent)
    # The local one has it in its inbox, without it either.
    carol = await token(a, "carol")
    page = await a.client.get(f"{CAROL}/inbox?page=1", headers=carol)
    (filed,) = page.json()["orderedItems"]
    assert filed["id"] == created["id"]
    assert not _blind(filed)
    # Nor is it served at the ids.
    for uri in (created["id"], created["object"]["id"]):
        assert not _blind((await a.client.get(uri)).json())


async def test_a_post_keeps_every_property_its_type_allows(a: Running) -> None:
    auth = await token(a)
    article = {
        "type": "Article",
        "name": "Harvest report",
        "summary": "<p>Short <script>x()</script>version</p>",
        "content": "<p>Long version <img src=x onerror=alert(1)></p>",
        "sensitive": True,
        "inReplyTo": "https://mastodon.example/users/bob/statuses/1",
        "url": "https://a.test/reports/harvest",
        "attachment": [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://a.test/p.png",
                "name": "Field",
            }
        ],
        "tag": [{"type": "Hashtag", "href": "https://a.test/tags/harvest", "name": "#harvest"}],
        "startTime": "2026-12-01T10:00:00Z",
        "wish": "unknown properties are not the type's",
        "to": [PUBLIC],
    }
    created = (await post(a, auth, article))["object"]
    served = (await a.client.get(created["id"])).json()
    for document in (created, served):
        assert document["type"] == "Article"
        assert document["attributedTo"] == ALICE
        for name in ("name", "sensitive", "inReplyTo", "url", "attachment", "tag", "startTime"):
            assert document[name] == article[name], name
        assert "<script>" not in document["summary"]
        assert "Short" in document["summary"]
        assert "onerror" not in document["content"]
        assert "wish" not in document
        assert document["likes"] == f"{document['id']}/likes"
        assert document["shares"] == f"{document['id']}/shares"


async def test_a_badly_shaped_property_is_named_and_nothing_is_stored(a: Running) -> None:
    auth = await token(a)
    before = await stored_count(a)
    problem = await refused(
        a,
        auth,
        {"type": "Note", "content": "x", "attachment": [{"url": "javascript:alert(1)"}]},
        400,
    )
    assert problem["field"] == "object.attachment[0].url"
    problem = await refused(a, auth, {"type": "Note", "content": "x", "sensitive": "yes"}, 400)
    assert problem["field"] == "object.sensitive"
    assert await stored_count(a) == before


async def test_unknown_object_types_are_named_in_the_refusal(a: Running) -> None:
    auth = await token(a)
    problem = await refused(a, auth, {"type": "Create", "object": {"type": "Spaceship"}}, 422)
    assert "does not handle Create of Spaceship objects" in problem["detail"]
    assert "Note" in problem["detail"]  # and what it does handle
    problem = await refused(
        a, auth, {"type": "Delete", "object": "https://a.test/objects/nope"}, 422
    )
    assert "not known here" in problem["detail"]
    problem = await refused(a, auth, {"type": "Arrive"}, 422)
    assert problem["detail"] == "the outbox does not handle Arrive activities"
    created = await post(a, auth, {"type": "Note", "content": "x"})
    problem = await refused(a, auth, {"type": "Undo", "object": created["id"]}, 422)
    assert problem["detail"] == ("Create activities cannot be undone: Delete the object it created")


async def test_a_bare_question_is_a_poll_wrapped_in_a_create(a: Running) -> None:
    auth = await token(a)
    poll = {
        "type": "Question",
        "content": "<p>Which day?</p>",
        "oneOf": [{"type": "Note", "name": "Saturday"}, {"type": "Note", "name": "Sunday"}],
        "endTime": "2026-12-10T10:00:00Z",
    }
    created = await post(a, auth, poll)
    assert created["type"] == "Create"
    assert created["object"]["type"] == "Question"
    assert [choice["name"] for choice in created["object"]["oneOf"]] == ["Saturday", "Sunday"]
    assert created["object"]["endTime"] == poll["endTime"]


async def test_empty_arrays_are_left_out(a: Running) -> None:
    auth = await token(a)
    created = await post(
        a, auth, {"type": "Note", "content": "hi", "tag": [], "cc": [], "to": [PUBLIC]}
    )
    served = (await a.client.get(created["object"]["id"])).json()
    for document in (created, created["object"], served):
        assert [] not in document.values()
    # An empty collection page has no orderedItems at all.
    page = (await a.client.get(f"{created['object']['id']}/likes?page=1")).json()
    assert page["type"] == "OrderedCollectionPage"
    assert "orderedItems" not in page


async def test_a_client_deletes_its_own_note(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    auth = await token(a)
    note = (await post(a, auth, {"type": "Note", "content": "oops", "to": [PUBLIC]}))["object"]
    masto.received.clear()
    await post(a, auth, {"type": "Delete", "object": note["id"]})
    gone = await a.client.get(note["id"])
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"
    (delete,) = masto.activities("Delete")
    assert delete["object"]["id"] == note["id"]
    assert delete["object"]["type"] == "Tombstone"
    # Twice is a 410, someone else's post a 404.
    await refused(a, auth, {"type": "Delete", "object": note["id"]}, 410)
    other = mastodon.create_note(bob, "mine", mentions=(ALICE,))
    await deliver(a, bob, other)
    problem = await refused(a, auth, {"type": "Delete", "object": other["object"]["id"]}, 404)
    assert "not a post of this agent" in problem["detail"]


async def test_likes_and_boosts_from_mastodon_are_counted_shown_and_undone(
    a: Running, masto: FakePeer
) -> None:
    bob, dan = masto.actor("bob"), masto.actor("dan")
    auth = await token(a)
    note = (await post(a, auth, {"type": "Note", "content": "bread", "to": [PUBLIC]}))["object"]
    like = mastodon.like(bob, note["id"])
    await deliver(a, bob, like)
    await deliver(a, dan, mastodon.like(dan, note["id"]))
    await deliver(a, bob, mastodon.like(bob, note["id"]))  # twice counts once
    boost = mastodon.announce(dan, note["id"], ALICE)
    await deliver(a, dan, boost)
    likes = (await a.client.get(note["likes"])).json()
    assert likes["totalItems"] == 2
    shares = (await a.client.get(note["shares"])).json()
    assert shares["totalItems"] == 1
    page = (await a.client.get(f"{note['shares']}?page=1")).json()
    assert page["orderedItems"] == [boost["id"]]
    html = await a.client.get(note["id"], headers={"Accept": BROWSER})
    assert "2 likes · 1 boost" in page_text(html.text)
    # Alice's client sees them in her inbox.
    kinds = [item["type"] for item in await inbox(a, auth)]
    assert kinds.count("Like") == 3
    assert kinds.count("Announce") == 1
    await deliver(a, dan, mastodon.undo(dan, boost))
    await deliver(a, bob, mastodon.undo(bob, mastodon.like(bob, note["id"])))  # a fresh copy
    assert (await a.client.get(note["likes"])).json()["totalItems"] == 1
    assert (await a.client.get(note["shares"])).json()["totalItems"] == 0


async def test_a_posts_public_replies_are_listed_in_its_replies_collection(
    a: Running, masto: FakePeer
) -> None:
    bob, dan = masto.actor("bob"), masto.actor("dan")
    auth = await token(a)
    note = (await post(a, auth, {"type": "Note", "content": "bread", "to": [PUBLIC]}))["object"]
    assert note["replies"] == f"{note['id']}/replies"
    answer = mastodon.create_note(bob, "which flour?", mentions=(ALICE,), in_reply_to=note["id"])
    await deliver(a, bob, answer)
    aside = mastodon.create_note(
        dan, "psst", mentions=(ALICE,), in_reply_to=note["id"], public=False
    )
    await deliver(a, dan, aside)
    own = await post(
        a, auth, {"type": "Note", "content": "rye", "inReplyTo": note["id"], "to": [PUBLIC]}
    )
    replies = (await a.client.get(note["replies"])).json()
    assert replies["totalItems"] == 2  # dan's reply was not public
    page = (await a.client.get(replies["first"])).json()
    assert set(page["orderedItems"]) == {answer["object"]["id"], own["object"]["id"]}
    # A deleted reply leaves the list.
    await post(a, auth, {"type": "Delete", "object": own["object"]["id"]})
    assert (await a.client.get(note["replies"])).json()["totalItems"] == 1


async def liked_items(a: Running, auth: dict[str, str]) -> list[Any]:
    headers = {**auth, "Accept": "application/activity+json"}
    collection = (await a.client.get(f"{ALICE}/liked", headers=headers)).json()
    assert collection["type"] == "OrderedCollection"
    if not collection["totalItems"]:
        return []
    page = (await a.client.get(collection["first"], headers=headers)).json()
    items: list[Any] = page.get("orderedItems", [])
    return items


async def test_an_agent_likes_and_boosts_a_mastodon_post_and_undoes_it(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    status = mastodon.create_note(bob, "hello coop", mentions=(ALICE,))
    await deliver(a, bob, status)
    auth = await token(a)
    masto.received.clear()
    liked = await post(a, auth, {"type": "Like", "object": status["object"]["id"]})
    boosted = await post(a, auth, {"type": "Announce", "object": status["object"]["id"]})
    (like,) = masto.activities("Like")
    assert like["object"] == status["object"]["id"]
    assert like["to"] == [bob.id]
    (announce,) = masto.activities("Announce")
    assert announce["to"] == [PUBLIC]
    assert bob.id in announce["cc"]
    await refused(a, auth, {"type": "Like", "object": status["object"]["id"]}, 409)
    # Alice's client finds it in her liked collection; nobody else does (she liked it
    # addressing Bob only).
    actor = (await a.client.get(ALICE, headers={"Accept": "application/activity+json"})).json()
    assert actor["liked"] == f"{ALICE}/liked"
    assert await liked_items(a, auth) == [status["object"]["id"]]
    assert await liked_items(a, {}) == []
    await post(a, auth, {"type": "Undo", "object": liked["id"]})
    assert await liked_items(a, auth) == []
    await post(a, auth, {"type": "Undo", "object": boosted["id"]})
    undos = masto.activities("Undo")
    assert {u["object"]["type"] for u in undos} == {"Like", "Announce"}
    assert {u["object"]["id"] for u in undos} == {liked["id"], boosted["id"]}
    # Liking it again works once undone.
    await post(a, auth, {"type": "Like", "object": status["object"]["id"]})
    problem = await refused(a, auth, {"type": "Like", "object": "https://nowhere.example/1"}, 404)
    assert problem["field"] == "object"


async def test_a_blocked_actor_is_refused_unfollowed_and_sent_nothing(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    auth = await token(a)
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1
    masto.received.clear()
    before = await inbox(a, auth)
    block = await post(a, auth, {"type": "Block", "object": bob.id})
    assert masto.received == []  # the Block itself goes to nobody
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0
    # Bob's activities to Alice are refused: his follow, his mention, his like.
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    await deliver(a, bob, mastodon.create_note(bob, "let me in", mentions=(ALICE,)))
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0
    assert await inbox(a, auth) == before
    async with a.services.db.read() as session:
        errors = [i.error for i in await session.scalars(select(InboxItem).order_by(InboxItem.id))]
    assert errors[-1] == f"{bob.id} is blocked by the agents it addresses"
    # Nothing of Alice's goes to him, even addressed to him.
    await post(a, auth, {"type": "Note", "content": "hi bob", "to": [bob.id]})
    assert masto.received == []
    await refused(a, auth, {"type": "Block", "object": bob.id}, 409)
    # Undone, he can follow again.
    await post(a, auth, {"type": "Undo", "object": block["id"]})
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1


async def test_featured_posts_are_added_and_removed(a: Running, masto: FakePeer) -> None:
    bob = masto.actor("bob")
    await deliver(a, bob, mastodon.follow(bob, ALICE))
    auth = await token(a)
    featured = f"{ALICE}/featured"
    note = (await post(a, auth, {"type": "Note", "content": "pin me", "to": [PUBLIC]}))["object"]
    masto.received.clear()
    await post(a, auth, {"type": "Add", "object": note["id"], "target": featured})
    (add,) = masto.activities("Add")
    assert add["target"] == featured
    assert add["object"] == note["id"]
    page = (await a.client.get(f"{featured}?page=1")).json()
    assert page["orderedItems"] == [note["id"]]
    await refused(a, auth, {"type": "Add", "object": note["id"], "target": featured}, 409)
    problem = await refused(
        a, auth, {"type": "Add", "object": note["id"], "target": f"{ALICE}/followers"}, 422
    )
    assert problem["field"] == "target"
    await post(a, auth, {"type": "Remove", "object": note["id"], "target": featured})
    assert (await a.client.get(featured)).json()["totalItems"] == 0
    await refused(a, auth, {"type": "Remove", "object": note["id"], "target": featured}, 404)
