"""Corrections move no value without consent (issue 11, defect 3).

A correction (an event that ``corrects`` another, the only event whose quantity may be
negative) never exceeds what it corrects, counting earlier corrections; whatever lowers
an agent's balance, whichever way the sign points, waits for that agent's Accept.
"""

from __future__ import annotations

from typing import Any

from tests.exchange.conftest import Client, Pair, activity, client, deliver, ledger_state
from tests.exchange.steps import agreed, credit_currency, quantity, units
from tests.fakepeer import FakePeer


def payment(to: Client, amount: str, currency: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "EconomicEvent",
        "action": "transfer",
        "receiver": to.id,
        "resourceConformsTo": currency,
        "resourceQuantity": units(amount),
        **extra,
    }


async def balances(agent: Client) -> dict[str | None, str]:
    return {r.get("conformsTo"): quantity(r) for r in await agent.items("resources")}


async def event_state(agent: Client, uri: str) -> str:
    found = [e for e in await agent.items("events") if e["id"] == uri]
    state: str = found[0]["oce:state"]
    return state


async def test_a_correction_never_exceeds_what_it_corrects(pair: Pair) -> None:
    """The attack: alice paid carol 1 and "corrected" it by -500 (in mutual credit, which
    may go below zero), taking 500 from carol."""
    alice = pair.alice
    carol = await client(pair.a, "carol")
    currency = await credit_currency(alice)
    paid = (await alice.post(payment(carol, "1", currency)))["object"]["id"]
    before = await ledger_state(pair.a)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"resourceQuantity": units("-500")}, "never exceeds"),
        ({"resourceQuantity": units("-1.000001")}, "never exceeds"),
        ({"resourceQuantity": units("2")}, "never exceeds"),  # the other sign
        ({"resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": "-1"}}, "unit"),
        ({"resourceConformsTo": "https://a.test/specs/other"}, "resourceConformsTo"),
    ]
    for change, detail in cases:
        refused = await alice.post(
            {**payment(carol, "-1", currency, corrects=paid), **change}, status=422
        )
        assert detail in refused["detail"], (change, refused)
    assert await ledger_state(pair.a) == before
    assert (await balances(carol))[currency] == "1"


async def test_a_correction_that_lowers_the_receiver_waits_for_its_accept(pair: Pair) -> None:
    alice = pair.alice
    carol = await client(pair.a, "carol")
    currency = await credit_currency(alice)
    paid = (await alice.post(payment(carol, "5", currency)))["object"]["id"]
    correction = (await alice.post(payment(carol, "-2", currency, corrects=paid)))["object"]["id"]
    # Held: neither side moved.
    assert await event_state(carol, correction) == "claimed"
    assert (await balances(carol))[currency] == "5"
    assert (await balances(alice))[currency] == "-5"
    # Earlier corrections count, held or not: 5 - 2 leaves 3 to back out.
    refused = await alice.post(payment(carol, "-4", currency, corrects=paid), status=422)
    assert "stands at 3 of 5" in refused["detail"]
    # Only the receiver accepts it; then it counts on both sides.
    await alice.post({"type": "Accept", "object": correction}, status=404)
    await carol.post({"type": "Accept", "object": correction})
    assert (await balances(carol))[currency] == "3"
    assert (await balances(alice))[currency] == "-3"
    # A correction of a correction would restart the count.
    refused = await alice.post(payment(carol, "1", currency, corrects=correction), status=422)
    assert "itself a correction" in refused["detail"]
    # Backing out the rest is allowed, once.
    rest = (await alice.post(payment(carol, "-3", currency, corrects=paid)))["object"]["id"]
    await carol.post({"type": "Accept", "object": rest})
    assert (await balances(carol))[currency] == "0"
    await alice.post(payment(carol, "-1", currency, corrects=paid), status=422)


async def test_a_peer_cannot_take_back_a_payment_without_consent(pair: Pair) -> None:
    """The attack: bob (on b.test) paid part of his commitment to alice, then corrected
    the payment by its whole amount; alice's account dropped with no Accept."""
    alice, bob = pair.alice, pair.bob
    _proposal, _bread, agreement, currency = await agreed(pair)
    reciprocal = agreement["stipulatesReciprocal"]["id"]
    paid = (await bob.post(payment(alice, "12", currency, fulfills=reciprocal)))["object"]["id"]
    await pair.settle()
    assert (await balances(alice))[currency] == "12"
    # More than was paid is refused by bob's own instance.
    refused = await bob.post(payment(alice, "-13", currency, corrects=paid), status=422)
    assert "never exceeds" in refused["detail"]

    correction = (await bob.post(payment(alice, "-12", currency, corrects=paid)))["object"]["id"]
    await pair.settle()
    assert (await balances(alice))[currency] == "12"
    assert await event_state(alice, correction) == "claimed"
    commitment = await alice.get(agreement["id"])
    assert commitment["stipulatesReciprocal"]["fulfilledQuantity"] == units("12")
    # Bob's instance holds it too, until alice's Accept arrives.
    assert (await balances(bob))[currency] == "-12"

    await alice.post({"type": "Accept", "object": correction})
    await pair.settle()
    assert (await balances(alice))[currency] == "0"
    assert (await balances(bob))[currency] == "0"
    on_a = (await alice.get(agreement["id"]))["stipulatesReciprocal"]
    on_b = next(a for a in await bob.items("agreements") if a["id"] == agreement["id"])
    assert on_a["fulfilledQuantity"] == units("0")
    assert on_b["stipulatesReciprocal"]["fulfilledQuantity"] == units("0")
    assert await event_state(bob, correction) == "applied"


async def test_a_peers_correction_beyond_its_event_is_rejected(pair: Pair, peer: FakePeer) -> None:
    alice = pair.alice
    currency = await credit_currency(alice)
    mallory = peer.actor("mallory")

    def event(name: str, amount: str, **extra: Any) -> dict[str, Any]:
        return activity(
            mallory,
            "Create",
            {
                "id": f"{peer.origin}/events/{name}",
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": mallory.id,
                "receiver": alice.id,
                "resourceConformsTo": currency,
                "resourceQuantity": units(amount),
                **extra,
            },
            to=[alice.id],
        )

    await deliver(pair, mallory, event("gift", "5"))
    await alice.post({"type": "Accept", "object": f"{peer.origin}/events/gift"})
    before = await ledger_state(pair.a)
    gift = f"{peer.origin}/events/gift"
    await deliver(pair, mallory, event("grab", "-500", corrects=gift))
    await deliver(pair, mallory, event("flip", "6", corrects=gift))
    assert await ledger_state(pair.a) == before
    rejects = {r["object"]: r["content"] for r in peer.activities("Reject")}
    assert "never exceeds" in rejects[f"{peer.origin}/events/grab"]
    assert "never exceeds" in rejects[f"{peer.origin}/events/flip"]
    # Within bounds, it still waits for alice.
    await deliver(pair, mallory, event("undo", "-5", corrects=gift))
    assert (await balances(alice))[currency] == "5"
    assert await event_state(alice, f"{peer.origin}/events/undo") == "claimed"
