"""Running oce in-process for tests: the real app and lifespan, no sockets.

Several instances can talk to each other through :class:`Network`, an httpx transport
that hands each request to the app of the origin it is addressed to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from instance.app import create_app
from instance.services import Services
from instance.settings import Settings
from instance.workers import Workers


class _WithState:
    """Gives each request the lifespan state, as uvicorn does."""

    def __init__(self, app: ASGIApp, state: Mapping[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "state": dict(self.state)}
        await self.app(scope, receive, send)


class Network(httpx.AsyncBaseTransport):
    """Routes requests to in-process apps by origin; unknown origins fail to connect."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def add(self, base_url: str, app: ASGIApp) -> None:
        self.apps[base_url] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        transport = self.apps.get(origin)
        if transport is None:
            raise httpx.ConnectError(f"no route to {origin}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class Running:
    """An instance running in-process: its services and a client for its HTTP API.

    Its workers do not run in the background: :meth:`settle` runs them step by step,
    so tests decide when inbox processing and deliveries happen.
    """

    settings: Settings
    services: Services
    app: ASGIApp
    client: httpx.AsyncClient
    workers: Workers

    async def settle(self, *others: Running, rounds: int = 50) -> None:
        """Run this instance's (and ``others``') workers until none has work left."""
        for _ in range(rounds):
            done = 0
            for instance in (self, *others):
                done += await instance.workers.run_once()
            if done == 0:
                return
        raise AssertionError(f"workers still busy after {rounds} rounds")


def make_settings(database_url: str, base_url: str = "https://a.test", **extra: Any) -> Settings:
    """Settings of an in-process instance. Nested database sessions are refused (on
    by default, and said here so tests keep checking it if that default ever changes)."""
    extra.setdefault("strict_sessions", True)
    return Settings(base_url=base_url, database_url=database_url, run_workers=False, **extra)


@asynccontextmanager
async def running(settings: Settings, *, network: Network | None = None) -> AsyncIterator[Running]:
    """Start an instance's lifespan; yields it with a client bound to its base URL."""
    app = create_app(settings, transport=network)
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        wrapped = _WithState(app, state)
        if network is not None:
            network.add(settings.base_url, wrapped)
        transport = httpx.ASGITransport(app=wrapped)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
            yield Running(settings, state["services"], wrapped, client, state["workers"])
