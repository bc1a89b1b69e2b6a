"""Workers on PostgreSQL wake on ``LISTEN/NOTIFY`` when another process queues work.

Two instances share one PostgreSQL database, as ``oce serve`` (web only) and
``oce worker`` do: the web one queues a delivery when its agent posts; the worker one
polls only once an hour, so the delivery reaching its inbox in time shows the worker
was woken by the notification, not by its poll.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.store.models import Follow, RemoteActor
from instance.tokens import create_token
from tests.databases import PostgresFactory
from tests.harness import Network, make_settings, running
from tests.instance.conftest import add_agent

pytestmark = pytest.mark.postgres

ALICE = "https://a.test/agents/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def url(postgres_factory: PostgresFactory) -> str:
    return postgres_factory.new()


async def test_a_delivery_queued_by_a_web_process_wakes_a_polling_worker(url: str) -> None:
    arrived = asyncio.Event()

    async def inbox(request: Request) -> Response:
        await request.body()
        arrived.set()
        return Response(status_code=202)

    network = Network()
    network.add("https://b.test", Starlette(routes=[Route("/inbox", inbox, methods=["POST"])]))
    hour = 3_600_000
    async with (
        running(make_settings(url), network=network) as web,
        running(make_settings(url, worker_poll_ms=hour), network=network) as worker,
    ):
        assert worker.services.notifier is not None
        assert worker.services.notifier.listening
        assert worker.services.poll_seconds == 3600
        alice = await add_agent(web, "alice")
        async with web.services.db.write() as session:
            await session.execute(
                insert(RemoteActor).values(
                    uri="https://b.test/users/bo",
                    host="b.test",
                    inbox="https://b.test/users/bo/inbox",
                    shared_inbox="https://b.test/inbox",
                )
            )
            await session.execute(
                insert(Follow).values(
                    activity_uri=f"https://b.test/follows/{uuid.uuid4()}",
                    follower="https://b.test/users/bo",
                    followee=ALICE,
                    followee_agent_id=alice.id,
                    state="accepted",
                )
            )
            token = await create_token(session, alice)
        worker.workers.start()
        try:
            # The worker's first look finds nothing; then it waits (for an hour).
            await asyncio.sleep(0.2)
            received = worker.services.notifier.received
            note = {"type": "Note", "content": "hi", "to": [PUBLIC], "cc": [f"{ALICE}/followers"]}
            posted = await web.client.post(
                f"{ALICE}/outbox", json=note, headers={"Authorization": f"Bearer {token}"}
            )
            assert posted.status_code == 201
            async with asyncio.timeout(10):
                await arrived.wait()
            assert worker.services.notifier.received > received
        finally:
            await worker.workers.stop()
