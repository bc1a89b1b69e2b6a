"""The whole exchange between two instances, as the agents' clients drive it."""

from __future__ import annotations

from tests.exchange.conftest import BREAD, Pair
from tests.exchange.steps import (
    credit_currency,
    kg,
    offer_for,
    publish_bread_offer,
    quantity,
    raise_stock,
    units,
)


async def test_offer_agreement_fulfilment_and_confirmation(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    currency = await credit_currency(alice)
    bread = await raise_stock(alice, "50")
    assert quantity(await alice.get(bread)) == "50"

    # 1. Publish.
    proposal = await publish_bread_offer(alice, currency)
    published = await alice.get(proposal)
    assert published["publishes"]["id"] == f"{proposal}#primary"
    assert published["reciprocal"]["id"] == f"{proposal}#reciprocal"
    assert published["attributedTo"] == alice.id

    # 2. Respond: Bob offers to take two units (10 kg for 20 credits).
    offer = await bob.post(offer_for(proposal, "10", "20"))
    assert offer["to"] == [alice.id]
    await pair.settle()
    assert "Offer" in await alice.inbox_types()

    # 3. Agree.
    accept = await alice.post({"type": "Accept", "object": offer["id"]})
    agreement = accept["result"]
    assert agreement["id"].startswith("https://a.test/agreements/")
    primary, reciprocal = agreement["stipulates"], agreement["stipulatesReciprocal"]
    assert primary["id"] == f"{agreement['id']}#primary"
    assert (primary["provider"], primary["receiver"]) == (alice.id, bob.id)
    assert (reciprocal["provider"], reciprocal["receiver"]) == (bob.id, alice.id)
    await pair.settle()
    assert "Accept" in await bob.inbox_types()
    available = (await alice.get(proposal))["publishes"]["availableQuantity"]
    assert available == kg("20")
    assert [a["id"] for a in await bob.items("agreements")] == [agreement["id"]]

    # 4. Fulfil: Alice delivers in two parts, Bob pays.
    for part in ("4", "6"):
        await alice.post(
            {
                "type": "EconomicEvent",
                "action": "transfer",
                "resourceInventoriedAs": bread,
                "receiver": bob.id,
                "resourceQuantity": kg(part),
                "fulfills": primary["id"],
                "realizationOf": agreement["id"],
            }
        )
        await pair.settle()
    commitments = {c["id"]: c for c in await bob.items("commitments")}
    assert commitments[primary["id"]]["fulfilledQuantity"] == kg("10")
    assert commitments[primary["id"]]["finished"] is True
    assert commitments[reciprocal["id"]].get("finished", False) is False

    await bob.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": alice.id,
            "resourceQuantity": units("20"),
            "fulfills": reciprocal["id"],
            "reciprocalRealizationOf": agreement["id"],
        }
    )
    await pair.settle()

    # The ledgers: Alice has 40 kg of bread and +20 credits; Bob 10 kg and -20 credits
    # (mutual credit may go below zero).
    alice_resources = {r.get("conformsTo"): quantity(r) for r in await alice.items("resources")}
    bob_resources = {r.get("conformsTo"): quantity(r) for r in await bob.items("resources")}
    assert alice_resources == {BREAD: "40", currency: "20"}
    assert bob_resources == {BREAD: "10", currency: "-20"}

    # Both sides see the agreement finished, field by field the same.
    on_a = await alice.get(agreement["id"])
    on_b = next(a for a in await bob.items("agreements") if a["id"] == agreement["id"])
    assert on_a["oce:state"] == on_b["oce:state"] == "finished"
    on_a.pop("@context")
    assert on_a == on_b

    # 5. The proposer's confirmation names the agreement.
    receipts = [i for i in await bob.items("inbox") if i["type"] == "Create"]
    assert [r["object"]["context"] for r in receipts if r["object"]["type"] == "Document"] == [
        agreement["id"]
    ]
