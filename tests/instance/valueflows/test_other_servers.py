"""FEP-d767's examples and Bonfire's ValueFlows shapes, sent as a peer would.

Read into oce's canonical form and shown in the agent's inbox, or refused visibly: a
400 naming the problem, or a ``Reject`` back to the sender saying why
(``docs/vocabulary.md`` has the table of outcomes).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from instance.store.models import InboxItem, Proposal
from tests.fakepeer import signed_post
from tests.instance.valueflows.conftest import (
    PEER,
    World,
    agent,
    example,
    fixture_path,
    quantity,
)

TODO = "https://project.example/todos/ddde9d6f-6f3b-4770-a966-4dkjh8w32e59"


# FEP-d767 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["fepd767-create-plan.txt", "fepd767-create-process.txt", "fepd767-create-commitment.txt"],
)
async def test_fepd767_examples_as_written_are_refused_with_400(world: World, name: str) -> None:
    """The FEP's examples are not JSON (a context object of bare strings, comments,
    missing commas): the inbox says where, and stores nothing."""
    body = fixture_path(name).read_bytes()
    inbox = f"{agent('humans')}/inbox"
    signed, headers = signed_post(world.actor("lynn"), inbox, body)
    response = await world.a.client.post(inbox, content=signed, headers=headers)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("not valid JSON")
    assert "line 3, column 44" in detail  # the context's first bare string
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
