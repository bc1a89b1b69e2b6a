"""Refusals against a real instance process: a scriptable peer on a real loopback port
sends it signed activities it must refuse, and its agent's client asks for what it must
not do. Each refusal is answered, and the ledger reads the same afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from instance.demo import Agent
from tests.e2e.conftest import agent_with_token, sqlite_url
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.federation.servers import serve
from tests.processes import Process, serving

pytestmark = pytest.mark.e2e

BREAD = "https://www.wikidata.org/wiki/Q7802"


def kg(value: str) -> dict[str, str]:
    return {"hasUnit": "kilogram", "hasNumericalValue": value}


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll another process until ``check`` holds (nothing to wait on but its answers)."""
    for _ in range(400):  # 20 s
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def send(
    http: httpx.AsyncClient, server: Process, actor: PeerActor, activity: dict[str, Any]
) -> httpx.Response:
    inbox = f"{server.base_url}/inbox"
    body, headers = signed_post(actor, inbox, activity)
    return await http.post(inbox, content=body, headers=headers)


def act(actor: PeerActor, kind: str, obj: Any, to: str) -> dict[str, Any]:
    return {
        "@context": [AS, f"{actor.origin}/ns/oce-v1.jsonld"],
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": kind,
        "actor": actor.id,
        "object": obj,
        "to": [to],
    }


async def ledger(alice: Agent) -> list[Any]:
    return [
        sorted(
            (r["id"], r["accountingQuantity"]["hasNumericalValue"])
            for r in await alice.items("resources")
        ),
        len(await alice.items("events")),
        len(await alice.items("agreements")),
        len(await alice.items("commitments")),
    ]


async def test_a_real_instance_refuses_and_changes_nothing(tmp_path: Path) -> None:
    peer = FakePeer(origin="http://placeholder")
    async with serve(peer.app()) as origin, httpx.AsyncClient(timeout=30) as http:
        peer.origin = origin
        mallory = peer.actor("mallory")
        with serving("a", sqlite_url(tmp_path, "a"), tmp_path) as a:
            token = agent_with_token(a, "alice")["Authorization"].removeprefix("Bearer ")
            alice = Agent(http, f"{a.base_url}/agents/alice", token)
            bread = (
                await alice.post(
                    {
                        "type": "EconomicEvent",
                        "action": "raise",
                        "receiver": alice.id,
                        "resourceConformsTo": BREAD,
                        "resourceQuantity": kg("10"),
                    }
                )
            )["object"]["resourceInventoriedAs"]
            proposal = (
                await alice.post(
                    {
                        "type": "Proposal",
                        "purpose": "offer",
                        "name": "Bread",
                        "publishes": {
                            "type": "Intent",
                            "action": "transfer",
                            "resourceConformsTo": BREAD,
                            "resourceQuantity": kg("2"),
                        },
                    }
                )
            )["object"]["id"]
            before = await ledger(alice)

            # Transport refusals: unsigned, and a body changed after signing.
            follow = act(mallory, "Follow", alice.id, alice.id)
            unsigned = await http.post(
                f"{a.base_url}/inbox",
                content=json.dumps(follow).encode(),
                headers={"Content-Type": "application/activity+json"},
            )
            assert unsigned.status_code == 401
            body, headers = signed_post(mallory, f"{a.base_url}/inbox", follow)
            changed = await http.post(
                f"{a.base_url}/inbox", content=body.replace(b"Follow", b"Block"), headers=headers
            )
            assert changed.status_code == 401
            assert "igest" in changed.json()["detail"]

            # A peer claiming Alice gave it her bread; one drawing on her resource.
            for event in (
                {"provider": alice.id, "receiver": mallory.id},
                {"provider": mallory.id, "receiver": alice.id, "resourceInventoriedAs": bread},
            ):
                document = {
                    "id": f"{origin}/events/{uuid.uuid4()}",
                    "type": "EconomicEvent",
                    "action": "transfer",
                    "resourceQuantity": kg("10"),
                    **event,
                }
                assert (
                    await send(http, a, mallory, act(mallory, "Create", document, alice.id))
                ).status_code == 202
            # An offer that does not fit the proposal, and an Accept of an offer never sent.
            bad_offer = act(
                mallory,
                "Offer",
                {
                    "type": "Agreement",
                    "stipulates": {
                        "type": "Commitment",
                        "satisfies": f"{proposal}#primary",
                        "resourceQuantity": kg("3"),
                    },
                },
                alice.id,
            )
            assert (await send(http, a, mallory, bad_offer)).status_code == 202
            stray = act(mallory, "Accept", f"{a.base_url}/activities/{uuid.uuid4()}", alice.id)
            assert (await send(http, a, mallory, stray)).status_code == 202

            async def three_rejects() -> bool:
                return len(peer.activities("Reject")) >= 3

            await until(three_rejects, "the Rejects")
            reasons = " | ".join(r.get("content", "") for r in peer.activities("Reject"))
            assert "cannot assert an event provided by" in reasons
            assert "a resource of this instance" in reasons
            assert "must equal the proposal's" in reasons

            # The client asking for what it must not: overspending, changing an event.
            response = await http.post(
                f"{alice.id}/outbox",
                headers=alice.headers,
                json={
                    "type": "EconomicEvent",
                    "action": "transfer",
                    "resourceInventoriedAs": bread,
                    "receiver": mallory.id,
                    "resourceQuantity": kg("11"),
                },
            )
            assert response.status_code == 409
            assert response.json()["field"] == "resourceQuantity"
            event_id = (await alice.items("events"))[0]["id"]
            response = await http.post(
                f"{alice.id}/outbox",
                headers=alice.headers,
                json={"type": "Delete", "object": {"id": event_id, "type": "EconomicEvent"}},
            )
            assert response.status_code == 409

            assert await ledger(alice) == before
