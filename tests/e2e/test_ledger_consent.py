"""Ledger consent and inbox limits between real instance processes (issue 11, defects 3
and 8), over signed HTTP on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from instance.demo import Agent, _poll
from tests.e2e.conftest import agent_with_token, sqlite_url
from tests.processes import Process, serving

pytestmark = pytest.mark.e2e

MUTUAL_CREDIT = "https://w3id.org/oce/ns#MutualCredit"


def agent(http: httpx.AsyncClient, server: Process, username: str) -> Agent:
    token = agent_with_token(server, username)["Authorization"].removeprefix("Bearer ")
    return Agent(http, f"{server.base_url}/agents/{username}", token)


async def balance(who: Agent, kind: str) -> str | None:
    for resource in await who.items("resources"):
        if resource.get("conformsTo") == kind:
            value: str = resource["accountingQuantity"]["hasNumericalValue"]
            return value
    return None


async def state_of(who: Agent, event: str) -> str | None:
    for item in await who.items("events"):
        if item["id"] == event:
            state: str = item["oce:state"]
            return state
    return None


def test_a_peer_takes_nothing_back_without_the_agents_accept(tmp_path: Path) -> None:
    """bob (on b) pays alice (on a) 60, then corrects it by -60: alice's balance stays
    until she accepts; then both instances settle, and more than 60 is never allowed."""
    a_db, b_db = sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b")
    with serving("a", a_db, tmp_path) as a, serving("b", b_db, tmp_path) as b:

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                alice, bob = agent(http, a, "alice"), agent(http, b, "bob")
                spec = await alice.post(
                    {
                        "type": "ResourceSpecification",
                        "name": "Coop credit",
                        "defaultUnitOfResource": "one",
                        "resourceClassifiedAs": [MUTUAL_CREDIT],
                    }
                )
                credit = spec["object"]["id"]

                def pay(amount: str, **extra: Any) -> dict[str, Any]:
                    return {
                        "type": "EconomicEvent",
                        "action": "transfer",
                        "receiver": alice.id,
                        "resourceConformsTo": credit,
                        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": amount},
                        **extra,
                    }

                paid = (await bob.post(pay("60")))["object"]["id"]

                async def claimed(event: str) -> bool:
                    return await state_of(alice, event) == "claimed"

                await _poll(lambda: claimed(paid))
                await alice.post({"type": "Accept", "object": paid})
                assert await balance(alice, credit) == "60"

                over = await http.post(
                    f"{bob.id}/outbox", json=pay("-61", corrects=paid), headers=bob.headers
                )
                assert over.status_code == 422, over.text
                assert "never exceeds" in over.json()["detail"]

                correction = (await bob.post(pay("-60", corrects=paid)))["object"]["id"]
                await _poll(lambda: claimed(correction))
                assert await balance(alice, credit) == "60"
                assert await balance(bob, credit) == "-60"

                await alice.post({"type": "Accept", "object": correction})
                assert await balance(alice, credit) == "0"

                async def bob_settled() -> bool:
                    return await state_of(bob, correction) == "applied"

                await _poll(bob_settled)
                assert await balance(bob, credit) == "0"

        asyncio.run(run())


def test_a_peer_over_the_inbox_limit_is_slowed_and_loses_nothing(tmp_path: Path) -> None:
    """a lets one actor send a burst of 2, then one activity every 3 s: b's posts get
    429 with Retry-After, b's delivery worker waits as told, and every post arrives."""
    limits = {"OCE_INBOX_ACTOR_PER_MINUTE": "20", "OCE_INBOX_ACTOR_BURST": "2"}
    a_db, b_db = sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b")
    with serving("a", a_db, tmp_path, **limits) as a, serving("b", b_db, tmp_path) as b:

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                alice, bob = agent(http, a, "alice"), agent(http, b, "bob")
                began = time.monotonic()
                posted = [
                    (await bob.post({"type": "Note", "content": f"note {n}", "to": [alice.id]}))[
                        "id"
                    ]
                    for n in range(5)
                ]
                deadline = began + 120
                arrived: set[str | None] = set()
                while time.monotonic() < deadline:
                    arrived = {item.get("id") for item in await alice.items("inbox")}
                    if set(posted) <= arrived:
                        break
                    await asyncio.sleep(0.5)
                assert set(posted) <= arrived, f"{len(set(posted) & arrived)} of 5 arrived"
                # Three past the burst, one every 3 s: at least 9 s, whatever the load.
                assert time.monotonic() - began >= 8.5

        asyncio.run(run())
    # b was told to wait: some of its deliveries to a took more than one attempt.
    with sqlite3.connect(tmp_path / "b" / "oce.sqlite3") as database:
        (attempts,) = database.execute("SELECT max(attempts) FROM deliveries").fetchone()
    assert attempts > 1
