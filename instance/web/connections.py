"""HTTP connections with deadlines: a client must send its request in bounded time.

uvicorn closes an idle keep-alive connection after a few seconds, but it never times a
request being received: a client that sends its headers a byte a second (slowloris),
or announces a body and trickles it, holds its connection and its task for as long as
it likes, and hundreds of them cost the server their memory and file descriptors for
good. Nor does it bound the size of the headers with its default parser (httptools).

:class:`GuardedProtocol` is uvicorn's httptools protocol with three limits, read from
the settings (``OCE_HEADER_TIMEOUT``, ``OCE_BODY_TIMEOUT``, ``OCE_MAX_HEADER_BYTES``):

* the request line and headers must arrive within ``header_timeout`` seconds of the
  connection opening, or of the first byte of a next request on a kept-alive one;
* the whole body within ``body_timeout`` seconds of the end of the headers;
* the request line and headers together within ``max_header_bytes``.

When the server stops, a response still streaming is cut (see :meth:`GuardedProtocol.shutdown`).

A request that misses a deadline is answered ``408`` (``431`` when its headers are too
large), unless its response has already begun, and its connection closed. The
application sees the client disconnect, as if it had gone away.

``oce serve`` selects it by name (``instance.web.connections:GuardedProtocol``), so each
web process imports it and reads its limits from the environment ``oce serve`` set.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from instance.settings import Settings, load_settings

__all__ = ["PROTOCOL", "GuardedProtocol"]

log = logging.getLogger("oce.http")

#: What ``oce serve`` passes to uvicorn as its ``http`` protocol.
PROTOCOL = "instance.web.connections:GuardedProtocol"

_ANSWERS = {
    408: b"HTTP/1.1 408 Request Timeout\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
}


@cache
def _settings() -> Settings:
    # Read once per web process, from the environment `oce serve` set for it.
    return load_settings()


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for headers and for the body and
    a cap on the size of the headers."""

    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = settings or _settings()
        self.header_timeout = limits.header_timeout
        self.body_timeout = limits.body_timeout
        self.max_header_bytes = limits.max_header_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._too_large = False

    # The clock -------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        log.debug("closing a connection from %s: its request came too slowly", self.client)
        self._refuse(408)

    def _refuse(self, status: int) -> None:
        """Answer ``status`` unless a response is under way, and close the connection."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or not cycle.response_started or cycle.response_complete:
            self.transport.write(
                _ANSWERS[status] + b"content-length: 0\r\nconnection: close\r\n\r\n"
            )
        if cycle is not None and not cycle.response_complete:
            # The application sees the client gone (and answers nothing on top of this).
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    # uvicorn's protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """The server is stopping. uvicorn lets a response in progress finish first, but
        a stream (live notifications, minutes long) would keep the server up that long:
        a response already streaming is cut, its application told the client left."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.close()
            return
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        try:
            super().data_received(data)
        finally:
            if self._too_large:
                self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        if self._deadline is None:
            # A next request on a kept-alive connection: its own header deadline.
            self._arm(self.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._too_large = True
            # Stops the parser; uvicorn would answer 400, data_received answers 431.
            raise httptools.HttpParserError("request headers too large")

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            return  # data_received answers 431 instead.
        super().send_400_response(msg)
