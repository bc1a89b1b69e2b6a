"""Each refusal the issue lists: a clear error (or a Reject that says why), and nothing
in the ledger changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.exchange.conftest import BREAD, Pair, activity, client, deliver, ledger_state
from tests.exchange.steps import (
    agreed,
    credit_currency,
    kg,
    offer_for,
    publish_bread_offer,
    raise_stock,
    units,
)
from tests.fakepeer import FakePeer

# Offers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bread", "credit", "reason"),
    [
        ("7", "14", "whole multiples"),  # unit based: 7 is not a multiple of 5
        ("10", "10", "same multiple"),  # the two sides out of proportion
        ("40", "80", "still available"),  # only 30 kg are offered
    ],
)
async def test_a_bad_offer_is_rejected_with_the_reason(
    pair: Pair, peer: FakePeer, bread: str, credit: str, reason: str
) -> None:
    currency = await credit_currency(pair.alice)
    proposal = await publish_bread_offer(pair.alice, currency)
    before = await ledger_state(pair.a)
    mallory = peer.actor("mallory")
    offer = activity(
        mallory, "Offer", offer_for(proposal, bread, credit)["object"], to=[pair.alice.id]
    )
    await deliver(pair, mallory, offer)
    rejects = peer.activities("Reject")
    assert [r["object"] for r in rejects] == [offer["id"]]
    assert reason in rejects[0]["content"]
    assert await ledger_state(pair.a) == before


async def test_the_offering_client_hears_of_a_bad_offer_at_once(pair: Pair) -> None:
    currency = await credit_currency(pair.alice)
    proposal = await publish_bread_offer(pair.alice, currency)
    await pair.settle()
    before = await ledger_state(pair.b)
    refused = await pair.bob.post(offer_for(proposal, "7", "14"), status=422)
    assert "whole multiples" in refused["detail"]
    assert await ledger_state(pair.b) == before


async def test_an_offer_for_a_withdrawn_proposal_is_rejected(pair: Pair, peer: FakePeer) -> None:
    currency = await credit_currency(pair.alice)
    proposal = await publish_bread_offer(pair.alice, currency)
    await pair.alice.post({"type": "Delete", "object": proposal})
    mallory = peer.actor("mallory")
    offer = activity(mallory, "Offer", offer_for(proposal, "5", "10")["object"], to=[pair.alice.id])
    await deliver(pair, mallory, offer)
    assert "withdrawn" in peer.activities("Reject")[0]["content"]


async def test_an_accept_for_an_offer_never_sent_records_nothing(
    pair: Pair, peer: FakePeer
) -> None:
    mallory = peer.actor("mallory")
    before = await ledger_state(pair.a)
    fake_agreement = {
        "id": f"{peer.origin}/agreements/1",
        "type": "Agreement",
        "stipulates": {
            "id": f"{peer.origin}/agreements/1#primary",
            "type": "Commitment",
            "satisfies": f"{peer.origin}/p#primary",
            "resourceQuantity": kg("1"),
        },
    }
    accept = activity(
        mallory, "Accept", "https://a.test/activities/never-sent", result=fake_agreement
    )
    await deliver(pair, mallory, accept)
    assert await ledger_state(pair.a) == before


async def test_an_offer_cannot_be_decided_twice(pair: Pair) -> None:
    _proposal, _bread, _agreement, _currency = await agreed(pair)
    offers = [a for a in await pair.alice.items("inbox") if a["type"] == "Offer"]
    before = await ledger_state(pair.a)
    again = await pair.alice.post({"type": "Accept", "object": offers[0]["id"]}, status=409)
    assert "already agreed" in again["detail"]
    await pair.alice.post({"type": "Reject", "object": offers[0]["id"]}, status=409)
    assert await ledger_state(pair.a) == before


async def test_only_the_proposer_answers_an_offer(pair: Pair) -> None:
    currency = await credit_currency(pair.alice)
    proposal = await publish_bread_offer(pair.alice, currency)
    offer = await pair.bob.post(offer_for(proposal, "5", "10"))
    await pair.settle()
    carol = await client(pair.a, "carol")
    await carol.post({"type": "Accept", "object": offer["id"]}, status=403)


# Fulfilment ------------------------------------------------------------------------------


def transfer(**fields: Any) -> dict[str, Any]:
    return {"type": "EconomicEvent", "action": "transfer", **fields}


async def test_fulfilment_refusals_change_nothing(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    _proposal, bread, agreement, currency = await agreed(pair)
    primary = agreement["stipulates"]["id"]
    reciprocal = agreement["stipulatesReciprocal"]["id"]
    before_a, before_b = await ledger_state(pair.a), await ledger_state(pair.b)
    cases: list[tuple[Any, dict[str, Any], int, str]] = [
        # Bob fulfilling Alice's commitment (she provides the bread, not him).
        (
            bob,
            transfer(receiver=alice.id, resourceQuantity=kg("10"), fulfills=primary),
            403,
            "not from",
        ),
        # Another action than the commitment's.
        (
            alice,
            {
                "type": "EconomicEvent",
                "action": "move",
                "resourceInventoriedAs": bread,
                "receiver": bob.id,
                "resourceQuantity": kg("10"),
                "fulfills": primary,
            },
            422,
            "transfer",
        ),
        # Another resource kind.
        (
            alice,
            transfer(
                resourceInventoriedAs=bread,
                receiver=bob.id,
                resourceQuantity=kg("10"),
                resourceConformsTo="https://www.wikidata.org/wiki/Q12117",
                fulfills=primary,
            ),
            422,
            "for",
        ),
        # Another unit.
        (
            alice,
            transfer(
                resourceInventoriedAs=bread,
                receiver=bob.id,
                resourceQuantity={"hasUnit": "gram", "hasNumericalValue": "10000"},
                fulfills=primary,
            ),
            422,
            "counted in kilogram",
        ),
        # Beyond the committed quantity.
        (
            alice,
            transfer(
                resourceInventoriedAs=bread,
                receiver=bob.id,
                resourceQuantity=kg("11"),
                fulfills=primary,
            ),
            409,
            "exceed",
        ),
        # Zero and negative quantities.
        (
            alice,
            transfer(
                resourceInventoriedAs=bread,
                receiver=bob.id,
                resourceQuantity=kg("0"),
                fulfills=primary,
            ),
            400,
            "greater than zero",
        ),
        (
            alice,
            transfer(
                resourceInventoriedAs=bread,
                receiver=bob.id,
                resourceQuantity=kg("-1"),
                fulfills=primary,
            ),
            400,
            "negative",
        ),
    ]
    for agent, event, status, detail in cases:
        refused = await agent.post(event, status=status)
        assert detail in refused["detail"], (event, refused)
    await pair.settle()
    assert await ledger_state(pair.a) == before_a
    assert await ledger_state(pair.b) == before_b
    del reciprocal, currency


async def test_a_finished_commitment_takes_no_more(pair: Pair) -> None:
    _proposal, bread, agreement, _currency = await agreed(pair)
    primary = agreement["stipulates"]["id"]
    event = transfer(
        resourceInventoriedAs=bread,
        receiver=pair.bob.id,
        resourceQuantity=kg("10"),
        fulfills=primary,
    )
    await pair.alice.post(event)
    await pair.settle()
    before = await ledger_state(pair.a)
    refused = await pair.alice.post({**event, "resourceQuantity": kg("1")}, status=409)
    assert "finished" in refused["detail"]
    assert await ledger_state(pair.a) == before


async def test_events_never_change(pair: Pair) -> None:
    bread = await raise_stock(pair.alice, "5")
    events = [e for e in await pair.alice.items("events")]
    assert len(events) == 1
    before = await ledger_state(pair.a)
    for verb in ("Update", "Delete"):
        refused = await pair.alice.post(
            {"type": verb, "object": {"id": events[0]["id"], "type": "EconomicEvent"}}, status=409
        )
        assert "corrects" in refused["detail"]
    assert await ledger_state(pair.a) == before
    del bread


async def test_a_correction_is_a_new_event(pair: Pair) -> None:
    bread = await raise_stock(pair.alice, "50")
    raised = (await pair.alice.items("events"))[0]
    await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": pair.alice.id,
            "receiver": pair.alice.id,
            "resourceInventoriedAs": bread,
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg("-5"),
            "corrects": raised["id"],
        }
    )
    assert (await pair.alice.get(bread))["accountingQuantity"] == kg("45")
    assert len(await pair.alice.items("events")) == 2


async def test_a_resource_never_goes_below_zero(pair: Pair) -> None:
    bread = await raise_stock(pair.alice, "3")
    before = await ledger_state(pair.a)
    refused = await pair.alice.post(
        transfer(resourceInventoriedAs=bread, receiver=pair.bob.id, resourceQuantity=kg("4")),
        status=409,
    )
    assert "below zero" in refused["detail"]
    assert await ledger_state(pair.a) == before


# A peer's authority ------------------------------------------------------------------------


async def test_a_peer_can_never_debit_a_local_agent(pair: Pair, peer: FakePeer) -> None:
    bread = await raise_stock(pair.alice, "50")
    mallory = peer.actor("mallory")
    before = await ledger_state(pair.a)
    # Mallory claims Alice gave her bread.
    as_alice = activity(
        mallory,
        "Create",
        {
            "id": f"{peer.origin}/events/1",
            "type": "EconomicEvent",
            "action": "transfer",
            "provider": pair.alice.id,
            "receiver": mallory.id,
            "resourceInventoriedAs": bread,
            "resourceQuantity": kg("50"),
        },
        to=[pair.alice.id],
    )
    await deliver(pair, mallory, as_alice)
    # Mallory "transfers" from Alice's resource while naming herself provider.
    from_alices = activity(
        mallory,
        "Create",
        {
            "id": f"{peer.origin}/events/2",
            "type": "EconomicEvent",
            "action": "transfer",
            "provider": mallory.id,
            "receiver": pair.alice.id,
            "resourceInventoriedAs": bread,
            "resourceQuantity": kg("50"),
        },
        to=[pair.alice.id],
    )
    await deliver(pair, mallory, from_alices)
    assert await ledger_state(pair.a) == before
    assert {r["object"] for r in peer.activities("Reject")} == {
        f"{peer.origin}/events/1",
        f"{peer.origin}/events/2",
    }


async def test_a_credit_that_fulfils_nothing_waits_for_the_agent(
    pair: Pair, peer: FakePeer
) -> None:
    currency = await credit_currency(pair.alice)
    mallory = peer.actor("mallory")
    gift = activity(
        mallory,
        "Create",
        {
            "id": f"{peer.origin}/events/gift",
            "type": "EconomicEvent",
            "action": "transfer",
            "provider": mallory.id,
            "receiver": pair.alice.id,
            "resourceConformsTo": currency,
            "resourceQuantity": units("5"),
        },
        to=[pair.alice.id],
    )
    before = await ledger_state(pair.a)
    await deliver(pair, mallory, gift)
    assert (await ledger_state(pair.a))["resources"] == before["resources"]
    held = [e for e in await pair.alice.items("events") if e["id"] == f"{peer.origin}/events/gift"]
    assert held[0]["oce:state"] == "claimed"
    assert "Create" in await pair.alice.inbox_types()
    await pair.alice.post({"type": "Accept", "object": f"{peer.origin}/events/gift"})
    resources = await pair.alice.items("resources")
    assert [r["accountingQuantity"] for r in resources] == [units("5")]
    await pair.settle()
    assert [a["object"] for a in peer.activities("Accept")] == [f"{peer.origin}/events/gift"]
