"""Group commit for the write blocks of many tasks: one transaction, a savepoint each.

A write transaction costs little work but a durable commit (an ``fsync`` on SQLite
with ``synchronous=FULL``, a WAL flush on PostgreSQL) and a few round trips to begin
and end it. The inbox processor works on many independent items at once; inside
:meth:`WriteGroup.joined`, every :meth:`Database.write` block of those tasks becomes a
*savepoint* of one shared transaction instead of a transaction of its own:

* a block that raises rolls back its savepoint only: the other blocks keep their
  effects, and the block's task sees its exception as before;
* a block that succeeds returns only after the shared transaction has committed (or
  raises what the commit raised), so a task never acts on effects that could still be
  lost, and what it does next sees them committed;
* the group gathers blocks until every member task is waiting for it (or
  :data:`GATHER_SECONDS` after the first asked), then opens the transaction and runs
  the waiting blocks one after the other, so the write lock is held only while blocks
  run, never while a member normalizes a document or fetches an actor;
* at most :data:`MAX_BLOCKS` blocks share a transaction.

Only member tasks write through the group: a task a member starts (a shared NodeInfo
look, say) writes with a transaction of its own. Reads (:meth:`Database.read`) are
unchanged: they see what is committed. Members must
therefore not depend on each other's uncommitted effects: the processor puts the items
of one sender in one member, in order, and each item's writes are committed before its
next item starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.db import GROUP, Database

__all__ = ["GATHER_SECONDS", "MAX_BLOCKS", "WriteGroup"]

#: How long the first waiting block waits for the other members to join it.
GATHER_SECONDS = 0.02
#: Blocks in one transaction, at most.
MAX_BLOCKS = 200


@dataclass
class _Request:
    granted: asyncio.Future[tuple[AsyncSession, asyncio.Future[None]]]
    done: asyncio.Future[None]
    asked_at: float = field(default_factory=time.monotonic)


class WriteGroup:
    """The shared transactions of a group of member tasks (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: deque[_Request] = deque()
        self._poke = asyncio.Event()
        #: Members not waiting for the group (working on their own).
        self._busy = 0
        self._members: set[asyncio.Task[object]] = set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        #: Transactions committed and blocks they held (for the benchmark's report).
        self.transactions = 0
        self.blocks = 0

    async def __aenter__(self) -> WriteGroup:
        # The coordinator writes with plain transactions: it must not be a member.
        context = contextvars.copy_context()
        context.run(GROUP.set, None)
        self._task = asyncio.create_task(self._run(), name="oce-write-group", context=context)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._closing = True
        self._poke.set()
        assert self._task is not None
        if _exc[0] is not None:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    @asynccontextmanager
    async def joined(self) -> AsyncIterator[None]:
        """Run the current task as a member: its write blocks go to the group."""
        task = asyncio.current_task()
        assert task is not None
        token = GROUP.set(self)
        self._members.add(task)
        self._busy += 1
        try:
            yield
        finally:
            self._members.discard(task)
            self._busy -= 1
            self._poke.set()
            GROUP.reset(token)

    def member(self) -> bool:
        """Whether the current task is a member (tasks it starts are not: they write
        with transactions of their own)."""
        return asyncio.current_task() in self._members

    @asynccontextmanager
    async def block(self) -> AsyncIterator[AsyncSession]:
        """A savepoint in the group's next transaction; returns after its commit."""
        loop = asyncio.get_running_loop()
        request = _Request(loop.create_future(), loop.create_future())
        self._queue.append(request)
        self._busy -= 1
        self._poke.set()
        try:
            try:
                session, committed = await request.granted
            except BaseException:
                if not request.granted.done():
                    request.granted.cancel()
                request.done.cancel()
                raise
            try:
                async with session.begin_nested():
                    yield session
            finally:
                request.done.set_result(None)
            await asyncio.shield(committed)
        finally:
            self._busy += 1

    async def _gathered(self) -> None:
        """Wait until every member waits, or the first request has waited long enough."""
        while self._busy > 0:
            left = self._queue[0].asked_at + GATHER_SECONDS - time.monotonic()
            if left <= 0:
                return
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), left)

    def _next(self) -> _Request | None:
        while self._queue:
            request = self._queue.popleft()
            if not request.granted.cancelled():
                return request
        return None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing and not self._members:
                    return
                self._poke.clear()
                await self._poke.wait()
                continue
            await self._gathered()
            committed: asyncio.Future[None] = loop.create_future()
            ran = 0
            try:
                async with self.db.write() as session:
                    while ran < MAX_BLOCKS and (request := self._next()) is not None:
                        request.granted.set_result((session, committed))
                        ran += 1
                        with contextlib.suppress(asyncio.CancelledError):
                            await request.done
            except Exception as exc:
                if ran == 0:
                    # Could not even begin: those waiting learn why, not just later.
                    while (request := self._next()) is not None:
                        request.granted.set_exception(exc)
                committed.set_exception(exc)
                committed.exception()  # retrieved: members that wait on it re-raise it
            else:
                committed.set_result(None)
                self.transactions += 1
                self.blocks += ran
