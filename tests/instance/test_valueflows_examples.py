"""Every FEP example, and Bonfire's ValueFlows shapes, sent as a peer would send them.

Each document comes from ``tests/vocab/fixtures/`` (its README names the FEP and
section) with only its ids and hosts adapted: the FEPs' hosts become the fake peer's
origin (its actors live under ``/users/``), and the actor that plays the part of an
oce agent becomes that agent's id. It is sent through real signed HTTP to an agent's
inbox (or, when the FEP shows a client's document, posted to the outbox), and is
either read, shown in the agent's inbox with its quantities exactly as sent, or
refused visibly: a 4xx naming the problem, or a ``Reject`` back to the sender saying
why. ``docs/vocabulary.md`` has the table of outcomes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from instance.agents import get_agent
from instance.store.models import Commitment, EconomicEvent, InboxItem, Proposal
from instance.tokens import create_token
from tests.fakepeer import FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

FIXTURES = Path(__file__).resolve().parents[1] / "vocab" / "fixtures"
PEER = "https://peer.test"
BASE = "https://a.test"
FEP_HOSTS = (
    "https://market.example",
    "https://social.example",
    "https://project.example",
    "https://kawen.space",
)


def _fixture(name: str) -> Path:
    """The FEPs' examples the vocab tests also read, or the other documents here."""
    found = FIXTURES / name
    return found if found.exists() else FIXTURES / "interop" / name


def agent(name: str) -> str:
    return f"{BASE}/agents/{name}"


def example(name: str, ids: dict[str, str] | None = None) -> Any:
    """A fixture with its ids and hosts adapted: ``ids`` first (old id → new id), then
    the FEPs' hosts to the peer's origin, their actors under ``/users/``."""
    text = _fixture(name).read_text()
    for old, new in (ids or {}).items():
        text = text.replace(old, new)
    for host in FEP_HOSTS:
        text = text.replace(f"{host}/actors/", f"{PEER}/users/").replace(host, PEER)
    text = text.replace("https://testing.kawen.dance/users/karen", agent("bob"))
    return json.loads(text)


def as_create(obj: dict[str, Any], to: list[str]) -> dict[str, Any]:
    """FEP-d767: a ValueFlows object travels as the object of a Create (the FEP-0837
    proposal and FEP-3264 plan examples show the object alone)."""
    return {
        "@context": obj["@context"],
        "id": f"{obj['id']}/create",
        "type": "Create",
        "actor": obj["attributedTo"],
        "object": {k: v for k, v in obj.items() if k != "@context"},
        "to": to,
    }


class World:
    def __init__(self, a: Running, peer: FakePeer) -> None:
        self.a = a
        self.peer = peer

    def actor(self, name: str) -> PeerActor:
        return self.peer.actor(name)

    async def send(self, document: dict[str, Any] | bytes, to: str, *, signer: str) -> int:
        inbox = f"{agent(to)}/inbox"
        body, headers = signed_post(self.actor(signer), inbox, document)
        response = await self.a.client.post(inbox, content=body, headers=headers)
        await self.a.settle()
        return response.status_code

    async def read(self, document: dict[str, Any], to: str) -> dict[str, Any]:
        """Send ``document``; it must be read and shown in ``to``'s inbox (returned)."""
        signer = str(document["actor"]).rsplit("/", 1)[1]
        assert await self.send(document, to, signer=signer) == 202
        assert await self.state(document["id"]) == ("done", None)
        shown = {item["id"]: item for item in await self.inbox(to)}
        assert document["id"] in shown, f"{document['id']} is not in {to}'s inbox"
        return shown[document["id"]]

    async def refused(self, document: dict[str, Any], to: str) -> str:
        """Send ``document``; it must be refused with a Reject to the sender (its reason
        is returned) and nothing shown in ``to``'s inbox."""
        signer = str(document["actor"]).rsplit("/", 1)[1]
        assert await self.send(document, to, signer=signer) == 202
        state, error = await self.state(document["id"])
        assert state == "failed"
        # The activity is rejected, or (FEP-3264's answer to an event) its object.
        target = document["object"]
        refused = {document["id"], target["id"] if isinstance(target, dict) else target}
        rejects = [r for r in self.peer.activities("Reject") if r["object"] in refused]
        assert len(rejects) == 1, f"no Reject of {document['id']} reached the sender"
        assert rejects[0]["actor"] == agent(to)
        assert rejects[0]["content"] == error
        assert document["id"] not in {item["id"] for item in await self.inbox(to)}
        return str(error)

    async def state(self, activity_id: str) -> tuple[str, str | None]:
        async with self.a.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_uri == activity_id)
            )
        assert item is not None
        return item.state, item.error

    async def auth(self, name: str) -> dict[str, str]:
        async with self.a.services.db.write() as session:
            found = await get_agent(session, name)
            assert found is not None
            return {"Authorization": f"Bearer {await create_token(session, found)}"}

    async def inbox(self, name: str) -> list[dict[str, Any]]:
        page = await self.a.client.get(f"{agent(name)}/inbox?page=1", headers=await self.auth(name))
        assert page.status_code == 200
        items: list[dict[str, Any]] = page.json()["orderedItems"]
        return items

    async def post(self, name: str, document: dict[str, Any], status: int = 201) -> Any:
        response = await self.a.client.post(
            f"{agent(name)}/outbox", json=document, headers=await self.auth(name)
        )
        assert response.status_code == status, response.text
        await self.a.settle()
        return response.json()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    peer = FakePeer(PEER)
    network = Network()
    network.add(peer.origin, peer.app())
    async with running(make_settings(database_url), network=network) as a:
        for name in ("alice", "bob", "gleaning", "humans"):
            await add_agent(a, name)
        yield World(a, peer)


