"""Turns per client: one busy client cannot crowd out the others.

A process answers requests on one event loop, so forty requests at once from one
client (a script with a leaked token, a peer flooding its signed activities) share the
loop forty ways with everyone else's one, and every other request waits behind them.
:class:`ClientTurns` lets each client have at most ``limit`` requests in progress; its
further requests wait, in order, for one of them to finish (at most ``wait`` seconds,
then ``503`` with ``Retry-After``). A waiting request costs nothing but its place in
the line, so everyone else is answered as if the burst were ``limit`` requests wide.

A client is what its request is authenticated by: its bearer token (by digest), or the
server its HTTP signature's key is on (every actor of one peer server shares that
server's line, so a server cannot widen its share by signing with many keys, real or
made up). Both are read before they are checked: a request with a made-up token waits
in a line of its own, and one that names another server's key waits in that server's. Requests with
neither (browsers, anonymous reads) are not counted here: an address can be shared by
many people, and limiting by address is the reverse proxy's work (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ClientTurns", "client_of"]

#: A signature's key id, as far as its host: ``keyId="https://host/…"``.
_KEY_ID = re.compile(rb'keyid="(https?://[^"/]{1,255})', re.IGNORECASE)


def client_of(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """Who a request says it comes from: ``token:<digest>``, ``server:<key's host>``, or
    None."""
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return b"token:" + hashlib.sha256(value[7:].strip()).digest()
        if name in (b"signature", b"signature-input") and (found := _KEY_ID.search(value)):
            return b"server:" + found.group(1).split(b"/", 3)[2].lower()
    return None


class _Line:
    __slots__ = ("turns", "users")

    def __init__(self, limit: int) -> None:
        self.turns = asyncio.Semaphore(limit)
        self.users = 0


class ClientTurns:
    """At most ``limit`` requests of one client in progress; the rest wait their turn."""

    def __init__(self, app: ASGIApp, limit: int, *, wait: float = 10.0) -> None:
        self.app = app
        self.limit = limit
        self.wait = wait
        self._lines: dict[bytes, _Line] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = client_of(scope["headers"]) if scope["type"] == "http" else None
        if client is None:
            await self.app(scope, receive, send)
            return
        line = self._lines.get(client)
        if line is None:
            line = self._lines[client] = _Line(self.limit)
        line.users += 1
        try:
            try:
                async with asyncio.timeout(self.wait):
                    await line.turns.acquire()
            except TimeoutError:
                await _busy(send, self.limit, self.wait)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                line.turns.release()
        finally:
            line.users -= 1
            if line.users == 0:
                del self._lines[client]


async def _busy(send: Send, limit: int, wait: float) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Service unavailable",
            "status": 503,
            "detail": f"this client has {limit} requests in progress and more waited "
            f"{wait:g} s for a turn; send fewer at once",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
