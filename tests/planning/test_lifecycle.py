"""The life of a commitment and a credit after they are made, between two instances."""

from __future__ import annotations

from typing import Any

from tests.exchange.conftest import Client, Pair, activity, deliver, ledger_state
from tests.exchange.steps import MUTUAL_CREDIT, credit_currency, units
from tests.fakepeer import FakePeer


def hours(value: str) -> dict[str, str]:
    return {"hasUnit": "hour", "hasNumericalValue": value}


async def ask_for_work(pair: Pair, amount: str = "3") -> str:
    created = await pair.alice.post(
        {
            "type": "Commitment",
            "action": "work",
            "provider": pair.bob.id,
            "receiver": pair.alice.id,
            "effortQuantity": hours(amount),
        }
    )
    await pair.settle()
    uri: str = created["object"]["id"]
    return uri


async def seen(client: Client, uri: str) -> dict[str, Any]:
    return next(c for c in await client.items("commitments") if c["id"] == uri)


async def open_ids(client: Client) -> list[str]:
    return [c["id"] for c in await client.items("open-commitments")]


def log_work(pair: Pair, commitment: str, amount: str) -> dict[str, Any]:
    return {
        "type": "EconomicEvent",
        "action": "work",
        "receiver": pair.alice.id,
        "effortQuantity": hours(amount),
        "fulfills": commitment,
    }