def quantity(value: str, unit: str) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": value}


# FEP-0837 ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fep0837-proposal-minimal.json", "fep0837-proposal-full.json"])
async def test_fep0837_proposals_from_a_peer_are_read(world: World, name: str) -> None:
    proposal = example(name)
    create = as_create(proposal, [proposal["to"], agent("bob")])
    shown = await world.read(create, "bob")
    assert shown["object"]["publishes"]["resourceQuantity"] == quantity("1", "one")
    if "location" in proposal:
        assert shown["object"]["location"] == {
            "type": "Place",
            "longitude": -71.0,
            "latitude": 25.0,
        }
        assert shown["object"]["reciprocal"]["resourceQuantity"] == quantity("30", "one")
    async with world.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 1


async def test_fep0837_full_proposal_from_a_client_keeps_its_place(world: World) -> None:
    proposal = example("fep0837-proposal-full.json")
    for key in ("@context", "id", "attributedTo", "published"):
        proposal.pop(key)
    created = await world.post("alice", proposal)
    place = {"type": "Place", "longitude": -71.0, "latitude": 25.0}
    assert created["object"]["location"] == place
    fetched = await world.a.client.get(
        created["object"]["id"], headers={"Accept": "application/activity+json"}
    )
    assert fetched.status_code == 200
    assert fetched.json()["location"] == place
    assert '"latitude":25.0' in fetched.text  # the number as the client wrote it


async def _alice_proposes(world: World) -> str:
    proposal = example("fep0837-proposal-full.json")
    for key in ("@context", "id", "attributedTo", "published"):
        proposal.pop(key)
    created = await world.post("alice", proposal)
    return str(created["object"]["id"])


async def test_fep0837_offer_from_a_peer_is_read(world: World) -> None:
    proposal = await _alice_proposes(world)
    offer = example(
        "fep0837-offer-agreement.json",
        {
            "https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930": proposal,
            "https://market.example/users/alice": agent("alice"),
        },
    )
    shown = await world.read(offer, "alice")
    assert shown["object"]["stipulatesReciprocal"]["resourceQuantity"] == quantity("30", "one")


async def _bob_offers(world: World) -> tuple[str, str]:
    """A peer's FEP-0837 proposal reaches bob, who answers with the FEP's Offer."""
    proposal = example("fep0837-proposal-full.json")
    await world.read(as_create(proposal, [proposal["to"], agent("bob")]), "bob")
    offer = example("fep0837-offer-agreement.json")
    posted = await world.post(
        "bob", {k: v for k, v in offer.items() if k not in ("@context", "id", "actor")}
    )
    return str(proposal["id"]), str(posted["id"])


async def test_fep0837_accept_and_confirmation_from_the_proposer_are_read(world: World) -> None:
    _, offer = await _bob_offers(world)
    old_offer = "https://social.example/objects/fc4af0d2-c3a1-409b-947c-3c5be29f49b0/offer"
    accept = example(
        "fep0837-accept-agreement.json",
        {old_offer: offer, "https://social.example/users/bob": agent("bob")},
    )
    shown = await world.read(accept, "bob")
    assert shown["result"]["stipulates"]["resourceQuantity"] == quantity("1", "one")
    confirmation = example(
        "fep0837-confirmation.json", {"https://social.example/users/bob": agent("bob")}
    )
    shown = await world.read(confirmation, "bob")
    assert shown["object"]["context"] == accept["result"]["id"]


async def test_fep0837_reject_from_the_proposer_is_read(world: World) -> None:
    _, offer = await _bob_offers(world)
    old_offer = "https://social.example/objects/fc4af0d2-c3a1-409b-947c-3c5be29f49b0/offer"
    reject = example(
        "fep0837-reject.json", {old_offer: offer, "https://social.example/users/bob": agent("bob")}
    )
    shown = await world.read(reject, "bob")
    assert shown["content"] == "Not available"


