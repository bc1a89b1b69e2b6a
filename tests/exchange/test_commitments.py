"""Direct commitments (FEP-3264 / FEP-c5a1): work asked for, accepted, logged in parts."""

from __future__ import annotations

import asyncio

from tests.exchange.conftest import BREAD, Pair, client, ledger_state
from tests.exchange.steps import kg, raise_stock


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
            "note": "Help at the bakery",
        }
    )
    await pair.settle()
    commitment: str = created["object"]["id"]
    return commitment


async def test_work_commitment_accepted_and_logged_in_parts(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    assert commitment.startswith("https://a.test/commitments/")
    # It reached Bob; he accepts it.
    assert "Create" in await pair.bob.inbox_types()
    on_b = next(c for c in await pair.bob.items("commitments") if c["id"] == commitment)
    assert on_b["effortQuantity"] == hours("3")
    assert [c["id"] for c in await pair.bob.items("open-commitments")] == [commitment]
    await pair.bob.post({"type": "Accept", "object": commitment})
    await pair.settle()

    for logged, fulfilled in (("2", "2"), ("1", "3")):
        await pair.bob.post(
            {
                "type": "EconomicEvent",
                "action": "work",
                "receiver": pair.alice.id,
                "effortQuantity": hours(logged),
                "fulfills": commitment,
            }
        )
        await pair.settle()
        for side in (pair.alice, pair.bob):
            seen = next(c for c in await side.items("commitments") if c["id"] == commitment)
            assert seen["fulfilledQuantity"] == hours(fulfilled)
    assert (await pair.alice.get(commitment))["finished"] is True
    # Done, so no longer among what is open for either of them.
    assert commitment not in [c["id"] for c in await pair.alice.items("open-commitments")]
    assert commitment in [c["id"] for c in await pair.alice.items("commitments")]
    # Alice's instance acknowledged each logged part.
    assert (await pair.bob.inbox_types()).count("Accept") == 2


async def test_a_rejected_commitment_cannot_be_fulfilled(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    await pair.bob.post({"type": "Reject", "object": commitment})
    await pair.settle()
    assert (await pair.alice.get(commitment)).get("finished", False) is False
    before = await ledger_state(pair.b)
    refused = await pair.bob.post(
        {
            "type": "EconomicEvent",
            "action": "work",
            "receiver": pair.alice.id,
            "effortQuantity": hours("1"),
            "fulfills": commitment,
        },
        status=409,
    )
    assert "rejected" in refused["detail"]
    assert await ledger_state(pair.b) == before


async def test_only_the_counterparty_answers_a_commitment(pair: Pair) -> None:
    commitment = await ask_for_work(pair)
    await pair.alice.post({"type": "Accept", "object": commitment}, status=403)


async def test_parallel_transfers_never_overspend(pair: Pair) -> None:
    """Many clients draw on one resource at once: the total is exact, never negative."""
    bread = await raise_stock(pair.alice, "50")
    carol = await client(pair.a, "carol")

    async def take(amount: str) -> int:
        response = await pair.a.client.post(
            f"{pair.alice.id}/outbox",
            json={
                "type": "EconomicEvent",
                "action": "transfer",
                "resourceInventoriedAs": bread,
                "receiver": carol.id,
                "resourceQuantity": kg(amount),
            },
            headers=pair.alice.auth,
        )
        return response.status_code

    statuses = await asyncio.gather(*(take("3") for _ in range(24)))
    assert sorted(set(statuses)) == [201, 409]
    moved = statuses.count(201) * 3
    assert moved == 48  # sixteen of 3 kg fit in 50 kg; the rest were refused
    assert (await pair.alice.get(bread))["accountingQuantity"] == kg(str(50 - moved))
    carols = await carol.items("resources")
    assert [(r["conformsTo"], r["accountingQuantity"]) for r in carols] == [(BREAD, kg("48"))]
