"""GoToSocial, Pleroma/Akkoma and PeerTube: contexts oce does not bundle, social still works.

Their documents name JSON-LD contexts oce never fetches (``https://gotosocial.org/ns``,
``…/schemas/litepub-0.1.jsonld``) or redefine a ValueFlows term inline (PeerTube's
``state``). Their social activities are read as the plain ActivityStreams JSON they are;
a ValueFlows object in such a document is refused and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from instance.agents import get_agent
from instance.store.models import Follow, InboxItem, Proposal
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent
from vocab import ContextError, normalize

ALICE = "https://a.test/agents/alice"
INBOX = "https://a.test/inbox"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SECURITY = "https://w3id.org/security/v1"

GTS_CONTEXT = ["https://gotosocial.org/ns", AS, SECURITY]
AKKOMA_CONTEXT: list[Any] = [
    AS,
    "https://akkoma.example/schemas/litepub-0.1.jsonld",
    {"@language": "und"},
]
PEERTUBE_CONTEXT: list[Any] = [
    AS,
    SECURITY,
    {"RsaSignature2017": "https://w3id.org/security#RsaSignature2017"},
    {
        "pt": "https://joinpeertube.org/ns#",
        "sc": "http://schema.org/",
        "Hashtag": "as:Hashtag",
        "uuid": "sc:identifier",
        "category": "sc:category",
        "licence": "sc:license",
        "sensitive": "as:sensitive",
        "language": "sc:inLanguage",
        "views": {"@type": "sc:Number", "@id": "pt:views"},
        "state": {"@type": "sc:Number", "@id": "pt:state"},
        "size": {"@type": "sc:Number", "@id": "pt:size"},
        "commentsEnabled": {"@type": "sc:Boolean", "@id": "pt:commentsEnabled"},
        "likes": {"@id": "as:likes", "@type": "@id"},
        "dislikes": {"@id": "as:dislikes", "@type": "@id"},
        "shares": {"@id": "as:shares", "@type": "@id"},
        "comments": {"@id": "as:comments", "@type": "@id"},
    },
]


def ulid() -> str:
    return uuid.uuid4().hex[:26].upper()


def gts_follow(actor: PeerActor) -> dict[str, Any]:
    return {
        "@context": GTS_CONTEXT,
        "actor": actor.id,
        "id": f"{actor.id}/follow/{ulid()}",
        "object": ALICE,
        "type": "Follow",
    }


def akkoma_follow(actor: PeerActor) -> dict[str, Any]:
    return {
        "@context": AKKOMA_CONTEXT,
        "actor": actor.id,
        "cc": [],
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "object": ALICE,
        "state": "pending",
        "to": [ALICE],
        "type": "Follow",
    }


def peertube_follow(actor: PeerActor) -> dict[str, Any]:
    return {
        "type": "Follow",
        "id": f"{actor.id}/follows/{uuid.uuid4().int % 10_000}",
        "actor": actor.id,
        "object": ALICE,
        "@context": PEERTUBE_CONTEXT,
    }


def akkoma_note(actor: PeerActor, text: str, *, mention: str) -> dict[str, Any]:
    object_id = f"{actor.origin}/objects/{uuid.uuid4()}"
    context = f"{actor.origin}/contexts/{uuid.uuid4()}"
    published = "2024-05-01T10:00:00.000000Z"
    return {
        "@context": AKKOMA_CONTEXT,
        "actor": actor.id,
        "cc": [f"{actor.id}/followers"],
        "context": context,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "object": {
            "actor": actor.id,
            "attachment": [],
            "attributedTo": actor.id,
            "cc": [f"{actor.id}/followers"],
            "content": f'<span class="h-card"><a class="u-url mention" href="{mention}">'
            f"@<span>alice</span></a></span> {text}",
            "context": context,
            "conversation": context,
            "id": object_id,
            "published": published,
            "sensitive": False,
            "source": {"content": f"@alice@a.test {text}", "mediaType": "text/plain"},
            "summary": "",
            "tag": [{"href": mention, "name": "@alice@a.test", "type": "Mention"}],
            "to": [PUBLIC, mention],
            "type": "Note",
        },
        "published": published,
        "to": [PUBLIC, mention],
        "type": "Create",
    }


def gts_reply(actor: PeerActor, in_reply_to: str) -> dict[str, Any]:
    status = f"{actor.id}/statuses/{ulid()}"
    everyone = {"always": [PUBLIC], "approvalRequired": []}
    return {
        "@context": GTS_CONTEXT,
        "actor": actor.id,
        "cc": [f"{actor.id}/followers"],
        "id": f"{status}/activity",
        "object": {
            "attributedTo": actor.id,
            "cc": [f"{actor.id}/followers"],
            "content": "<p>Count me in!</p>",
            "id": status,
            "inReplyTo": in_reply_to,
            "interactionPolicy": {
                "canAnnounce": everyone,
                "canLike": everyone,
                "canReply": everyone,
            },
            "published": "2024-05-01T10:00:00Z",
            "sensitive": False,
            "summary": "",
            "tag": [],
            "to": [PUBLIC],
            "type": "Note",
            "url": f"{actor.origin}/@{actor.name}/statuses/{ulid()}",
        },
        "published": "2024-05-01T10:00:00Z",
        "to": [PUBLIC],
        "type": "Create",
    }


@pytest.fixture
def peer() -> FakePeer:
    return FakePeer("https://fedi.example")


@pytest.fixture
async def a(database_url: str, peer: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(peer.origin, peer.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice")
        yield started


async def deliver(a: Running, actor: PeerActor, activity: dict[str, Any]) -> InboxItem:
    body, headers = signed_post(actor, INBOX, activity)
    assert (await a.client.post(INBOX, content=body, headers=headers)).status_code == 202
    await a.settle()
    async with a.services.db.read() as session:
        item = await session.scalar(
            select(InboxItem).where(InboxItem.activity_uri == activity["id"])
        )
        assert item is not None
        return item


async def token(a: Running) -> dict[str, str]:
    async with a.services.db.write() as session:
        agent = await get_agent(session, "alice")
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


@pytest.mark.parametrize(
    "follow", [gts_follow, akkoma_follow, peertube_follow], ids=["gotosocial", "akkoma", "peertube"]
)
async def test_a_follow_from_a_server_whose_context_we_cannot_read_is_accepted(
    a: Running, peer: FakePeer, follow: Callable[[PeerActor], dict[str, Any]]
) -> None:
    actor = peer.actor("tobi")
    activity = follow(actor)
    with pytest.raises(ContextError):
        normalize(activity)  # what made these fail before
    item = await deliver(a, actor, activity)
    assert (item.state, item.error) == ("done", None)
    (accept,) = peer.activities("Accept")
    assert accept["object"]["id"] == activity["id"]
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 1

    undo = {
        "@context": activity["@context"],
        "id": f"{activity['id']}/undo",
        "type": "Undo",
        "actor": actor.id,
        "object": {k: v for k, v in activity.items() if k != "@context"},
    }
    assert (await deliver(a, actor, undo)).state == "done"
    assert (await a.client.get(f"{ALICE}/followers")).json()["totalItems"] == 0


async def test_an_akkoma_mention_reaches_the_agent(a: Running, peer: FakePeer) -> None:
    lain = peer.actor("lain")
    create = akkoma_note(lain, "do you still have rye?", mention=ALICE)
    assert (await deliver(a, lain, create)).state == "done"
    page = await a.client.get(f"{ALICE}/inbox?page=1", headers=await token(a))
    (received,) = page.json()["orderedItems"]
    assert received["object"]["id"] == create["object"]["id"]
    assert "do you still have rye?" in received["object"]["content"]


async def test_a_gotosocial_reply_to_a_proposal_note_reaches_its_author(
    a: Running, peer: FakePeer
) -> None:
    auth = await token(a)
    created = await a.client.post(
        f"{ALICE}/outbox",
        json={
            "type": "Proposal",
            "purpose": "offer",
            "name": "Apples",
            "publishes": {
                "type": "Intent",
                "action": "transfer",
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "3"},
            },
        },
        headers=auth,
    )
    note = created.json()["object"]["id"] + "/note"
    tobi = peer.actor("tobi")
    assert (await deliver(a, tobi, gts_reply(tobi, note))).state == "done"
    page = await a.client.get(f"{ALICE}/inbox?page=1", headers=auth)
    (received,) = page.json()["orderedItems"]
    assert received["object"]["inReplyTo"] == note


@pytest.mark.parametrize("context", [GTS_CONTEXT, AKKOMA_CONTEXT, PEERTUBE_CONTEXT])
async def test_valueflows_objects_in_such_documents_stay_refused(
    a: Running, peer: FakePeer, context: list[Any]
) -> None:
    tobi = peer.actor("tobi")
    proposal = f"{peer.origin}/proposals/{uuid.uuid4()}"
    create = {
        "@context": context,
        "id": f"{proposal}/activity",
        "type": "Create",
        "actor": tobi.id,
        "to": [PUBLIC],
        "object": {
            "id": proposal,
            "type": "Proposal",
            "purpose": "offer",
            "attributedTo": tobi.id,
            "publishes": {
                "id": f"{proposal}#primary",
                "type": "Intent",
                "action": "transfer",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
            },
            "to": [PUBLIC],
        },
    }
    item = await deliver(a, tobi, create)
    assert item.state == "failed"
    assert item.error is not None
    assert "context" in item.error
    async with a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0


async def test_a_reference_to_a_valueflows_record_is_not_read_from_plain_json(
    a: Running, peer: FakePeer
) -> None:
    """A bare id naming a ValueFlows record (here the peer's own proposal, as we
    recorded it) makes the activity a ValueFlows one: refused from plain JSON."""
    tobi = peer.actor("tobi")
    proposal = f"{peer.origin}/proposals/p"
    async with a.services.db.write() as session:
        session.add(Proposal(uri=proposal, proposer=tobi.id, purpose="offer", body="{}"))
    delete = {
        "@context": GTS_CONTEXT,
        "id": f"{tobi.id}/delete/{ulid()}",
        "type": "Delete",
        "actor": tobi.id,
        "object": proposal,
    }
    item = await deliver(a, tobi, delete)
    assert item.state == "failed"
    assert "Delete of Proposal" in (item.error or "")
    async with a.services.db.read() as session:
        row = await session.scalar(select(Proposal))
        assert row is not None
        assert row.state == "open"
        assert (await session.scalars(select(Follow))).all() == []
