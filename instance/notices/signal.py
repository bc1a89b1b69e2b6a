"""The in-process signal behind live notifications.

Each open stream (one per signed-in browser session) holds a :class:`Listener`. When a
transaction that recorded notifications commits, the processor calls
:meth:`Notifier.signal` with the agents concerned, which wakes their listeners at once.
Another process's notifications do not reach this signal: the streams also look again
after a slow poll interval, so several web processes still agree within that interval.

Bounds: one stream per session (a new one ends the old), at most
:attr:`Notifier.max_streams` in this process (a burst of clients cannot take the whole
instance), each ended after :attr:`Notifier.lifetime` (the browser reconnects).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

__all__ = ["Listener", "Notifier", "TooManyStreams"]


class TooManyStreams(Exception):
    """This process already serves as many live streams as it may."""


class Listener:
    """One live stream's end of the signal."""

    __slots__ = ("_woken", "agent_id", "ended", "sent", "session_id")

    def __init__(self, agent_id: int, session_id: int) -> None:
        self.agent_id = agent_id
        self.session_id = session_id
        self._woken = asyncio.Event()
        #: Set when a newer stream of the same session replaced this one.
        self.ended = False
        #: The last count the stream sent (None before the first).
        self.sent: int | None = None

    async def wait(self, seconds: float) -> bool:
        """Wait for news (True) or ``seconds`` (False); clears the news."""
        try:
            async with asyncio.timeout(seconds):
                await self._woken.wait()
        except TimeoutError:
            return False
        finally:
            self._woken.clear()
        return True

    def wake(self) -> None:
        self._woken.set()


class Notifier:
    """The live streams of this process, by session and by agent."""

    def __init__(
        self,
        *,
        max_streams: int = 200,
        lifetime: float = 300.0,
        heartbeat: float = 15.0,
        poll: float = 30.0,
    ) -> None:
        #: Streams this process serves at once; the next is refused (503).
        self.max_streams = max_streams
        #: Seconds a stream lasts before it is ended (the browser opens a new one).
        self.lifetime = lifetime
        #: Seconds between comments that keep idle connections (and proxies) open.
        self.heartbeat = heartbeat
        #: Seconds between looks at the database without a signal (other processes).
        self.poll = poll
        self._by_session: dict[int, Listener] = {}
        self._by_agent: dict[int, set[Listener]] = {}

    @property
    def streams(self) -> int:
        return len(self._by_session)

    def open(self, agent_id: int, session_id: int) -> Listener:
        """A listener for a new stream of ``session_id``; ends the session's old one."""
        old = self._by_session.get(session_id)
        if old is not None:
            self.close(old)
            old.ended = True
            old.wake()
        elif len(self._by_session) >= self.max_streams:
            raise TooManyStreams
        listener = Listener(agent_id, session_id)
        self._by_session[session_id] = listener
        self._by_agent.setdefault(agent_id, set()).add(listener)
        return listener

    def listeners_of(self, agent_id: int) -> list[Listener]:
        return list(self._by_agent.get(agent_id, ()))

    def close(self, listener: Listener) -> None:
        if self._by_session.get(listener.session_id) is listener:
            del self._by_session[listener.session_id]
        listeners = self._by_agent.get(listener.agent_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._by_agent[listener.agent_id]

    def signal(self, agent_ids: Iterable[int]) -> None:
        """Wake the streams of ``agent_ids`` (after the news was committed)."""
        for agent_id in agent_ids:
            for listener in self._by_agent.get(agent_id, ()):
                listener.wake()
