"""The delivery worker on many hosts at once: what one batch records for each answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.agents import get_agent
from instance.outbox.delivery import DeliveryWorker
from instance.outbox.publish import publish
from instance.store.models import Delivery, Follow, RemoteActor, StoredObject, utcnow
from instance.tokens import create_token
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
#: Each host's inbox answers with its status.
ANSWERS = {"ok.test": 200, "ok2.test": 202, "ok3.test": 202, "busy.test": 503, "gone.test": 410}


def _inbox(status: int, received: list[str]) -> Starlette:
    async def inbox(request: Request) -> Response:
        received.append(request.url.netloc)
        await request.body()
        return Response(status_code=status)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


@pytest.fixture
def received() -> list[str]:
    return []


@pytest.fixture
async def a(database_url: str, received: list[str]) -> AsyncIterator[Running]:
    network = Network()
    for host, status in ANSWERS.items():
        network.add(f"https://{host}", _inbox(status, received))
    async with running(make_settings(database_url), network=network) as started:
        alice = await add_agent(started, "alice")
        async with started.services.db.write() as session:
            for host in ANSWERS:
                for name in ("x", "y"):  # two followers per host: one shared inbox
                    uri = f"https://{host}/users/{name}"
                    await session.execute(
                        insert(RemoteActor).values(
                            uri=uri,
                            host=host,
                            inbox=f"{uri}/inbox",
                            shared_inbox=f"https://{host}/inbox",
                        )
                    )
                    await session.execute(
                        insert(Follow).values(
                            activity_uri=f"https://{host}/follows/{uuid.uuid4()}",
                            follower=uri,
                            followee=ALICE,
                            followee_agent_id=alice.id,
                            state="accepted",
                        )
                    )
        yield started


async def test_one_batch_records_each_answer(a: Running, received: list[str]) -> None:
    async with a.services.db.write() as session:
        agent = await get_agent(session, "alice")
        assert agent is not None
        token = await create_token(session, agent)
    note = {"type": "Note", "content": "hi", "to": [PUBLIC], "cc": [f"{ALICE}/followers"]}
    posted = await a.client.post(
        f"{ALICE}/outbox", json=note, headers={"Authorization": f"Bearer {token}"}
    )
    assert posted.status_code == 201
    before = utcnow()
    assert await a.workers.delivery.run_once() == len(ANSWERS)
    assert sorted(received) == sorted(ANSWERS)
    async with a.services.db.read() as session:
        rows = {r.host: r for r in (await session.scalars(select(Delivery))).all()}
    assert set(rows) == set(ANSWERS)
    for host, row in rows.items():
        assert row.attempts == 1
        assert row.lease_until is None
        assert row.last_status == ANSWERS[host]
    for host in ("ok.test", "ok2.test", "ok3.test"):
        assert rows[host].state == "done"
        assert rows[host].done_at is not None
        assert rows[host].last_error is None
    assert rows["busy.test"].state == "pending"
    assert rows["busy.test"].next_attempt_at > before
    assert rows["busy.test"].last_error == "HTTP 503"
    assert rows["gone.test"].state == "failed"
    assert rows["gone.test"].last_error == "HTTP 410"
    # Nothing more is due now.
    assert await a.workers.delivery.run_once() == 0


async def test_a_fan_out_past_the_parameter_limit_is_queued_whole(database_url: str) -> None:
    # 1,200 servers: more rows than one SQLite statement may bind parameters for.
    hosts = [f"h{n}.test" for n in range(1200)]
    async with running(make_settings(database_url)) as a:
        alice = await add_agent(a, "alice")
        async with a.services.db.write() as session:
            await session.execute(
                insert(RemoteActor),
                [
                    {
                        "uri": f"https://{h}/users/x",
                        "host": h,
                        "inbox": f"https://{h}/users/x/inbox",
                        "shared_inbox": f"https://{h}/inbox",
                    }
                    for h in hosts
                ],
            )
            await session.execute(
                insert(Follow),
                [
                    {
                        "activity_uri": f"https://{h}/follows/1",
                        "follower": f"https://{h}/users/x",
                        "followee": ALICE,
                        "followee_agent_id": alice.id,
                        "state": "accepted",
                    }
                    for h in hosts
                ],
            )
        activity = {
            "id": a.services.urls.new_activity(),
            "type": "Create",
            "actor": ALICE,
            "object": {"id": a.services.urls.new_object(), "type": "Note", "content": "hi"},
            "to": [PUBLIC],
            "cc": [f"{ALICE}/followers"],
        }
        async with a.services.db.write() as session:
            outgoing = await publish(session, a.services.urls, alice, activity)
        assert len(outgoing.inboxes) == len(hosts)
        async with a.services.db.read() as session:
            queued = (await session.execute(select(Delivery.host, Delivery.inbox))).all()
        assert sorted(queued) == sorted((h, f"https://{h}/inbox") for h in hosts)


async def test_a_busy_host_does_not_hold_up_the_others(database_url: str) -> None:
    # 12 deliveries to a slow host, queued before one to a fast host; 4 sends at once,
    # 2 per host. Sends waiting for the slow host must leave the other slots free.
    release = asyncio.Event()
    fast_arrived = asyncio.Event()
    arrived: list[str] = []

    async def slow(request: Request) -> Response:
        arrived.append("slow")
        await release.wait()
        return Response(status_code=202)

    async def fast(request: Request) -> Response:
        arrived.append("fast")
        fast_arrived.set()
        return Response(status_code=202)

    network = Network()
    network.add("https://slow.test", Starlette(routes=[Route("/inbox", slow, methods=["POST"])]))
    network.add("https://fast.test", Starlette(routes=[Route("/inbox", fast, methods=["POST"])]))
    async with running(make_settings(database_url), network=network) as a:
        alice = await add_agent(a, "alice")
        async with a.services.db.write() as session:
            for n in range(13):
                row = StoredObject(
                    uri=f"{ALICE}/activities/{n}",
                    type="Create",
                    is_activity=True,
                    actor=ALICE,
                    agent_id=alice.id,
                    public=True,
                    body="{}",
                )
                session.add(row)
                await session.flush()
                host = "slow.test" if n < 12 else "fast.test"
                session.add(
                    Delivery(
                        object_id=row.id,
                        sender_agent_id=alice.id,
                        inbox=f"https://{host}/inbox",
                        host=host,
                    )
                )
        worker = DeliveryWorker(a.services, concurrency=4, per_host=2)
        sending = asyncio.create_task(worker.run_once())
        try:
            async with asyncio.timeout(10):
                await fast_arrived.wait()
            assert arrived.count("slow") == 2  # the slow host's two slots, still busy
        finally:
            release.set()
        assert await sending == 13
        async with a.services.db.read() as session:
            states = (await session.scalars(select(Delivery.state))).all()
        assert states == ["done"] * 13


async def _queue_to(a: Running, agent_id: int, n: int, host: str) -> None:
    async with a.services.db.write() as session:
        row = StoredObject(
            uri=f"{ALICE}/activities/{n}",
            type="Create",
            is_activity=True,
            actor=ALICE,
            agent_id=agent_id,
            public=True,
            body="{}",
        )
        session.add(row)
        await session.flush()
        session.add(
            Delivery(
                object_id=row.id,
                sender_agent_id=agent_id,
                inbox=f"https://{host}/inbox",
                host=host,
            )
        )


async def _state(a: Running, host: str) -> str | None:
    async with a.services.db.read() as session:
        state: str | None = await session.scalar(
            select(Delivery.state).where(Delivery.host == host)
        )
        return state


async def test_a_server_that_never_answers_does_not_hold_up_later_activities(
    database_url: str,
) -> None:
    hung = asyncio.Event()
    fast_arrived = asyncio.Event()

    async def never(request: Request) -> Response:
        hung.set()
        await asyncio.Event().wait()  # until the request is given up
        return Response(status_code=202)

    async def fast(request: Request) -> Response:
        fast_arrived.set()
        return Response(status_code=202)

    network = Network()
    network.add("https://dead.test", Starlette(routes=[Route("/inbox", never, methods=["POST"])]))
    network.add("https://fast.test", Starlette(routes=[Route("/inbox", fast, methods=["POST"])]))
    async with running(make_settings(database_url), network=network) as a:
        alice = await add_agent(a, "alice")
        await _queue_to(a, alice.id, 1, "dead.test")
        wake = asyncio.Event()
        worker = DeliveryWorker(a.services)
        loop = asyncio.create_task(worker.run(wake, poll=0.05))
        try:
            async with asyncio.timeout(10):
                await hung.wait()
                # The first batch still waits for dead.test; the next activity goes now.
                await _queue_to(a, alice.id, 2, "fast.test")
                wake.set()
                await fast_arrived.wait()
                for _ in range(500):  # and its outcome is recorded
                    if await _state(a, "fast.test") == "done":
                        break
                    await asyncio.sleep(0.02)
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        async with a.services.db.read() as session:
            rows = {r.host: r for r in (await session.scalars(select(Delivery))).all()}
        assert rows["fast.test"].state == "done"
        # Stopped mid-send, the hung delivery is not lost: it is handed back at once, the
        # interrupted attempt not counted, for any worker to take up.
        assert rows["dead.test"].state == "pending"
        assert rows["dead.test"].attempts == 0
        assert rows["dead.test"].lease_until is None
        assert len(worker._hosts) == 0  # no slot left behind for either host
