"""Claiming due rows from a work table, shared by every process.

A row is due when it is ``pending``, its ``next_attempt_at`` has come and no live lease
holds it. Claiming sets a lease and counts the attempt, in one transaction; a worker
that dies lets its lease lapse and the row becomes due again. On PostgreSQL the rows are
locked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers never claim the same row
and never wait for each other; SQLite's immediate write transactions serialize claims.

While the work runs, :class:`Renewing` keeps the leases alive; when the work is
cancelled (the worker was asked to stop) it hands the unfinished rows back at once, so
another process takes them up without waiting for the lease to run out. A lease can
still be lost (the database was unreachable for longer than a lease), so the code that
finishes a row changes it only while it is still ``pending``: of two workers holding
the same row, one finishes it and the other's result is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from instance.store.db import Database
from instance.store.models import Delivery, InboxItem, utcnow

__all__ = ["Renewing", "claim"]

log = logging.getLogger("oce.queue")

Row = TypeVar("Row", InboxItem, Delivery)

#: When rows handed back after their work failed as a whole are due again.
RETRY_AFTER_FAILURE = timedelta(seconds=2)


#: Rows this process held when its work failed and could not hand back, by database
#: and table.
_UNRETURNED: dict[tuple[Database, Any], set[int]] = {}


async def _hand_back(db: Database, table: Any, ids: list[int], *, count_attempt: bool) -> None:
    values: dict[str, Any] = {"lease_until": None}
    if count_attempt:
        # A failed attempt: due again shortly, not at once (a fault that persists must
        # not turn into a busy loop).
        values["next_attempt_at"] = utcnow() + RETRY_AFTER_FAILURE
    else:
        values["attempts"] = table.attempts - 1
    async with db.write() as session:
        await session.execute(
            update(table).where(table.id.in_(ids), table.state == "pending").values(**values)
        )


async def claim(
    db: Database,
    table: type[Row],
    *,
    limit: int,
    lease: timedelta,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Row]:
    """Lease up to ``limit`` due rows of ``table`` (oldest due first) and return them."""
    if unreturned := _UNRETURNED.pop((db, table), None):
        try:
            await _hand_back(db, table, sorted(unreturned), count_attempt=True)
        except Exception:
            _UNRETURNED.setdefault((db, table), set()).update(unreturned)
            raise
    now = utcnow()
    column: Any = table
    due = (
        select(column.id)
        .where(
            column.state == "pending",
            column.next_attempt_at <= now,
            or_(column.lease_until.is_(None), column.lease_until < now),
            *where,
        )
        .order_by(column.next_attempt_at, column.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    async with db.write() as session:
        ids = list((await session.scalars(due)).all())
        if not ids:
            return []
        await session.execute(
            update(column)
            .where(column.id.in_(ids))
            .values(lease_until=now + lease, attempts=column.attempts + 1)
        )
        rows = (
            await session.scalars(select(column).where(column.id.in_(ids)).order_by(column.id))
        ).all()
    return list(rows)


class Renewing:
    """Keeps the leases of rows still being worked on alive while the work runs.

    A lease is short (so a crashed worker's rows come back quickly) and the work may be
    long (many deliveries to one slow host): every third of the lease, the rows not yet
    finished get a fresh lease.
    """

    def __init__(self, db: Database, table: type[Row], ids: set[int], lease: timedelta) -> None:
        self.db = db
        self.table: Any = table
        self.ids = ids
        self.lease = lease
        self._task: asyncio.Task[None] | None = None

    def finished(self, row_id: int) -> None:
        self.ids.discard(row_id)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            if not self.ids:
                continue
            # A row locked at this moment is being finished (or handed back): skip it
            # rather than wait, so renewal never deadlocks with the work it keeps alive.
            held = (
                select(self.table.id)
                .where(self.table.id.in_(list(self.ids)), self.table.state == "pending")
                .with_for_update(skip_locked=True)
            )
            try:
                async with self.db.write() as session:
                    await session.execute(
                        update(self.table)
                        .where(self.table.id.in_(held.scalar_subquery()))
                        .values(lease_until=utcnow() + self.lease)
                    )
            except Exception:
                # The next round tries again; should the lease lapse meanwhile, another
                # worker may take a row, and finishing only pending rows keeps it single.
                log.exception("renewing the leases of %d rows failed", len(self.ids))

    async def release(self, *, count_attempt: bool = False) -> None:
        """Hand the unfinished rows back: due again at once, this attempt not counted
        (unless ``count_attempt``)."""
        if not self.ids:
            return
        ids, self.ids = list(self.ids), set()
        await _hand_back(self.db, self.table, ids, count_attempt=count_attempt)
        log.info("handed back %d unfinished %s rows", len(ids), self.table.__tablename__)

    async def __aenter__(self) -> Renewing:
        self._task = asyncio.create_task(self._renew(), name="oce-lease-renewal")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            # Stopping (SIGTERM, server shutdown): do not make others wait a lease out.
            try:
                await self.release()
            except Exception:
                log.exception("could not hand rows back; their leases will run out")
        elif exc_type is not None and self.ids:
            # The work failed as a whole (the database went away under it, typically):
            # hand the rows back, this attempt counted, so they are taken up as soon as
            # the database answers, not a lease later. When even that cannot be
            # written, the next claim of this process does it first.
            ids = set(self.ids)
            try:
                await self.release(count_attempt=True)
            except Exception:
                _UNRETURNED.setdefault((self.db, self.table), set()).update(ids)
