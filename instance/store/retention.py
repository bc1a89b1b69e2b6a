"""What the queues keep, and for how long: the worker's pruning step.

* A processed inbox item (``done`` or ``failed``) is kept ``inbox_days`` (the setting
  ``inbox_retention_days``, 30 by default), then deleted, unless it backs a ledger
  record: an activity that carried an economic event, a commitment, an agreement
  (or the offer of one) or a resource specification recorded here keeps its bytes,
  because they are what proves the record (integrity proofs are checked over them,
  ``oce proof verify``). Such an item is marked ``kept`` so it is looked at once, not at every pass.
* A finished delivery (``done`` or ``failed``) is kept ``delivery_days``
  (``delivery_retention_days``, 7 by default); the activity it sent stays in the outbox.

A replay of a pruned activity is not a duplicate any more, but its signature's date
is long past the window a signature is accepted in, so it is refused before storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from instance.store.db import Database
from instance.store.models import (
    Agreement,
    Commitment,
    Delivery,
    EconomicEvent,
    InboxItem,
    ResourceSpecification,
    utcnow,
)

__all__ = ["Pruned", "prune"]

#: Rows looked at per transaction (a short write turn each).
BATCH = 500


@dataclass(frozen=True)
class Pruned:
    inbox_deleted: int = 0
    inbox_kept: int = 0
    deliveries_deleted: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            self.inbox_deleted + other.inbox_deleted,
            self.inbox_kept + other.inbox_kept,
            self.deliveries_deleted + other.deliveries_deleted,
        )

    @property
    def total(self) -> int:
        return self.inbox_deleted + self.inbox_kept + self.deliveries_deleted


def _ids(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        if isinstance(value.get("id"), str):
            yield value["id"]
        for key in ("stipulates", "stipulatesReciprocal"):
            yield from _ids(value.get(key))


def carried_ids(uri: str, body: bytes) -> set[str]:
    """The ids an activity names at its top: itself, its object and its result."""
    found = {uri}
    try:
        document = json.loads(body)
    except ValueError:
        return found
    if isinstance(document, dict):
        for key in ("object", "result"):
            found.update(_ids(document.get(key)))
    return found


async def _ledger_ids(db: Database, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    wanted = sorted(ids)
    found: set[str] = set()
    async with db.read() as session:
        for column in (
            EconomicEvent.uri,
            Commitment.uri,
            Agreement.uri,
            Agreement.offer_uri,
            ResourceSpecification.uri,
        ):
            for start in range(0, len(wanted), BATCH):
                chunk = wanted[start : start + BATCH]
                found.update(
                    uri
                    for uri in (await session.scalars(select(column).where(column.in_(chunk))))
                    if uri is not None
                )
    return found


async def _prune_inbox(db: Database, cutoff: datetime) -> Pruned:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(InboxItem.id, InboxItem.activity_uri, InboxItem.body)
                .where(InboxItem.state.in_(("done", "failed")), InboxItem.processed_at < cutoff)
                .order_by(InboxItem.id)
                .limit(BATCH)
            )
        ).all()
    if not rows:
        return Pruned()
    carried = {row_id: carried_ids(uri, body) for row_id, uri, body in rows}
    backed = await _ledger_ids(db, set().union(*carried.values()))
    kept = [row_id for row_id, ids in carried.items() if ids & backed]
    gone = [row_id for row_id in carried if row_id not in set(kept)]
    async with db.write() as session:
        if kept:
            await session.execute(
                update(InboxItem).where(InboxItem.id.in_(kept)).values(state="kept")
            )
        if gone:
            # Only rows still finished: a row being reprocessed is left alone.
            await session.execute(
                delete(InboxItem).where(
                    InboxItem.id.in_(gone), InboxItem.state.in_(("done", "failed"))
                )
            )
    return Pruned(inbox_deleted=len(gone), inbox_kept=len(kept))


async def _prune_deliveries(db: Database, cutoff: datetime) -> Pruned:
    async with db.write() as session:
        ids = (
            await session.scalars(
                select(Delivery.id)
                .where(
                    Delivery.state.in_(("done", "failed")),
                    or_(Delivery.done_at < cutoff, Delivery.done_at.is_(None)),
                    Delivery.created_at < cutoff,
                )
                .limit(BATCH)
            )
        ).all()
        if ids:
            await session.execute(delete(Delivery).where(Delivery.id.in_(ids)))
    return Pruned(deliveries_deleted=len(ids))


async def prune(
    db: Database, *, inbox_days: int, delivery_days: int, now: datetime | None = None
) -> Pruned:
    """One pass of pruning, a batch at a time until nothing is left to prune."""
    now = now or utcnow()
    inbox_cutoff = now - timedelta(days=inbox_days)
    delivery_cutoff = now - timedelta(days=delivery_days)
    total = Pruned()
    while True:
        step = await _prune_inbox(db, inbox_cutoff) + await _prune_deliveries(db, delivery_cutoff)
        total += step
        if step.total == 0:
            return total
