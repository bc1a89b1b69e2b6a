"""Notifications: the page, marking them read, and the live count (server-sent events).

The page and the count in the header work without script. ``/static/live.js`` opens
``/app/notifications/stream`` (``text/event-stream``) and writes each ``unread`` event
into the header's count. The stream is bounded (see :mod:`instance.notices.signal`): one
per browser session, a cap per process, a lifetime, a heartbeat; it looks at the
database when this process signals news for the agent, or after the slow poll interval
(news recorded by another process), never in a tight loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from instance.notices import Listener, TooManyStreams
from instance.notices.reading import mark_read, recent, unread_count
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import WebSession, utcnow
from instance.web.app import csrf
from instance.web.app.formatting import Format
from instance.web.app.forms import read_form
from instance.web.app.locales import pick_language
from instance.web.app.sessions import signed_in
from instance.web.pages import render_page
from instance.web.routes.account import form_refused

__all__ = ["routes"]


async def page(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return RedirectResponse("/login", status_code=303)
    async with svc.db.read() as session:
        rows = await recent(session, me.agent.id)
    language = pick_language(request)
    response = render_page(
        svc,
        "notifications.html",
        language=language,
        me=me,
        rows=rows,
        fmt=Format(svc.urls, language),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def mark(request: Request) -> Response:
    """Mark read the notifications the page showed (up to its newest), or all."""
    svc = services(request)
    me = await signed_in(svc, request)
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
        up_to = form.get("up_to", "")
        if up_to and not up_to.isdigit():
            raise Problem(400, "up_to is the id of a notification", field="up_to")
    except Problem as problem:
        return form_refused(svc, problem)
    async with svc.db.write() as session:
        await mark_read(session, me.agent.id, int(up_to) if up_to else None)
    svc.notices.signal([me.agent.id])  # the person's other pages update their count
    return RedirectResponse("/app/notifications", status_code=303)


async def _still_signed_in(svc: Services, session_id: int) -> bool:
    async with svc.db.read() as session:
        row = await session.scalar(select(WebSession).where(WebSession.id == session_id))
    return row is not None and row.revoked_at is None and row.expires_at > utcnow()


async def _events(svc: Services, listener: Listener) -> AsyncIterator[str]:
    notifier = svc.notices
    try:
        # How long the browser waits before it reconnects after the stream ends.
        yield f"retry: {int(notifier.heartbeat * 1000)}\n\n"
        ends = time.monotonic() + notifier.lifetime
        next_look = time.monotonic() + notifier.poll
        last: int | None = None
        look = True
        while not listener.ended:
            if look:
                async with svc.db.read() as session:
                    count = await unread_count(session, listener.agent_id)
                if count != last:
                    yield f"event: unread\ndata: {count}\n\n"
                    last = listener.sent = count
                next_look = time.monotonic() + notifier.poll
            now = time.monotonic()
            if now >= ends:
                break
            woken = await listener.wait(min(notifier.heartbeat, ends - now, next_look - now))
            if listener.ended:
                break
            look = woken or time.monotonic() >= next_look
            if look and not woken and not await _still_signed_in(svc, listener.session_id):
                break  # signed out (or revoked from another browser) meanwhile
            if not woken:
                yield ": heartbeat\n\n"
    finally:
        notifier.close(listener)


async def stream(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return JSONResponse(
            {"type": "about:blank", "title": "Unauthorized", "status": 401,
             "detail": "sign in to receive notifications"},
            status_code=401,
            media_type="application/problem+json",
        )  # fmt: skip
    try:
        listener = svc.notices.open(me.agent.id, me.session_id)
    except TooManyStreams:
        return JSONResponse(
            {"type": "about:blank", "title": "Service unavailable", "status": 503,
             "detail": "too many live streams on this server; the count still shows on "
                       "every page"},
            status_code=503,
            media_type="application/problem+json",
            headers={"Retry-After": "60"},
        )  # fmt: skip
    return StreamingResponse(
        _events(svc, listener),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        # Also when the body never started (the client left at once): closing is idempotent.
        background=BackgroundTask(svc.notices.close, listener),
    )


routes = [
    Route("/app/notifications", page),
    Route("/app/notifications/read", mark, methods=["POST"]),
    Route("/app/notifications/stream", stream),
]
