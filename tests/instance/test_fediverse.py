"""Proposals on the Fediverse: Mastodon followers get a Note, ValueFlows peers the Proposal.

Two fake servers follow alice: ``mastodon.example`` (its NodeInfo names Mastodon) and
``vf.example`` (its NodeInfo has ``metadata.valueflows``, as oce's does). Each gets
exactly one delivery per proposal, edit and withdrawal, in its own rendering.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from instance.agents import get_agent
from instance.store.models import Delivery, RemoteServer
from instance.tokens import create_token
from tests import mastodon
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BREAD = "https://www.wikidata.org/wiki/Q7802"
VF_NODEINFO: dict[str, Any] = {
    "version": "2.1",
    "software": {"name": "oce", "version": "0.1.0"},
    "protocols": ["activitypub"],
    "metadata": {"valueflows": {"version": "1.0.0"}},
}


@pytest.fixture
def vf() -> FakePeer:
    return FakePeer("https://vf.example", nodeinfo=VF_NODEINFO)


@pytest.fixture
async def a(database_url: str, masto: FakePeer, vf: FakePeer) -> AsyncIterator[Running]:
    network = Network()
    network.add(masto.origin, masto.app())
    network.add(vf.origin, vf.app())
    async with running(make_settings(database_url), network=network) as started:
        await add_agent(started, "alice", name="Alice's Bakery")
        yield started


async def auth(a: Running) -> dict[str, str]:
    async with a.services.db.write() as session:
        agent = await get_agent(session, "alice")
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


async def followed_by(a: Running, peer: FakePeer, *names: str) -> None:
    for name in names:
        actor = peer.actor(name)
        body, headers = signed_post(actor, "https://a.test/inbox", mastodon.follow(actor, ALICE))
        assert (await a.client.post("/inbox", content=body, headers=headers)).status_code == 202
    await a.settle()
    peer.received.clear()


async def post(a: Running, headers: dict[str, str], document: dict[str, Any]) -> dict[str, Any]:
    response = await a.client.post(f"{ALICE}/outbox", json=document, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def count_deliveries(a: Running) -> int:
    async with a.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)


def bread_offer(**extra: Any) -> dict[str, Any]:
    return {
        "type": "Proposal",
        "purpose": "offer",
        "name": "Rye bread",
        "content": "<p>Baked this morning <script>alert(1)</script><b>warm</b></p>",
        "location": {"type": "Place", "name": "Market square"},
        "unitBased": True,
        "publishes": {
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": BREAD,
            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "5"},
            "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "30"},
        },
        "reciprocal": {
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": "https://a.test/specs/credit",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "10"},
        },
        **extra,
    }


def only_tags(html: str) -> set[str]:
    return set(re.findall(r"</?\s*([a-zA-Z0-9]+)", html))


async def test_a_proposal_reaches_mastodon_as_a_note_and_vf_peers_as_itself(
    a: Running, masto: FakePeer, vf: FakePeer
) -> None:
    await followed_by(a, masto, "bob", "carol")
    await followed_by(a, vf, "dora")
    deliveries_before = await count_deliveries(a)
    created = await post(a, await auth(a), bread_offer())
    proposal = created["object"]["id"]
    await a.settle()

    # The ValueFlows peer: the Proposal itself, once, and no Note.
    assert [r.path for r in vf.received] == ["/inbox"]
    (vf_create,) = vf.activities()
    assert vf_create["type"] == "Create"
    assert vf_create["id"] == created["id"]
    assert vf_create["object"]["type"] == "Proposal"
    assert vf_create["object"]["id"] == proposal

    # Mastodon: one delivery to its shared inbox (two followers there), a Create{Note}.
    assert [r.path for r in masto.received] == ["/inbox"]
    (note_create,) = masto.activities()
    assert note_create["type"] == "Create"
    assert note_create["id"] != created["id"]
    assert note_create["actor"] == ALICE
    assert PUBLIC in note_create["to"]
    assert f"{ALICE}/followers" in note_create["cc"]
    note = note_create["object"]
    assert note["type"] == "Note"
    assert note["id"] == f"{proposal}/note"
    assert note["attributedTo"] == ALICE
    assert note["url"] == proposal
    assert note["to"] == note_create["to"]
    assert note["attachment"] == [
        {
            "type": "Link",
            "name": "Rye bread",
            "href": proposal,
            "mediaType": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
            "rel": ["https://w3id.org/valueflows/ont/vf#Proposal"],
        }
    ]
    assert "summary" not in note  # Mastodon would show it as a content warning
    content = note["content"]
    assert only_tags(content) <= {"p", "br", "a", "span"}
    assert "alert(1)" not in content
    for words in (
        "Offer: Rye bread",
        "Baked this morning",
        "Offered: 5 kilogram of Q7802 (30 kilogram still available)",
        "In return: 10 credit",
        "Where: Market square",
    ):
        assert words in content, (words, content)
    assert f'href="{proposal}"' in content

    # The Note is served at its id, and the Proposal still at its own.
    served = await a.client.get(note["id"], headers={"Accept": "application/activity+json"})
    assert served.status_code == 200
    assert served.json()["content"] == content
    assert (await a.client.get(proposal)).json()["type"] == "Proposal"
    # Nobody got both: one delivery per server.
    assert await count_deliveries(a) - deliveries_before == 2


async def test_an_edit_and_a_withdrawal_follow_each_rendering(
    a: Running, masto: FakePeer, vf: FakePeer
) -> None:
    await followed_by(a, masto, "bob")
    await followed_by(a, vf, "dora")
    headers = await auth(a)
    created = await post(a, headers, bread_offer())
    proposal = created["object"]["id"]
    await a.settle()
    masto.received.clear()
    vf.received.clear()

    edit = {
        "type": "Update",
        "object": {
            "id": proposal,
            "type": "Proposal",
            "name": "Rye and spelt bread",
            "content": "Two kinds now",
            "publishes": {
                "id": f"{proposal}#primary",
                "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "12"},
            },
        },
    }
    updated = await post(a, headers, edit)
    assert updated["type"] == "Update"
    assert updated["object"]["name"] == "Rye and spelt bread"
    await a.settle()
    (vf_update,) = vf.activities()
    assert vf_update["type"] == "Update"
    assert vf_update["object"]["type"] == "Proposal"
    assert vf_update["object"]["name"] == "Rye and spelt bread"
    assert vf_update["object"]["publishes"]["availableQuantity"]["hasNumericalValue"] == "12"
    (note_update,) = masto.activities()
    assert note_update["type"] == "Update"
    note = note_update["object"]
    assert note["id"] == f"{proposal}/note"
    assert "Rye and spelt bread" in note["content"]
    assert "12 kilogram still available" in note["content"]
    assert note["updated"] >= note["published"]
    live = (await a.client.get(proposal)).json()
    assert live["name"] == "Rye and spelt bread"
    assert live["publishes"]["availableQuantity"]["hasNumericalValue"] == "12"
    note_now = (await a.client.get(note["id"])).json()
    assert note_now["content"] == note["content"]

    masto.received.clear()
    vf.received.clear()
    await post(a, headers, {"type": "Delete", "object": proposal})
    await a.settle()
    (vf_delete,) = vf.activities()
    assert vf_delete["type"] == "Delete"
    assert vf_delete["object"] == proposal
    (note_delete,) = masto.activities()
    assert note_delete["type"] == "Delete"
    assert note_delete["object"]["id"] == f"{proposal}/note"
    assert note_delete["object"]["type"] == "Tombstone"
    gone = await a.client.get(note["id"])
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"
    # A withdrawn proposal can no longer change.
    again = await a.client.post(f"{ALICE}/outbox", json=edit, headers=headers)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 501}, "object.name"),
        ({"name": 5}, "object.name"),
        ({"purpose": "request"}, "object.purpose"),
        (
            {"publishes": {"id": "https://a.test/proposals/nope#primary", "availableQuantity": {}}},
            "object.publishes.id",
        ),
        ({"publishes": {"id": "{proposal}#primary"}}, "object.publishes.availableQuantity"),
        (
            {
                "publishes": {
                    "id": "{proposal}#primary",
                    "availableQuantity": {"hasUnit": "one", "hasNumericalValue": "3"},
                }
            },
            "object.publishes.availableQuantity",
        ),
        (
            {
                "publishes": {
                    "id": "{proposal}#primary",
                    "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "-1"},
                }
            },
            "object.publishes.availableQuantity",
        ),
    ],
)
async def test_bad_edits_are_refused_and_change_nothing(
    a: Running, masto: FakePeer, change: dict[str, Any], field: str
) -> None:
    await followed_by(a, masto, "bob")
    headers = await auth(a)
    proposal = (await post(a, headers, bread_offer()))["object"]["id"]
    await a.settle()
    masto.received.clear()
    before = (await a.client.get(proposal)).json()
    filled = {
        k: ({**v, "id": v["id"].format(proposal=proposal)} if isinstance(v, dict) else v)
        for k, v in change.items()
    }
    response = await a.client.post(
        f"{ALICE}/outbox",
        json={"type": "Update", "object": {"id": proposal, "type": "Proposal", **filled}},
        headers=headers,
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    await a.settle()
    assert masto.received == []
    assert (await a.client.get(proposal)).json() == before


async def test_another_agents_proposal_cannot_be_edited(a: Running) -> None:
    headers = await auth(a)
    proposal = (await post(a, headers, bread_offer()))["object"]["id"]
    await add_agent(a, "zoe")
    async with a.services.db.write() as session:
        zoe = await get_agent(session, "zoe")
        assert zoe is not None
        token = await create_token(session, zoe)
    response = await a.client.post(
        "https://a.test/agents/zoe/outbox",
        json={"type": "Update", "object": {"id": proposal, "type": "Proposal", "name": "Mine"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert (await a.client.get(proposal)).json()["name"] == "Rye bread"


async def test_nodeinfo_is_read_once_per_server_and_remembered(
    a: Running, masto: FakePeer, vf: FakePeer
) -> None:
    await followed_by(a, masto, "bob", "carol", "dan")
    await followed_by(a, vf, "dora")
    headers = await auth(a)
    await post(a, headers, bread_offer())
    await post(a, headers, bread_offer(name="Spelt"))
    await a.settle()
    assert masto.fetched.count("/.well-known/nodeinfo") == 1
    assert vf.fetched.count("/nodeinfo/2.0") == 1
    async with a.services.db.read() as session:
        servers = {
            row.host: (row.software, row.valueflows)
            for row in await session.scalars(select(RemoteServer))
        }
    assert servers == {"mastodon.example": ("mastodon", False), "vf.example": ("oce", True)}


async def test_an_actor_naming_the_oce_context_marks_its_server_valueflows(
    a: Running, vf: FakePeer
) -> None:
    """Without NodeInfo, an actor document whose @context names oce's context is enough."""
    vf.nodeinfo = None

    def oce_actor(actor: PeerActor) -> dict[str, Any]:
        document = actor.document()
        document["@context"] = [AS, "https://vf.example/ns/oce-v1.jsonld"]
        return document

    vf.actor_document = oce_actor
    await followed_by(a, vf, "dora")
    await post(a, await auth(a), bread_offer())
    await a.settle()
    assert [activity["object"]["type"] for activity in vf.activities()] == ["Proposal"]