# FEP-3264 ----------------------------------------------------------------------------

GLEANING = {"https://project.example/actors/gleaning-collective": agent("gleaning")}


async def test_fep3264_plan_is_shown_to_its_addressee(world: World) -> None:
    plan = example("fep3264-plan.json", GLEANING)
    shown = await world.read(as_create(plan, [agent("gleaning")]), "gleaning")
    (pick, _cider) = shown["object"]["planIncludes"]
    assert pick["hasInput"][0]["effortQuantity"] == quantity("6", "hour")


async def test_fep3264_commitment_is_read(world: World) -> None:
    create = example("fep3264-create-commitment.json", GLEANING)
    shown = await world.read(create, "gleaning")
    assert shown["object"]["effortQuantity"] == quantity("5", "hour")
    async with world.a.services.db.read() as session:
        row = await session.scalar(select(Commitment))
        assert row is not None
        assert (row.action, row.receiver, row.quantity) == ("work", agent("gleaning"), 5)


async def _gleaning_commits(world: World, provider: str, hours: str) -> str:
    """The gleaning collective (local) asks a peer for work, as in FEP-3264's plan."""
    world.actor(provider)
    created = await world.post(
        "gleaning",
        {
            "type": "Create",
            "object": {
                "type": "Commitment",
                "action": "work",
                "provider": f"{PEER}/users/{provider}",
                "receiver": agent("gleaning"),
                "resourceConformsTo": "https://www.wikidata.org/wiki/Q3485549",
                "effortQuantity": quantity(hours, "hour"),
            },
        },
    )
    return str(created["object"]["id"])


async def test_fep3264_accept_reject_and_event_are_read_or_refused(world: World) -> None:
    plan = "https://project.example/inputs/ddde9d6f-6f3b-4770-a966-3a18ef006931"
    cider4 = await _gleaning_commits(world, "bob", "6")
    cider3 = await _gleaning_commits(world, "chiam", "4")
    ids = {f"{plan}#cider4": cider4, f"{plan}#cider3": cider3}
    ids["https://project.example/actors/alice"] = agent("gleaning")
    accept = example("fep3264-accept.json", ids)
    await world.read(accept, "gleaning")
    reject = example("fep3264-reject.json", ids)
    await world.read(reject, "gleaning")
    # FEP-3264's event records 6.5 hours on the 6 hours committed: oce keeps fulfilment
    # within the commitment, so the event is refused, and the sender told why.
    event = example("fep3264-create-event.json", ids | GLEANING)
    assert await world.send(event, "gleaning", signer="bob") == 202
    assert (await world.state(event["id"]))[0] == "failed"
    (refusal,) = [
        r for r in world.peer.activities("Reject") if r["object"] == event["object"]["id"]
    ]
    assert "would exceed it" in refusal["content"]
    async with world.a.services.db.read() as session:
        rows = (await session.scalars(select(Commitment).order_by(Commitment.id))).all()
        assert [(row.state, row.fulfilled) for row in rows] == [
            ("accepted", Decimal(0)),
            ("rejected", Decimal(0)),
        ]


# FEP-c5a1 ----------------------------------------------------------------------------

TODO = "https://project.example/todos/ddde9d6f-6f3b-4770-a966-4dkjh8w32e59"


async def test_fepc5a1_todo_from_a_peer_is_read_as_work(world: World) -> None:
    create = example(
        "fepc5a1-create-commitment.json", {"https://project.example/actors/bob": agent("bob")}
    )
    shown = await world.read(create, "bob")
    assert shown["object"]["effortQuantity"] == quantity("2", "hour")
    async with world.a.services.db.read() as session:
        row = await session.scalar(select(Commitment))
        assert row is not None
        assert (row.action, row.provider, row.receiver) == (
            "work",
            agent("bob"),
            f"{PEER}/users/alice",
        )
    update = example(
        "fepc5a1-update-commitment.json", {"https://project.example/actors/bob": agent("bob")}
    )
    update["to"] = agent("bob")  # the FEP addresses it to alice herself
    await world.read(update, "bob")
    async with world.a.services.db.read() as session:
        row = await session.scalar(select(Commitment))
        assert row is not None
        assert (row.state, row.fulfilled) == ("finished", Decimal(0))


