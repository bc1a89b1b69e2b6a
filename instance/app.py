"""The application factory and its lifespan.

The lifespan owns every shared resource (database, pooled HTTP client, workers): they
are created when the server starts, handed to routes through the lifespan state, and
closed when it stops. Nothing happens at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

import instance.coop.activities
import instance.handlers
import instance.profiles
import instance.social
from federation import HttpSignatureAuth, SafeFetcher, guarded_transport, load_private_key
from instance import __version__
from instance.agents import instance_key
from instance.inbox.ratelimit import InboxLimits
from instance.inbox.route import SharedInbox
from instance.inbox.store import InboxStore
from instance.moderation import Blocklist
from instance.peers import Peers
from instance.problems import exception_handlers
from instance.services import Services
from instance.settings import Settings
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.notify import Notifier
from instance.urls import Urls
from instance.web.access import AccessLog
from instance.web.fairness import ClientTurns
from instance.web.headers import SecurityHeaders
from instance.web.routes import routes
from instance.web.urltext import RefuseNulInUrls
from instance.workers import Workers
from vocab import jsontext

__all__ = ["create_app"]

log = logging.getLogger("oce")

#: Seconds a host that left a fetch unanswered is not asked again.
QUIET_AFTER_TIMEOUT = 30.0


async def start_services(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Services:
    """Open the database (migrating it), the HTTP client, the instance key and the
    inbox writer. Workers are started separately (:func:`start_workers`)."""
    db = Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        strict=settings.strict_sessions,
    )
    await upgrade(db.engine)
    try:
        async with db.write() as session:
            key = await instance_key(session)
    except IntegrityError:
        # Another process starting at the same moment created it first.
        async with db.read() as session:
            key = await instance_key(session)
    # Connections to a host stay open 30 s between deliveries (a pool per host:
    # federation.transport).
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30.0)
    http = httpx.AsyncClient(
        transport=transport or guarded_transport(settings.allow_private_network, limits=limits),
        timeout=httpx.Timeout(10.0),
        headers={"User-Agent": f"oce/{__version__} (+{settings.base_url})"},
        follow_redirects=False,
    )
    urls = Urls(settings.base_url)
    fetcher = SafeFetcher(
        http,
        HttpSignatureAuth(urls.instance_key, load_private_key(key.private_key_pem)),
        allow_private_network=settings.allow_private_network,
        parse_json=jsontext.loads,
        # A peer whose server hangs costs one wait, not one per request it sends us.
        quiet_after_timeout=QUIET_AFTER_TIMEOUT,
    )
    store = InboxStore(db)
    store.start()
    svc = Services(
        settings=settings,
        db=db,
        http=http,
        peers=Peers(db, fetcher),
        blocklist=Blocklist(db),
        inbox_store=store,
        inbox_limits=InboxLimits.from_settings(settings),
    )
    if settings.worker_notify and not db.is_sqlite:
        svc.notifier = Notifier(db.engine.url, svc.wake_here)
        await svc.notifier.start()
        store.on_stored = svc.notifier.notify
    return svc


async def stop_services(svc: Services) -> None:
    if svc.notifier is not None:
        await svc.notifier.stop()
    await svc.inbox_store.stop()
    await svc.http.aclose()
    await svc.db.dispose()


class _App(Starlette):
    """Starlette with :class:`SecurityHeaders` outside everything else, so that error
    pages answered by its outermost middleware (a 500) carry the headers too, the
    access log outside that (it sees the status the client got), and
    :class:`ClientTurns` just inside the headers (a client's requests beyond its share
    wait before any work is done for them)."""

    turns_per_client: int = 8

    def __init__(self, *, access_log: bool, **kwargs: Any) -> None:
        self.access_log = access_log
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        # The shared inbox answers on its own, inside the turns and the headers.
        inner = ClientTurns(SharedInbox(super().build_middleware_stack()), self.turns_per_client)
        app: ASGIApp = SecurityHeaders(RefuseNulInUrls(inner))
        return AccessLog(app) if self.access_log else app


def create_app(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The oce ASGI application for ``settings``.

    ``transport`` replaces the network for outgoing federation requests (in-process
    tests mount other instances' apps there).
    """

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        svc = await start_services(settings, transport=transport)
        workers = Workers(svc)
        if settings.run_workers:
            workers.start()
        try:
            yield {"services": svc, "workers": workers}
        finally:
            await workers.stop()
            await stop_services(svc)

    static = StaticFiles(packages=[("instance.web", "static")])
    app = _App(
        access_log=settings.access_log,
        routes=[*instance.social.routes, *routes(), Mount("/static", app=static, name="static")],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.turns_per_client = settings.max_requests_per_client
    return app
