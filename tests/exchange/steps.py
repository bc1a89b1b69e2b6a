"""Steps of the exchange flows, as an agent's client takes them (shared by the tests)."""

from __future__ import annotations

from typing import Any

from tests.exchange.conftest import BREAD, Client, Pair

MUTUAL_CREDIT = "https://w3id.org/oce/ns#MutualCredit"


def kg(value: str) -> dict[str, str]:
    return {"hasUnit": "kilogram", "hasNumericalValue": value}


def units(value: str) -> dict[str, str]:
    return {"hasUnit": "one", "hasNumericalValue": value}


async def credit_currency(alice: Client) -> str:
    created = await alice.post(
        {
            "type": "ResourceSpecification",
            "name": "Coop credit",
            "defaultUnitOfResource": "one",
            "resourceClassifiedAs": [MUTUAL_CREDIT],
        }
    )
    spec: str = created["object"]["id"]
    return spec


async def raise_stock(alice: Client, amount: str) -> str:
    raised = await alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": alice.id,
            "receiver": alice.id,
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg(amount),
        }
    )
    resource: str = raised["object"]["resourceInventoriedAs"]
    return resource


async def publish_bread_offer(alice: Client, currency: str, available: str = "30") -> str:
    created = await alice.post(
        {
            "type": "Proposal",
            "purpose": "offer",
            "name": "Rye bread",
            "content": "Baked this morning",
            "unitBased": True,
            "publishes": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": BREAD,
                "resourceQuantity": kg("5"),
                "availableQuantity": kg(available),
            },
            "reciprocal": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": currency,
                "resourceQuantity": units("10"),
            },
        }
    )
    proposal: str = created["object"]["id"]
    return proposal


def offer_for(proposal: str, bread: str, credit: str) -> dict[str, Any]:
    return {
        "type": "Offer",
        "object": {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{proposal}#primary",
                "resourceQuantity": kg(bread),
            },
            "stipulatesReciprocal": {
                "type": "Commitment",
                "satisfies": f"{proposal}#reciprocal",
                "resourceQuantity": units(credit),
            },
        },
    }


def quantity(resource: dict[str, Any]) -> str:
    value: str = resource["accountingQuantity"]["hasNumericalValue"]
    return value


async def agreed(pair: Pair) -> tuple[str, str, dict[str, Any], str]:
    """Up to an agreement on 10 kg for 20 credits: (proposal, bread resource, agreement,
    currency)."""
    alice, bob = pair.alice, pair.bob
    currency = await credit_currency(alice)
    bread = await raise_stock(alice, "50")
    proposal = await publish_bread_offer(alice, currency)
    offer = await bob.post(offer_for(proposal, "10", "20"))
    await pair.settle()
    accept = await alice.post({"type": "Accept", "object": offer["id"]})
    await pair.settle()
    return proposal, bread, accept["result"], currency