async def test_fepc5a1_todo_answers_and_event_from_a_peer_are_read(world: World) -> None:
    todo = example("fepc5a1-create-commitment.json")["object"]
    for key in ("id", "attributedTo", "published"):
        todo.pop(key)
    todo.update(provider=world.actor("bob").id, receiver=agent("alice"))
    created = await world.post("alice", {"type": "Create", "object": todo, "to": todo["provider"]})
    assert created["object"]["action"] == "work"
    ids = {TODO: created["object"]["id"], "https://project.example/actors/alice": agent("alice")}
    await world.read(example("fepc5a1-accept.json", ids), "alice")
    # The event's resourceConformsTo (Q3485549) differs from the to-do's (Q834191): the
    # FEP allows it; it is finished at 1.5 of 2 hours.
    event = example("fepc5a1-create-event.json", ids)
    shown = await world.read(event, "alice")
    assert shown["object"]["effortQuantity"] == quantity("1.5", "hour")
    async with world.a.services.db.read() as session:
        row = await session.scalar(select(Commitment))
        assert row is not None
        assert (row.state, row.fulfilled) == ("finished", Decimal("1.5"))
        recorded = await session.scalar(select(EconomicEvent))
        assert recorded is not None
        assert recorded.resource_conforms_to == "https://www.wikidata.org/wiki/Q3485549"


async def test_fepc5a1_reject_from_a_peer_is_read(world: World) -> None:
    todo = example("fepc5a1-create-commitment.json")["object"]
    for key in ("id", "attributedTo", "published"):
        todo.pop(key)
    todo.update(provider=world.actor("bob").id, receiver=agent("alice"))
    created = await world.post("alice", {"type": "Create", "object": todo})
    ids = {TODO: created["object"]["id"], "https://project.example/actors/alice": agent("alice")}
    shown = await world.read(example("fepc5a1-reject.json", ids), "alice")
    assert shown["content"] == "Sorry, my schedule is full for a month."


# FEP-d767 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["fepd767-create-plan.txt", "fepd767-create-process.txt", "fepd767-create-commitment.txt"],
)
async def test_fepd767_examples_as_written_are_refused_with_400(world: World, name: str) -> None:
    """The FEP's examples are not JSON (a context object of bare strings, comments,
    missing commas): the inbox says where, and stores nothing."""
    body = _fixture(name).read_bytes()
    inbox = f"{agent('humans')}/inbox"
    signed, headers = signed_post(world.actor("lynn"), inbox, body)
    response = await world.a.client.post(inbox, content=signed, headers=headers)
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"] or response.json().get("field")
    async with world.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0


async def test_fepd767_commitment_made_json_is_refused_naming_its_time(world: World) -> None:
    create = example(
        "fepd767-create-commitment.json",
        {"https://project.example/actors/humans": agent("humans")},
    )
    create["actor"] = create["actor"]["id"]
    reason = await world.refused(create, "humans")
    assert "/due" in reason
    assert "2023-05-01T10:30:00-5:00" in reason


# Bonfire -----------------------------------------------------------------------------


async def test_bonfire_intent_with_a_unit_object_is_read(world: World) -> None:
    create = example("bonfire-create-intent.json")
    shown = await world.read(create, "bob")
    measure = shown["object"]["availableQuantity"]
    assert (measure["hasNumericalValue"], measure["hasUnit"]) == ("0.1", "kilogram")


async def test_bonfire_spellings_proposal_is_read(world: World) -> None:
    create = example("bonfire-spellings-proposal.json")
    create["to"].append(agent("bob"))
    shown = await world.read(create, "bob")
    primary = shown["object"]["publishes"]
    assert primary["action"] == "deliverService"
    assert (
        primary["resourceQuantity"]["hasNumericalValue"],
        primary["resourceQuantity"]["hasUnit"],
    ) == (
        "1.5",
        "hour",
    )
    assert shown["object"]["reciprocal"]["resourceQuantity"] == quantity("0.25", "kilogram")
    async with world.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 1


async def test_bonfire_nested_proposal_is_refused_with_a_reason(world: World) -> None:
    create = example("bonfire-create-proposal-nested.json")
    reason = await world.refused(create, "bob")
    assert "purpose" in reason
    async with world.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0


# Refused after 202 -----------------------------------------------------------------


async def test_an_event_for_an_unknown_todo_is_refused_and_the_reject_not_answered(
    world: World,
) -> None:
    """FEP-c5a1's event for a to-do this instance never saw: refused, its sender told
    which; the sender's Reject of that Reject is shown, and not answered again."""
    alice = {"https://project.example/actors/alice": agent("alice")}
    event = example("fepc5a1-create-event.json", alice)
    reason = await world.refused(event, "alice")
    assert TODO.replace("https://project.example", PEER) in reason
    (reject,) = world.peer.activities("Reject")
    answer = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{PEER}/users/bob/rejects/1",
        "type": "Reject",
        "actor": f"{PEER}/users/bob",
        "object": reject["id"],
        "to": agent("alice"),
    }
    assert await world.send(answer, "alice", signer="bob") == 202
    assert await world.state(answer["id"]) == ("done", None)  # shown to alice
    assert len(world.peer.activities("Reject")) == 1
