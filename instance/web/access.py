"""One access-log line per HTTP request, as a pure ASGI middleware.

``GET /users/alice 200 1.9ms 127.0.0.1`` on the ``oce.access`` logger, written when the
response has started (the status is known) or when the request fails without one
(``500``). Off with ``OCE_ACCESS_LOG=false``; ``python -m bench.inbox_ingest`` measures
the request path with it (docs/performance.md).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog"]

log = logging.getLogger("oce.access")


class AccessLog:
    """Logs method, path, status, duration and client address of each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            client = scope.get("client")
            address = client[0] if client else "-"
            elapsed = (time.perf_counter() - started) * 1000
            # The path only: a query string may carry a code or a token.
            log.info("%s %s %d %.1fms %s", scope["method"], scope["path"], status, elapsed, address)
