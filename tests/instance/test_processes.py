"""Several processes of one instance on one database: what they must agree on.

Each test runs two in-process instances with the same settings over the same database,
as two ``oce serve`` (or ``oce worker``) processes would: they share the database and
nothing else, each with its own key cache, blocklist and workers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from starlette.types import Receive, Scope, Send

from instance import moderation
from instance.agents import get_agent
from instance.inbox.processing import LEASE, _process_safely, process_due
from instance.ledger.resources import resource_for
from instance.moderation import block_domain
from instance.peers import Peers
from instance.store.models import Delivery, EconomicResource, Follow, InboxItem, utcnow
from instance.store.queue import claim
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/agents/alice"


@pytest.fixture
def peer() -> FakePeer:
    return FakePeer()


@pytest.fixture
def network(peer: FakePeer) -> Network:
    network = Network()
    network.add(peer.origin, peer.app())
    return network


@pytest.fixture
async def two(database_url: str, network: Network) -> AsyncIterator[tuple[Running, Running]]:
    """Two processes of the instance https://a.test on one database."""
    settings = make_settings(database_url)
    async with running(settings, network=network) as one, running(settings, network=network) as two:
        await add_agent(one, "alice")
        yield one, two


def follow(actor: PeerActor) -> dict[str, object]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": ALICE,
    }


async def post(process: Running, body: bytes, headers: dict[str, str]) -> int:
    return (await process.client.post(INBOX, content=body, headers=headers)).status_code


def frozen_keys(process: Running) -> list[float]:
    """Give the process a key cache whose clock stands still: it never refetches a key
    from the network by itself (the refetch is rate-limited per minute)."""
    now = [1000.0]
    svc = process.services
    svc.peers = Peers(svc.db, svc.peers.fetcher, clock=lambda: now[0])
    return now


async def test_a_key_rotation_learned_by_one_process_is_used_by_all(
    two: tuple[Running, Running], peer: FakePeer
) -> None:
    first, second = two
    frozen_keys(second)
    bob = peer.actor("bob")
    # Both processes verify bob's requests with his key, now cached in each.
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    old_key = bob.private_key
    peer.rotate_key("bob")
    # The Update announcing the new key reaches the first process only.
    update_activity = {
        "@context": AS,
        "id": f"{peer.origin}/activities/{uuid.uuid4()}",
        "type": "Update",
        "actor": bob.id,
        "object": bob.document(),
    }
    assert await post(first, *signed_post(bob, INBOX, update_activity, private_key=old_key)) == 202
    await first.settle()
    fetched = len(peer.fetched)
    # The second process's cached key fails; it reads the stored key again instead of
    # refusing (its network refetch is rate-limited) or fetching bob's document.
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    assert len(peer.fetched) == fetched


async def test_a_key_fetched_again_by_one_process_is_used_by_all(
    two: tuple[Running, Running], peer: FakePeer
) -> None:
    first, second = two
    clock = frozen_keys(first)
    frozen_keys(second)
    bob = peer.actor("bob")
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    peer.rotate_key("bob")  # no Update: whoever sees the new key first must fetch it
    clock[0] += 61
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    fetched = len(peer.fetched)
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    assert len(peer.fetched) == fetched  # taken from the database, not the network


async def test_a_wrong_key_is_not_fetched_again_within_a_minute(
    two: tuple[Running, Running], peer: FakePeer
) -> None:
    _, second = two
    frozen_keys(second)
    bob = peer.actor("bob")
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    fetched = len(peer.fetched)
    forged = peer.actor("mallory").private_key
    for _ in range(5):
        assert await post(second, *signed_post(bob, INBOX, follow(bob), private_key=forged)) == 401
    assert len(peer.fetched) == fetched


