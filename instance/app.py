"""The application factory and its lifespan.

The lifespan owns every shared resource (database, pooled HTTP client, workers): they
are created when the server starts, handed to routes through the lifespan state, and
closed when it stops. Nothing happens at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from instance import __version__
from instance.agents import instance_key
from instance.db import Database
from instance.migrate import upgrade
from instance.problems import exception_handlers
from instance.routes import routes
from instance.services import Services
from instance.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("oce")


async def start_services(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Services:
    """Open the database (migrating it), the HTTP client and the instance key."""
    db = Database.from_url(settings.database_url)
    await upgrade(db.engine)
    try:
        async with db.write() as session:
            await instance_key(session)
    except IntegrityError:
        pass  # another process starting at the same moment created it first
    http = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(10.0),
        headers={"User-Agent": f"oce/{__version__} (+{settings.base_url})"},
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,
    )
    return Services(settings=settings, db=db, http=http)


async def stop_services(svc: Services) -> None:
    await svc.http.aclose()
    await svc.db.dispose()


def create_app(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The oce ASGI application for ``settings``.

    ``transport`` replaces the network for outgoing federation requests (in-process
    tests mount other instances' apps there).
    """

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Services]]:
        svc = await start_services(settings, transport=transport)
        try:
            yield {"services": svc}
        finally:
            await stop_services(svc)

    static = StaticFiles(packages=[("instance", "static")])
    return Starlette(
        routes=[*routes(), Mount("/static", app=static, name="static")],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
