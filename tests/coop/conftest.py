"""Three in-process instances (a.test, b.test, c.test) for cooperative flows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from instance.agents import create_agent
from instance.coop.memberships import add_member, change_settings
from instance.store.models import CoopMembership
from instance.tokens import create_token
from tests.exchange.conftest import Client
from tests.harness import Network, Running, make_settings, running


@dataclass
class Three:
    a: Running
    b: Running
    c: Running
    network: Network

    async def settle(self) -> None:
        await self.a.settle(self.b, self.c)

    async def agent(self, instance: Running, username: str, kind: str = "person") -> Client:
        async with instance.services.db.write() as session:
            agent = await create_agent(session, username, kind=kind)
            token = await create_token(session, agent)
        return Client(instance, username, token)

    async def organization(self, name: str, joining: str, **extra: Any) -> Client:
        org = await self.agent(self.a, name, "organization")
        async with self.a.services.db.write() as session:
            agent = await _agent(self.a, session, name)
            await change_settings(session, agent, joining=joining, **extra)
        return org

    async def make_member(self, org: Client, person: Client, *roles: str) -> None:
        async with self.a.services.db.write() as session:
            agent = await _agent(self.a, session, org.username)
            await add_member(session, self.a.services.urls, agent, person.id, roles)

    async def agent_id(self, instance: Running, username: str) -> int:
        async with instance.services.db.read() as session:
            agent = await _agent(instance, session, username)
            return int(agent.id)


async def collection(reader: Client, url: str) -> list[Any]:
    """Every item of a collection, read with ``reader``'s token."""
    found: list[Any] = []
    page: str | None = (await reader.get(url))["first"]
    while page:
        document = await reader.get(page)
        found.extend(document.get("orderedItems", []))
        page = document.get("next")
    return found


async def _agent(instance: Running, session: Any, username: str) -> Any:
    from instance.agents import require_agent

    return await require_agent(session, username)


async def membership(instance: Running, org: str, member: str) -> CoopMembership | None:
    async with instance.services.db.read() as session:
        found: CoopMembership | None = await session.scalar(
            select(CoopMembership).where(
                CoopMembership.organization == org, CoopMembership.member == member
            )
        )
        return found


@pytest.fixture
def two_more(request: pytest.FixtureRequest, database_url: str) -> tuple[str, str]:
    """Two more databases of the kind of ``database_url``, for b.test and c.test."""
    name = "sqlite_factory" if database_url.startswith("sqlite") else "postgres_factory"
    factory = request.getfixturevalue(name)
    return factory.new(), factory.new()


@pytest.fixture
async def three(database_url: str, two_more: tuple[str, str]) -> AsyncIterator[Three]:
    network = Network()
    async with (
        running(make_settings(database_url, "https://a.test"), network=network) as a,
        running(make_settings(two_more[0], "https://b.test"), network=network) as b,
        running(make_settings(two_more[1], "https://c.test"), network=network) as c,
    ):
        yield Three(a, b, c, network)
