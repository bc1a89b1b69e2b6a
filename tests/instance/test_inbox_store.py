"""The inbox's group commit, and the blocklist cache the inbox consults per request."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import event, func, select

from instance.inbox.store import InboxStore, NewInboxItem
from instance.moderation import Blocklist
from instance.store.db import Database
from instance.store.models import InboxItem, utcnow


def _item(n: int, body: bytes | None = None) -> NewInboxItem:
    body = body if body is not None else f'{{"n": {n}}}'.encode()
    return NewInboxItem(
        activity_uri=f"https://peer.example/activities/{n}",
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers="[]",
        signer_key_id="https://peer.example/actor#main-key",
        signer="https://peer.example/actor",
        verified_by="cavage-rsa-sha256",
        recipient_agent_id=None,
    )


def _count_commits(db: Database) -> list[int]:
    commits: list[int] = []
    event.listen(db.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    return commits


async def test_concurrent_stores_share_commits_and_all_rows_are_durable(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    store = InboxStore(db)
    commits = _count_commits(db)
    store.start()
    try:
        results = await asyncio.gather(*(store.store(_item(n)) for n in range(200)))
    finally:
        await store.stop()
    try:
        assert results == ["stored"] * 200
        # Requests arriving together are written together: far fewer commits than rows.
        assert len(commits) <= 10
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(InboxItem)) == 200
            row = await session.scalar(select(InboxItem).where(InboxItem.id.is_not(None)))
            assert row is not None
            assert (row.state, row.attempts) == ("pending", 0)
            # Written by the SQLite writer thread or asyncpg, read back the same way.
            assert abs(row.received_at - utcnow()) < timedelta(minutes=1)
            assert row.next_attempt_at == row.received_at
    finally:
        await db.dispose()


async def test_one_batch_tells_new_replayed_and_conflicting_activities_apart(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    store = InboxStore(db)
    try:
        assert await store.store(_item(1)) == "stored"
        store.start()
        results = await asyncio.gather(
            store.store(_item(1)),  # the same bytes again: a replay
            store.store(_item(1, b'{"other": true}')),  # same id, other bytes
            store.store(_item(2)),
            store.store(_item(2)),  # sent twice within one batch
            store.store(_item(3, b'{"x": 1}')),
            store.store(_item(3, b'{"x": 2}')),
        )
        assert list(results) == [
            "duplicate",
            "conflict",
            "stored",
            "duplicate",
            "stored",
            "conflict",
        ]
    finally:
        await store.stop()
        await db.dispose()


async def test_a_stale_blocklist_is_reloaded_once_for_all_waiting_requests(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    blocklist = Blocklist(db)
    queries: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: queries.append(statement),
    )
    try:
        answers = await asyncio.gather(
            *(blocklist.is_blocked(f"https://peer{n}.example/a") for n in range(50))
        )
        assert answers == [False] * 50
        assert len([q for q in queries if "blocked_domains" in q]) == 1
    finally:
        await db.dispose()


async def test_the_processor_waits_while_activities_wait_to_be_stored_but_not_forever(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    store = InboxStore(db)
    loop = asyncio.get_running_loop()
    try:
        began = loop.time()
        await store.quiet(patience=1)
        assert loop.time() - began < 0.1  # nothing waiting: no wait

        # A stand-in for a writer that is busy: whatever is handed to it keeps waiting.
        busy = asyncio.create_task(asyncio.sleep(10))
        store._task = busy
        pending = asyncio.create_task(store.store(_item(1)))
        await asyncio.sleep(0.01)
        began = loop.time()
        await store.quiet(patience=0.3)
        assert 0.25 < loop.time() - began < 0.5  # gave up waiting at patience

        busy.cancel()
        store._task = None
        store.start()
        waiter = asyncio.create_task(store.quiet(patience=5))
        assert await pending == "stored"
        await asyncio.wait_for(waiter, 1)  # let go as soon as the writer had answered
    finally:
        await store.stop()
        await db.dispose()
