"""Durable, fast storage of verified inbound activities (group commit).

An inbox answers 202 only once the activity is committed to disk. Committing each
activity on its own costs one fsync each and caps an instance at a few hundred
activities a second on SQLite. Instead every request hands its row to one writer task,
which inserts whatever has gathered in a single transaction and then wakes all their
requests: the same durability, one fsync per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import database_unavailable
from instance.store.db import Database
from instance.store.models import InboxItem, utcnow

__all__ = ["InboxStore", "NewInboxItem", "StoreResult"]

log = logging.getLogger("oce.inbox")

StoreResult = Literal["stored", "duplicate", "conflict"]


@dataclass(frozen=True, slots=True)
class NewInboxItem:
    activity_uri: str
    body: bytes
    body_sha256: str
    headers: str
    signer_key_id: str
    signer: str
    verified_by: str
    recipient_agent_id: int | None


class InboxStore:
    """Stores inbox items in batches; :meth:`store` returns once the row is durable."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[NewInboxItem, asyncio.Future[StoreResult]]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        #: Set after each batch that stored something, to wake the inbox processor.
        self.stored = asyncio.Event()
        #: Called after each batch that stored something (on PostgreSQL: the NOTIFY that
        #: wakes the processors of other processes).
        self.on_stored: Callable[[], None] | None = None
        #: Activities handed to the writer and not yet answered; set when none are.
        self._waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="oce-inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def quiet(self, *, patience: float = 0.5) -> None:
        """Wait until no activity is waiting to be stored, but at most ``patience``.

        The inbox processor calls this before each write it makes. On SQLite the
        process's writers take turns, and a processor transaction that runs while the
        event loop is busy with incoming requests holds the turn for tens of
        milliseconds, which every request waiting to be stored then waits for too.
        Answering peers comes first: during a burst the stored activities are
        processed in its gaps, and at least one every ``patience`` seconds. A trickle
        of activities leaves the writer idle most of the time and is not slowed.
        """
        if self._waiting == 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await self._idle.wait()

    async def store(self, item: NewInboxItem) -> StoreResult:
        """``stored`` (new), ``duplicate`` (same id, same bytes: a replay) or ``conflict``
        (same id, other bytes)."""
        if self._task is None:
            async with self.db.write() as session:
                return (await _insert_batch(session, [item]))[0]
        future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
        self._waiting += 1
        self._idle.clear()
        try:
            await self._queue.put((item, future))
            return await future
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._idle.set()

    async def _run(self) -> None:
        sync_engine = self.db.threaded_sqlite_engine()
        # On SQLite the whole batch (insert, look-up of replays, commit) runs in one
        # thread of its own: a single hand-off, where the async driver needs a round
        # trip through the event loop per call, and the loop is busiest just then.
        executor = ThreadPoolExecutor(1, "oce-inbox-writer") if sync_engine else None
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                items = [item for item, _ in batch]
                try:
                    if sync_engine is not None:
                        async with self.db.write_turn():
                            results = await asyncio.get_running_loop().run_in_executor(
                                executor, _insert_batch_blocking, sync_engine, items
                            )
                    else:
                        async with self.db.write() as session:
                            results = await _insert_batch(session, items)
                except Exception as exc:
                    if database_unavailable(exc):
                        first = (str(exc).splitlines() or [type(exc).__name__])[0]
                        log.warning("storing %d inbox items failed: %s", len(batch), first)
                    else:
                        log.exception("storing %d inbox items failed", len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                if "stored" in results:
                    self.stored.set()
                    if self.on_stored is not None:
                        self.on_stored()
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            if sync_engine is not None:
                sync_engine.dispose()


def _insert_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (activity_uri) DO NOTHING RETURNING activity_uri``.

    One statement for any batch size, executed with a list of rows: SQLAlchemy compiles
    it once (cached) and sends the rows in as few multi-row INSERTs as the driver
    allows, instead of compiling a new many-VALUES statement for every batch.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Any = InboxItem.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["activity_uri"])
        .returning(table.c.activity_uri)
    )


_INSERTS = {dialect: _insert_statement(dialect) for dialect in ("postgresql", "sqlite")}


def _rows(items: list[NewInboxItem]) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "activity_uri": item.activity_uri,
            "body": item.body,
            "body_sha256": item.body_sha256,
            "headers": item.headers,
            "signer_key_id": item.signer_key_id,
            "signer": item.signer,
            "verified_by": item.verified_by,
            "recipient_agent_id": item.recipient_agent_id,
            "received_at": now,
            "next_attempt_at": now,
            "state": "pending",
            "attempts": 0,
        }
        for item in items
    ]


def _existing_statement(uris: list[str]) -> Any:
    return select(InboxItem.activity_uri, InboxItem.body_sha256).where(
        InboxItem.activity_uri.in_(uris)
    )


def _results(
    items: list[NewInboxItem], inserted: set[str], existing: dict[str, str]
) -> list[StoreResult]:
    """What each item turned out to be, given the ids this batch inserted and the
    digests of the ids that were there before."""
    results: list[StoreResult] = []
    seen: dict[str, str] = {}
    for item in items:
        uri = item.activity_uri
        if uri in inserted and uri not in seen:
            results.append("stored")
        else:
            stored_digest = seen.get(uri, existing.get(uri))
            results.append("duplicate" if stored_digest == item.body_sha256 else "conflict")
        seen.setdefault(uri, item.body_sha256)
    return results


async def _insert_batch(session: AsyncSession, items: list[NewInboxItem]) -> list[StoreResult]:
    statement = _INSERTS[session.get_bind().dialect.name]
    inserted = set((await session.scalars(statement, _rows(items))).all())
    missing = [item.activity_uri for item in items if item.activity_uri not in inserted]
    existing: dict[str, str] = {}
    if missing:
        found = await session.execute(_existing_statement(missing))
        existing = {uri: digest for uri, digest in found}
    return _results(items, inserted, existing)


def _insert_batch_blocking(engine: Engine, items: list[NewInboxItem]) -> list[StoreResult]:
    """:func:`_insert_batch` in one blocking transaction (a SQLite file, in a thread)."""
    with engine.connect() as connection:
        connection = Database.writing(connection)
        with connection.begin():
            inserted = set(connection.scalars(_INSERTS["sqlite"], _rows(items)).all())
            missing = [item.activity_uri for item in items if item.activity_uri not in inserted]
            existing: dict[str, str] = {}
            if missing:
                found = connection.execute(_existing_statement(missing))
                existing = {uri: digest for uri, digest in found}
    return _results(items, inserted, existing)
