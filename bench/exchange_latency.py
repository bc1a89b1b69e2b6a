"""Exchange latency: how soon each step of an exchange is visible on the other instance.

Two ``oce serve`` processes on loopback (SQLite, workers in-process, as ``oce serve``
runs by default), idle but for this. Bob follows Alice; then, round after round, the
agents' clients take the five steps of an exchange and the clock runs from the client's
POST until the step shows in the other agent's inbox (read with its token, every 2 ms):

1. Alice publishes an offer (reaches Bob as her follower),
2. Bob offers an agreement, 3. Alice accepts it, 4. Alice delivers, 5. Bob pays.

Target: each step visible within 200 ms median. The baseline, in the same run, is one
client round trip on one instance: Alice posting a Note addressed to no one (the
request, its transaction and its answer, no federation); the ratio says how many such
round trips a step costs.

    PYTHONPATH=. python -m bench.exchange_latency [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import httpx

from bench.load import percentile
from bench.servers import free_port, oce_server, sqlite_url
from instance.agents import create_agent
from instance.demo import BREAD, MUTUAL_CREDIT, Agent, kg, one
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.tokens import create_token

TARGET_MEDIAN_MS = 200.0
STEPS = ("publish", "offer", "accept", "deliver", "pay")


async def _agent_token(database: str, username: str) -> str:
    db = Database.from_url(database)
    try:
        await upgrade(db.engine)
        async with db.write() as session:
            agent = await create_agent(session, username)
            return await create_token(session, agent)
    finally:
        await db.dispose()


async def _instance(stack: AsyncExitStack, http: httpx.AsyncClient, username: str) -> Agent:
    """An instance of its own with one agent; it runs until ``stack`` closes."""
    database, port = sqlite_url(), free_port()
    token = await _agent_token(database, username)
    server = await stack.enter_async_context(oce_server(database, port))
    return Agent(http, f"{server.base_url}/agents/{username}", token)


async def _arrival(agent: Agent, activity_id: str) -> float:
    """Poll ``agent``'s inbox until ``activity_id`` is in it; when it was first seen."""
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        page = await agent.get(f"{agent.id}/inbox?page=1")
        if any(item.get("id") == activity_id for item in page.get("orderedItems", [])):
            return time.perf_counter()
        await asyncio.sleep(0.002)
    raise RuntimeError(f"{activity_id} never reached {agent.id}")


async def _step(
    sender: Agent, receiver: Agent, document: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    sent = await sender.post(document)
    return (await _arrival(receiver, sent["id"])) - began, sent


async def _round(alice: Agent, bob: Agent, bread: str, currency: str) -> dict[str, float]:
    took: dict[str, float] = {}
    took["publish"], created = await _step(
        alice,
        bob,
        {
            "type": "Proposal",
            "purpose": "offer",
            "name": "Rye bread",
            "publishes": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": BREAD,
                "resourceQuantity": kg("1"),
            },
            "reciprocal": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": currency,
                "resourceQuantity": one("2"),
            },
        },
    )
    proposal = created["object"]["id"]
    took["offer"], offer = await _step(
        bob,
        alice,
        {
            "type": "Offer",
            "object": {
                "type": "Agreement",
                "stipulates": {
                    "type": "Commitment",
                    "satisfies": f"{proposal}#primary",
                    "resourceQuantity": kg("1"),
                },
                "stipulatesReciprocal": {
                    "type": "Commitment",
                    "satisfies": f"{proposal}#reciprocal",
                    "resourceQuantity": one("2"),
                },
            },
        },
    )
    took["accept"], accepted = await _step(alice, bob, {"type": "Accept", "object": offer["id"]})
    agreement = accepted["result"]
    took["deliver"], _ = await _step(
        alice,
        bob,
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": bob.id,
            "resourceQuantity": kg("1"),
            "fulfills": agreement["stipulates"]["id"],
        },
    )
    took["pay"], _ = await _step(
        bob,
        alice,
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": alice.id,
            "resourceQuantity": one("2"),
            "fulfills": agreement["stipulatesReciprocal"]["id"],
        },
    )
    return took


async def _check_ledgers(alice: Agent, bob: Agent, bread: str, exchanges: int) -> None:
    """What was timed really happened: every agreement finished on both sides, and
    Alice's bread went down by one kilogram an exchange (she raised 4 more than that)."""
    deadline = time.perf_counter() + 30
    while True:
        agreements = [*await alice.items("agreements"), *await bob.items("agreements")]
        done = [a for a in agreements if a.get("oce:state") == "finished"]
        if len(done) == 2 * exchanges:
            break
        if time.perf_counter() > deadline:
            states = sorted({str(a.get("oce:state")) for a in agreements})
            raise RuntimeError(f"{len(done)} of {2 * exchanges} agreements finished ({states})")
        await asyncio.sleep(0.05)
    left = (await alice.get(bread))["accountingQuantity"]["hasNumericalValue"]
    if Decimal(left) != Decimal(4):
        raise RuntimeError(f"Alice has {left} kg of bread left, expected 4")
    print(f"checked: {exchanges} agreements finished on both instances, bread balance exact")


async def run(rounds: int) -> None:
    async with AsyncExitStack() as stack, httpx.AsyncClient(timeout=30) as http:
        alice = await _instance(stack, http, "alice")
        bob = await _instance(stack, http, "bob")
        follow = await bob.post({"type": "Follow", "object": alice.id})
        await _arrival(alice, follow["id"])
        currency = (
            await alice.post(
                {
                    "type": "ResourceSpecification",
                    "name": "Coop credit",
                    "resourceClassifiedAs": [MUTUAL_CREDIT],
                }
            )
        )["object"]["id"]
        bread = (
            await alice.post(
                {
                    "type": "EconomicEvent",
                    "action": "raise",
                    "receiver": alice.id,
                    "resourceConformsTo": BREAD,
                    "resourceQuantity": kg(str(rounds + 5)),
                }
            )
        )["object"]["resourceInventoriedAs"]

        baseline: list[float] = []
        for _ in range(50):
            began = time.perf_counter()
            await alice.post({"type": "Note", "content": "just a note", "to": [alice.id]})
            baseline.append(time.perf_counter() - began)
        base_ms = percentile(baseline, 0.5) * 1000
        print(f"baseline: one client POST on one instance, median {base_ms:.1f} ms")

        await _round(alice, bob, bread, currency)  # warm-up: keys, actors, connections
        samples: dict[str, list[float]] = {step: [] for step in STEPS}
        for _ in range(rounds):
            for step, seconds in (await _round(alice, bob, bread, currency)).items():
                samples[step].append(seconds)
        await _check_ledgers(alice, bob, bread, rounds + 1)
        print(f"\nvisible on the other instance, {rounds} rounds:")
        for step in STEPS:
            median = percentile(samples[step], 0.5) * 1000
            p99 = percentile(samples[step], 0.99) * 1000
            verdict = "met" if median < TARGET_MEDIAN_MS else "MISSED"
            print(
                f"  {step:8} median {median:6.1f} ms  p99 {p99:6.1f} ms  "
                f"({median / base_ms:4.1f}x baseline)  target median < "
                f"{TARGET_MEDIAN_MS:.0f} ms: {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
