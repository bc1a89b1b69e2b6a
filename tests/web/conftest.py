from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from instance.agents import get_agent
from instance.web.app.passwords import hash_password, set_password
from tests.exchange.conftest import Pair, client
from tests.fakepeer import FakePeer
from tests.harness import Network, Running, make_settings, running
from tests.web.signing import PASSWORD, add_person


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Running]:
    """An instance at https://a.test where alice and bob have passwords."""
    async with running(make_settings(database_url)) as started:
        await add_person(started, "alice")
        await add_person(started, "bob")
        yield started


@pytest.fixture
async def pair(database_url: str, postgres_or_sqlite_second: str) -> AsyncIterator[Pair]:
    """a.test with alice and b.test with bob, in-process; both have a password and a
    token (the token takes the steps this test is not about)."""
    network = Network()
    async with (
        running(make_settings(database_url, "https://a.test"), network=network) as a,
        running(make_settings(postgres_or_sqlite_second, "https://b.test"), network=network) as b,
    ):
        alice, bob = await client(a, "alice"), await client(b, "bob")
        for instance, name in ((a, "alice"), (b, "bob")):
            hashed = await hash_password(PASSWORD)
            async with instance.services.db.write() as session:
                agent = await get_agent(session, name)
                assert agent is not None
                await set_password(session, agent, hashed)
        yield Pair(a, b, alice, bob, network)


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