async def test_a_changed_commitment_waits_to_be_accepted_again(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    await pair.alice.post(
        {
            "type": "Update",
            "object": {"type": "Commitment", "id": commitment, "effortQuantity": hours("5")},
        }
    )
    await pair.settle()
    for side in (pair.alice, pair.bob):
        assert (await seen(side, commitment))["effortQuantity"] == hours("5")
    # Until Bob accepts the change, nothing can fulfil it.
    refused = await pair.bob.post(log_work(pair, commitment, "1"), status=409)
    assert "proposed" in refused["detail"]
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    await pair.bob.post(log_work(pair, commitment, "5"))
    await pair.settle()
    assert (await pair.alice.get(commitment))["finished"] is True


async def test_only_the_creator_changes_a_commitment_and_only_before_any_of_it_happened(
    pair: Pair,
) -> None:
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    change = {
        "type": "Update",
        "object": {"type": "Commitment", "id": commitment, "effortQuantity": hours("9")},
    }
    refused = await pair.bob.post(change, status=403)
    assert refused["field"] == "object"
    await pair.bob.post(log_work(pair, commitment, "1"))
    await pair.settle()
    before = await ledger_state(pair.a)
    refused = await pair.alice.post(change, status=409)
    assert "partly fulfilled" in refused["detail"]
    assert await ledger_state(pair.a) == before
    wrong_unit = {
        "type": "Update",
        "object": {"type": "Commitment", "id": commitment, "note": 5},
    }
    refused = await pair.alice.post(wrong_unit, status=400)
    assert refused["field"] == "object.note"


async def test_the_creator_cancels_a_commitment_on_both_sides(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    refused = await pair.bob.post({"type": "Delete", "object": commitment}, status=403)
    assert "Reject" in refused["detail"]
    await pair.alice.post({"type": "Delete", "object": commitment})
    await pair.settle()
    for instance in (pair.a, pair.b):
        assert (await ledger_state(instance))["commitments"][commitment][0] == "cancelled"
    for side in (pair.alice, pair.bob):
        assert commitment not in await open_ids(side)
    refused = await pair.bob.post(log_work(pair, commitment, "1"), status=409)
    assert "cancelled" in refused["detail"]
    again = await pair.alice.post({"type": "Delete", "object": commitment}, status=409)
    assert "cancelled" in again["detail"]


async def test_the_other_party_withdraws_an_accepted_commitment(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    await pair.bob.post({"type": "Reject", "object": commitment, "content": "fell ill"})
    await pair.settle()
    for instance in (pair.a, pair.b):
        assert (await ledger_state(instance))["commitments"][commitment][0] == "cancelled"
    assert "Reject" in await pair.alice.inbox_types()


async def test_a_to_do_is_marked_finished(pair: Pair) -> None:
    """FEP-c5a1: Update{Commitment{finished: true}} closes a to-do, done or not."""
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()
    await pair.alice.post(
        {"type": "Update", "object": {"type": "Commitment", "id": commitment, "finished": True}}
    )
    await pair.settle()
    for instance in (pair.a, pair.b):
        assert (await ledger_state(instance))["commitments"][commitment][0] == "finished"
    assert (await seen(pair.bob, commitment))["finished"] is True


async def test_a_declined_credit_changes_nothing_and_is_reverted_at_its_sender(
    pair: Pair,
) -> None:
    currency = await credit_currency(pair.alice)
    await pair.settle()
    paid = await pair.bob.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": pair.alice.id,
            "resourceConformsTo": currency,
            "resourceQuantity": units("7"),
        }
    )
    await pair.settle()
    event = paid["object"]["id"]
    assert [r["accountingQuantity"] for r in await pair.bob.items("resources")] == [units("-7")]
    before = await ledger_state(pair.a)
    await pair.alice.post({"type": "Reject", "object": event, "content": "not mine"})
    await pair.settle()
    assert (await ledger_state(pair.a))["resources"] == before["resources"]
    held = next(e for e in await pair.alice.items("events") if e["id"] == event)
    assert held["oce:state"] == "declined"
    # Bob's instance reverted his side: his account is back at zero.
    assert [r["accountingQuantity"] for r in await pair.bob.items("resources")] == [units("0")]
    sent = next(e for e in await pair.bob.items("events") if e["id"] == event)
    assert sent["oce:state"] == "declined"
    # A declined credit cannot be accepted after all.
    refused = await pair.alice.post({"type": "Accept", "object": event}, status=409)
    assert "declined" in refused["detail"]


async def limited_currency(alice: Client, limit: str) -> str:
    created = await alice.post(
        {
            "type": "ResourceSpecification",
            "name": "Coop credit",
            "defaultUnitOfResource": "one",
            "resourceClassifiedAs": [MUTUAL_CREDIT],
            "creditLimit": units(limit),
        }
    )
    assert created["object"]["creditLimit"] == units(limit)
    spec: str = created["object"]["id"]
    return spec


async def test_a_payment_beyond_the_credit_limit_is_refused_by_the_payers_instance(
    pair: Pair,
) -> None:
    currency = await limited_currency(pair.alice, "50")
    assert (await pair.alice.get(currency))["creditLimit"] == units("50")

    def pay(amount: str) -> dict[str, Any]:
        return {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": pair.alice.id,
            "resourceConformsTo": currency,
            "resourceQuantity": units(amount),
        }

    await pair.bob.post(pay("30"))
    await pair.settle()
    before = await ledger_state(pair.b)
    refused = await pair.bob.post(pay("21"), status=409)
    assert "credit limit" in refused["detail"]
    assert refused["field"] == "resourceQuantity"
    assert await ledger_state(pair.b) == before
    await pair.bob.post(pay("20"))  # exactly at the limit
    await pair.settle()
    assert [r["accountingQuantity"] for r in await pair.bob.items("resources")] == [units("-50")]


async def test_a_peers_payment_beyond_the_credit_limit_is_refused(
    pair: Pair, peer: FakePeer
) -> None:
    currency = await limited_currency(pair.alice, "10")
    mallory = peer.actor("mallory")

    def pays(number: int, amount: str) -> dict[str, Any]:
        return activity(
            mallory,
            "Create",
            {
                "id": f"{peer.origin}/events/{number}",
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": mallory.id,
                "receiver": pair.alice.id,
                "resourceConformsTo": currency,
                "resourceQuantity": units(amount),
            },
            to=[pair.alice.id],
        )

    await deliver(pair, mallory, pays(1, "8"))
    before = await ledger_state(pair.a)
    await deliver(pair, mallory, pays(2, "3"))  # 11 in all: beyond 10
    assert await ledger_state(pair.a) == before
    rejects = peer.activities("Reject")
    assert [r["object"] for r in rejects] == [f"{peer.origin}/events/2"]
    assert "credit limit" in rejects[0]["content"]


async def test_a_credit_limit_needs_a_mutual_credit_kind(pair: Pair) -> None:
    refused = await pair.alice.post(
        {
            "type": "ResourceSpecification",
            "name": "Bread",
            "creditLimit": units("5"),
        },
        status=400,
    )
    assert refused["field"] == "object.creditLimit"
