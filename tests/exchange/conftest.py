"""Two instances in-process (a.test and b.test) with one agent each and their clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from instance.agents import create_agent
from instance.store.models import (
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Intent,
    Proposal,
)
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BREAD = "https://www.wikidata.org/wiki/Q7802"
HOURS_OF_CARE = "https://www.wikidata.org/wiki/Q1149504"


@dataclass
class Client:
    """An agent's client: posts to its outbox and reads with its token."""

    instance: Running
    username: str
    token: str

    @property
    def id(self) -> str:
        return self.instance.services.urls.actor(self.username)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, document: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = await self.instance.client.post(
            f"{self.id}/outbox", json=document, headers=self.auth
        )
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, url: str, status: int = 200) -> dict[str, Any]:
        response = await self.instance.client.get(
            url, headers={**self.auth, "Accept": "application/activity+json"}
        )
        assert response.status_code == status, response.text
        result: dict[str, Any] = response.json()
        return result

    async def items(self, collection: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: str | None = (await self.get(f"{self.id}/{collection}"))["first"]
        while page:
            document = await self.get(page)
            found.extend(document.get("orderedItems", []))
            page = document.get("next")
        return found

    async def inbox_types(self) -> list[str]:
        return [item["type"] for item in await self.items("inbox")]


async def client(instance: Running, username: str) -> Client:
    async with instance.services.db.write() as session:
        agent = await create_agent(session, username)
        token = await create_token(session, agent)
    return Client(instance, username, token)


@dataclass
class Pair:
    a: Running
    b: Running
    alice: Client
    bob: Client
    network: Network

    async def settle(self) -> None:
        await self.a.settle(self.b)


async def ledger_state(instance: Running) -> dict[str, Any]:
    """Everything the ledger holds on one instance: to show a refusal changed nothing."""
    async with instance.services.db.read() as session:
        resources = {
            r.uri: (r.accounting_quantity, r.onhand_quantity)
            for r in (await session.scalars(select(EconomicResource))).all()
        }
        counts = {
            table.__tablename__: await session.scalar(select(func.count()).select_from(table))
            for table in (EconomicEvent, Commitment, Agreement, Proposal, Intent)
        }
        states = {
            c.uri: (c.state, c.fulfilled) for c in (await session.scalars(select(Commitment))).all()
        }
        agreements = {
            a.offer_uri: a.state for a in (await session.scalars(select(Agreement))).all()
        }
    return {
        "resources": resources,
        "counts": counts,
        "commitments": states,
        "agreements": agreements,
    }


@pytest.fixture
async def pair(database_url: str, postgres_or_sqlite_second: str) -> AsyncIterator[Pair]:
    network = Network()
    async with (
        running(make_settings(database_url, "https://a.test"), network=network) as a,
        running(make_settings(postgres_or_sqlite_second, "https://b.test"), network=network) as b,
    ):
        yield Pair(a, b, await client(a, "alice"), await client(b, "bob"), network)


@pytest.fixture
def postgres_or_sqlite_second(request: pytest.FixtureRequest, database_url: str) -> str:
    """A second database of the same kind as ``database_url``, for instance B."""
    name = "sqlite_factory" if database_url.startswith("sqlite") else "postgres_factory"
    factory = request.getfixturevalue(name)
    url: str = factory.new()
    return url


@pytest.fixture
def peer(pair: Pair) -> FakePeer:
    """A scriptable remote server at https://peer.test, reachable from both instances."""
    fake = FakePeer()
    pair.network.add(fake.origin, fake.app())
    return fake


async def deliver(pair: Pair, actor: PeerActor, activity: dict[str, Any]) -> None:
    """``actor`` sends ``activity`` to a.test's shared inbox, signed; a.test processes it."""
    body, headers = signed_post(actor, "https://a.test/inbox", activity)
    response = await pair.a.client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await pair.settle()


def activity(actor: PeerActor, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": [AS, "https://a.test/ns/oce-v1.jsonld"],
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": kind,
        "actor": actor.id,
        "object": obj,
        **extra,
    }
