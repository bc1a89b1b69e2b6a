"""Background work: processing inbound activities, making deliveries, pruning.

Both loops run inside ``oce serve`` by default (woken at once when this process queued
work) and in separate ``oce worker`` processes. On PostgreSQL, work queued by any
process wakes them through ``LISTEN/NOTIFY`` (:mod:`instance.store.notify`), and they
poll every 5 s for retries that came due; on SQLite they poll every 0.5 s for work
queued by another process. Work is shared through the database only: rows are
claimed with a lease (:mod:`instance.store.queue`), and stopping a process (:meth:`stop`, on
SIGTERM) hands back what it had claimed and not finished. Every ``PRUNE_SECONDS``
each process also removes what the queues no longer need (:mod:`instance.store.retention`);
the deletes are idempotent, so several processes doing it at once is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from instance.inbox.processing import process_due
from instance.outbox.delivery import DeliveryWorker
from instance.problems import database_unavailable
from instance.services import Services
from instance.store.retention import Pruned, prune

__all__ = ["Workers"]

log = logging.getLogger("oce.workers")

#: How often an idle worker looks for work queued by other processes, by default
#: (``worker_poll_ms``; on PostgreSQL queued work wakes it at once: instance.store.notify).
POLL_SECONDS = 0.5
#: Senders whose inbox items one process handles at once (see ``process_due``).
INBOX_LANES = 4
#: Senders whose items are processed at once with their transactions grouped (one
#: commit for many items; see ``process_due``), and items claimed at a time.
INBOX_BATCH = 32
INBOX_CLAIM = 128
#: How often processed inbox bodies and finished deliveries past retention are removed.
PRUNE_SECONDS = 3600.0
#: The first pass waits this long after start, out of the way of start-up work.
PRUNE_FIRST_SECONDS = 60.0


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_unavailable(inner) for inner in exc.exceptions)
    return database_unavailable(exc)


def _first_line(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


async def _loop(
    name: str, step: Callable[[], Awaitable[int]], wake: asyncio.Event, poll: Callable[[], float]
) -> None:
    while True:
        wake.clear()
        try:
            done = await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _unavailable(exc):
                log.warning("%s waits: the database is unavailable (%s)", name, _first_line(exc))
            else:
                log.exception("%s step failed; retrying in a second", name)
            await asyncio.sleep(1)
            continue
        if done == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll())


class Workers:
    """The inbox processor and the delivery worker of one process."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.delivery = DeliveryWorker(svc)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                _loop(
                    "inbox",
                    lambda: process_due(
                        self.svc,
                        limit=INBOX_CLAIM,
                        lanes=INBOX_LANES,
                        batch=INBOX_BATCH,
                        pause=self.svc.inbox_store.quiet,
                    ),
                    self.svc.inbox_due,
                    lambda: self.svc.poll_seconds,
                ),
                name="oce-inbox-processor",
            ),
            asyncio.create_task(
                self.delivery.run(self.svc.deliveries_due, lambda: self.svc.poll_seconds),
                name="oce-delivery",
            ),
            asyncio.create_task(self._prune_loop(), name="oce-prune"),
        ]

    async def prune_once(self, now: datetime | None = None) -> Pruned:
        """Remove what is past its retention (``now``: for tests, a later time)."""
        settings = self.svc.settings
        pruned = await prune(
            self.svc.db,
            inbox_days=settings.inbox_retention_days,
            delivery_days=settings.delivery_retention_days,
            now=now,
        )
        if pruned.total:
            log.info(
                "pruned %d inbox bodies (kept %d that back ledger records), %d deliveries",
                pruned.inbox_deleted,
                pruned.inbox_kept,
                pruned.deliveries_deleted,
            )
        return pruned

    async def _prune_loop(self) -> None:
        await asyncio.sleep(PRUNE_FIRST_SECONDS)
        while True:
            try:
                await self.prune_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pruning failed; trying again at the next pass")
            await asyncio.sleep(PRUNE_SECONDS)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def run_once(self) -> int:
        """One step of each worker (for tests): how many items and deliveries were handled."""
        processed = await process_due(self.svc, limit=INBOX_CLAIM, batch=INBOX_BATCH)
        return processed + await self.delivery.run_once()
