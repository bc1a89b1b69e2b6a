"""Waking the workers of every process when work is queued (PostgreSQL ``LISTEN/NOTIFY``).

A process that commits work (a delivery to send, an inbox item to process) wakes its
own workers at once (:meth:`instance.services.Services.wake`). Workers in other
processes (``oce worker`` beside ``oce serve --workers N``) share the work through the
database; without a signal they would find it only at their next poll. On PostgreSQL
each process holds one connection of its own (asyncpg, outside the pool) that
``LISTEN``s on :data:`CHANNEL`, and :meth:`Notifier.notify` sends a ``NOTIFY`` on it
after the commit: every listening process sets its workers' events within a round
trip. Notifications carry no data (the rows are the truth; a notification only says
"look now"), and a burst of commits sends at most one at a time, with one more if work
came while it was on its way.

The workers still poll, less often (``POLL_WITH_NOTIFY`` seconds), for what no commit
announces: retries whose time has come, leases that lapsed. When the connection is
lost they poll at the usual rate until it is back. SQLite has no such thing, and needs
none: its processes share one machine and one file, and each wakes its own workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.engine import URL

__all__ = ["CHANNEL", "POLL_WITH_NOTIFY", "Notifier"]

log = logging.getLogger("oce.notify")

CHANNEL = "oce_work"
#: How often a worker whose process listens still looks for due work.
POLL_WITH_NOTIFY = 5.0
#: Seconds between attempts to connect the listener again.
RECONNECT_SECONDS = 2.0


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Notifier:
    """One process's listening connection; ``on_notified`` is called for each
    notification (from any process, this one included)."""

    def __init__(self, url: URL, on_notified: Callable[[], None]) -> None:
        self.url = url
        self.on_notified = on_notified
        self._connection: object | None = None
        self._task: asyncio.Task[None] | None = None
        self._sending = False
        self._again = False
        self._sender: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        #: Notifications received (for tests and benchmarks).
        self.received = 0

    @property
    def listening(self) -> bool:
        return self._connection is not None

    async def start(self) -> None:
        """Connect and listen (waits for the first attempt); keeps reconnecting after."""
        await self._connect()
        self._task = asyncio.create_task(self._keep(), name="oce-notify")

    async def _connect(self) -> None:
        import asyncpg

        try:
            connection = await asyncpg.connect(_dsn(self.url), timeout=10)
            await connection.add_listener(CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("cannot listen for queued work (polling meanwhile): %s", exc)
            return
        connection.add_termination_listener(lambda _connection: self._lost.set())
        self._lost.clear()
        self._connection = connection
        # Work queued while nobody listened: look once.
        self.on_notified()

    async def _keep(self) -> None:
        while True:
            if self._connection is not None:
                await self._lost.wait()
                self._connection = None
                log.warning("lost the connection listening for queued work; reconnecting")
            await asyncio.sleep(RECONNECT_SECONDS)
            await self._connect()

    def _notified(self, *_args: object) -> None:
        self.received += 1
        self.on_notified()

    def notify(self) -> None:
        """Tell every listening process that work was committed (does not wait)."""
        if self._connection is None:
            return
        if self._sending:
            self._again = True
            return
        self._sending = True
        self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while True:
                self._again = False
                connection = self._connection
                if connection is None:
                    return
                try:
                    await connection.execute(f"NOTIFY {CHANNEL}")  # type: ignore[attr-defined]
                except Exception as exc:  # the listener reconnects; workers still poll
                    log.warning("could not announce queued work: %s", exc)
                    return
                if not self._again:
                    return
        finally:
            self._sending = False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()  # type: ignore[attr-defined]
