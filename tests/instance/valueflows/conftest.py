"""Helpers for sending ValueFlows example documents as a peer would.

Each document comes from ``tests/vocab/fixtures/`` (its README names the FEP and
section) or its ``interop/`` folder, with only its ids and hosts adapted: the FEPs'
hosts become the fake peer's origin (its actors live under ``/users/``), and the actor
that plays the part of an oce agent becomes that agent's id.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from instance.agents import get_agent
from instance.store.models import InboxItem
from instance.tokens import create_token
from tests.fakepeer import FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

FIXTURES = Path(__file__).resolve().parents[2] / "vocab" / "fixtures"
PEER = "https://peer.test"
BASE = "https://a.test"
FEP_HOSTS = (
    "https://market.example",
    "https://social.example",
    "https://project.example",
    "https://kawen.space",
)


def fixture_path(name: str) -> Path:
    """The FEPs' examples the vocab tests also read, or the other documents here."""
    found = FIXTURES / name
    return found if found.exists() else FIXTURES / "interop" / name


def agent(name: str) -> str:
    return f"{BASE}/agents/{name}"


def example(name: str, ids: dict[str, str] | None = None) -> Any:
    """A fixture with its ids and hosts adapted: ``ids`` first (old id → new id), then
    the FEPs' hosts to the peer's origin, their actors under ``/users/``."""
    text = fixture_path(name).read_text()
    for old, new in (ids or {}).items():
        text = text.replace(old, new)
    for host in FEP_HOSTS:
        text = text.replace(f"{host}/actors/", f"{PEER}/users/").replace(host, PEER)
    text = text.replace("https://testing.kawen.dance/users/karen", agent("bob"))
    return json.loads(text)


def as_create(obj: dict[str, Any], to: list[str]) -> dict[str, Any]:
    """FEP-d767: a ValueFlows object travels as the object of a Create (the FEP-0837
    proposal and FEP-3264 plan examples show the object alone)."""
    return {
        "@context": obj["@context"],
        "id": f"{obj['id']}/create",
        "type": "Create",
        "actor": obj["attributedTo"],
        "object": {k: v for k, v in obj.items() if k != "@context"},
        "to": to,
    }


class World:
    def __init__(self, a: Running, peer: FakePeer) -> None:
        self.a = a
        self.peer = peer

    def actor(self, name: str) -> PeerActor:
        return self.peer.actor(name)

    async def send(self, document: dict[str, Any] | bytes, to: str, *, signer: str) -> int:
        inbox = f"{agent(to)}/inbox"
        body, headers = signed_post(self.actor(signer), inbox, document)
        response = await self.a.client.post(inbox, content=body, headers=headers)
        await self.a.settle()
        return response.status_code

    async def read(self, document: dict[str, Any], to: str) -> dict[str, Any]:
        """Send ``document``; it must be read and shown in ``to``'s inbox (returned)."""
        signer = str(document["actor"]).rsplit("/", 1)[1]
        assert await self.send(document, to, signer=signer) == 202
        assert await self.state(document["id"]) == ("done", None)
        shown = {item["id"]: item for item in await self.inbox(to)}
        assert document["id"] in shown, f"{document['id']} is not in {to}'s inbox"
        return shown[document["id"]]

    async def refused(self, document: dict[str, Any], to: str) -> str:
        """Send ``document``; it must be refused with a Reject to the sender (its reason
        is returned) and nothing shown in ``to``'s inbox."""
        signer = str(document["actor"]).rsplit("/", 1)[1]
        assert await self.send(document, to, signer=signer) == 202
        state, error = await self.state(document["id"])
        assert state == "failed"
        # The activity is rejected, or (FEP-3264's answer to an event) its object.
        target = document["object"]
        refused = {document["id"], target["id"] if isinstance(target, dict) else target}
        rejects = [r for r in self.peer.activities("Reject") if r["object"] in refused]
        assert len(rejects) == 1, f"no Reject of {document['id']} reached the sender"
        assert rejects[0]["actor"] == agent(to)
        assert rejects[0]["content"] == error
        assert document["id"] not in {item["id"] for item in await self.inbox(to)}
        return str(error)

    async def state(self, activity_id: str) -> tuple[str, str | None]:
        async with self.a.services.db.read() as session:
            item = await session.scalar(
                select(InboxItem).where(InboxItem.activity_uri == activity_id)
            )
        assert item is not None
        return item.state, item.error

    async def auth(self, name: str) -> dict[str, str]:
        async with self.a.services.db.write() as session:
            found = await get_agent(session, name)
            assert found is not None
            return {"Authorization": f"Bearer {await create_token(session, found)}"}

    async def inbox(self, name: str) -> list[dict[str, Any]]:
        page = await self.a.client.get(f"{agent(name)}/inbox?page=1", headers=await self.auth(name))
        assert page.status_code == 200
        items: list[dict[str, Any]] = page.json().get("orderedItems", [])
        return items

    async def post(self, name: str, document: dict[str, Any], status: int = 201) -> Any:
        response = await self.a.client.post(
            f"{agent(name)}/outbox", json=document, headers=await self.auth(name)
        )
        assert response.status_code == status, response.text
        await self.a.settle()
        return response.json()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    peer = FakePeer(PEER)
    network = Network()
    network.add(peer.origin, peer.app())
    async with running(make_settings(database_url), network=network) as a:
        for name in ("alice", "bob", "gleaning", "humans"):
            await add_agent(a, name)
        yield World(a, peer)


def quantity(value: str, unit: str) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": value}