async def test_a_block_made_anywhere_holds_in_every_process_within_the_bound(
    two: tuple[Running, Running], peer: FakePeer
) -> None:
    first = two[0]
    bob = peer.actor("bob")
    for process in two:  # both have read the (empty) blocklist just now
        assert await post(process, *signed_post(bob, INBOX, follow(bob))) == 202
    # `oce domain block` is a third process: it only writes the database.
    async with first.services.db.write() as session:
        await block_domain(session, "peer.test")
    blocked_at = time.monotonic()
    for process in two:
        while await post(process, *signed_post(bob, INBOX, follow(bob))) != 403:
            assert time.monotonic() - blocked_at < moderation.REFRESH_SECONDS + 0.5
            await asyncio.sleep(0.05)
        # Nor does any delivery go there from this process any more.
        assert await process.services.blocklist.is_blocked(bob.inbox)


async def test_an_item_two_workers_hold_is_applied_once(
    two: tuple[Running, Running], peer: FakePeer
) -> None:
    first, second = two
    bob = peer.actor("bob")
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    # The first process claims the Follow, then stalls past its lease...
    items = await claim(first.services.db, InboxItem, limit=10, lease=LEASE)
    assert len(items) == 1
    async with first.services.db.write() as session:
        await session.execute(update(InboxItem).values(lease_until=utcnow() - timedelta(seconds=1)))
    # ...so the second takes the item up and processes it.
    assert await process_due(second.services) == 1
    # The first wakes up and finishes its stale copy: it is dropped, not applied again.
    await _process_safely(first.services, items[0])
    async with first.services.db.read() as session:
        states = (await session.scalars(select(InboxItem.state))).all()
        follows = await session.scalar(select(func.count()).select_from(Follow))
        accepts = await session.scalar(select(func.count()).select_from(Delivery))
    assert states == ["done"]
    assert follows == 1
    assert accepts == 1  # one Accept queued, not two


class _Hanging:
    """The peer's app, except that its inboxes never answer."""

    def __init__(self, peer: FakePeer) -> None:
        self.app = peer.app()
        self.posted = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posted.set()
            await asyncio.sleep(3600)
        await self.app(scope, receive, send)


async def test_a_stopped_worker_hands_its_rows_back(
    database_url: str, peer: FakePeer, network: Network
) -> None:
    hanging = _Hanging(peer)
    network.add(peer.origin, hanging)
    async with running(make_settings(database_url), network=network) as process:
        await add_agent(process, "alice")
        bob = peer.actor("bob")
        assert await post(process, *signed_post(bob, INBOX, follow(bob))) == 202
        assert await process_due(process.services) == 1  # the Accept is queued
        process.workers.start()
        await asyncio.wait_for(hanging.posted.wait(), 10)  # and being sent, forever
        async with process.services.db.read() as session:
            leased = (await session.execute(select(Delivery.lease_until, Delivery.attempts))).one()
        assert leased.lease_until is not None
        assert leased.attempts == 1
        await process.workers.stop()  # what SIGTERM does to `oce worker`
        async with process.services.db.read() as session:
            row = (
                await session.execute(
                    select(Delivery.state, Delivery.lease_until, Delivery.attempts)
                )
            ).one()
        # Due again at once for another worker, and the interrupted try not counted.
        assert tuple(row) == ("pending", None, 0)


async def test_concurrent_first_credits_open_one_account(two: tuple[Running, Running]) -> None:
    """Workers crediting an agent with a kind it holds none of yet, at the same moment."""
    spec = "https://a.test/specs/bread"

    async def credit(process: Running) -> None:
        async with process.services.db.write() as session:
            agent = await get_agent(session, "alice")
            assert agent is not None
            resource = await resource_for(
                session, process.services.urls, agent, conforms_to=spec, unit="kilogram"
            )
            resource.accounting_quantity += 1

    await asyncio.gather(*(credit(process) for process in two for _ in range(3)))
    async with two[0].services.db.read() as session:
        accounts = (await session.scalars(select(EconomicResource.accounting_quantity))).all()
    assert accounts == [Decimal(6)]