async def test_a_server_without_nodeinfo_gets_the_note(a: Running, vf: FakePeer) -> None:
    vf.nodeinfo = None
    await followed_by(a, vf, "dora")
    await post(a, await auth(a), bread_offer())
    await a.settle()
    assert [activity["object"]["type"] for activity in vf.activities()] == ["Note"]


async def test_local_followers_get_the_proposal_only(a: Running, masto: FakePeer) -> None:
    """An agent of the same instance speaks ValueFlows: its inbox has the Proposal."""
    await add_agent(a, "zoe")
    async with a.services.db.write() as session:
        zoe = await get_agent(session, "zoe")
        assert zoe is not None
        token = {"Authorization": f"Bearer {await create_token(session, zoe)}"}
    follow = {"type": "Follow", "object": ALICE}
    response = await a.client.post("https://a.test/agents/zoe/outbox", json=follow, headers=token)
    assert response.status_code == 201
    await a.settle()
    await post(a, await auth(a), bread_offer())
    await a.settle()
    inbox = await a.client.get("https://a.test/agents/zoe/inbox?page=1", headers=token)
    creates = [i for i in inbox.json()["orderedItems"] if i["type"] == "Create"]
    assert [c["object"]["type"] for c in creates] == ["Proposal"]


async def test_a_proposal_addressed_to_a_mastodon_user_reaches_them_as_a_note(
    a: Running, masto: FakePeer
) -> None:
    bob = masto.actor("bob")
    created = await post(a, await auth(a), bread_offer(to=[bob.id]))
    await a.settle()
    (delivered,) = masto.activities()
    assert delivered["object"]["type"] == "Note"
    assert delivered["object"]["to"] == [bob.id]
    # Not public: the Note is readable only by those it is addressed to.
    note = created["object"]["id"] + "/note"
    assert (await a.client.get(note)).status_code == 404


_ = uuid
