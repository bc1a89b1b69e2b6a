from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypedDict, Unpack

import pytest

from instance.agents import create_agent
from instance.store.models import Agent
from tests import mastodon
from tests.fakepeer import FakePeer
from tests.harness import Running, make_settings, running


@pytest.fixture
def masto() -> FakePeer:
    """A Mastodon-shaped server at https://mastodon.example (in-process)."""
    return FakePeer(
        "https://mastodon.example",
        nodeinfo=mastodon.NODEINFO,
        actor_document=mastodon.actor_document,
    )


@pytest.fixture
async def instance(database_url: str) -> AsyncIterator[Running]:
    """An instance at https://a.test, running in-process on a fresh database."""
    async with running(make_settings(database_url)) as started:
        yield started


class AgentFields(TypedDict, total=False):
    """The keyword arguments :func:`create_agent` takes."""

    kind: str
    name: str
    summary: str
    manually_approves_followers: bool


async def add_agent(instance: Running, username: str, **fields: Unpack[AgentFields]) -> Agent:
    async with instance.services.db.write() as session:
        return await create_agent(session, username, **fields)
