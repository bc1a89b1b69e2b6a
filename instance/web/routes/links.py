"""Linking this account with the person's account on another oce instance
(``/app/links``); the rules are in :mod:`instance.links`."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.links import finish_link, start_link, unlink
from instance.problems import Problem
from instance.services import services
from instance.store.models import AccountLink, Agent
from instance.web.app.sessions import signed_in
from instance.web.routes.account import form_refused
from instance.web.routes.forms import _page, _posted

__all__ = ["routes"]


async def links(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return RedirectResponse("/login?next=/app/links", status_code=303)
        async with svc.db.read() as session:
            rows = list(
                await session.scalars(
                    select(AccountLink)
                    .where(AccountLink.agent_id == me.agent.id, AccountLink.status == "active")
                    .order_by(AccountLink.id)
                )
            )
        return _page(svc, request, "links.html", me, links=rows, errors={}, typed="")
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    async with svc.db.read() as session:
        agent = await session.get(Agent, me.agent.id)
        assert agent is not None
    try:
        if form.get("id"):
            link_id = int(form["id"]) if form["id"].isdigit() else -1
            await unlink(svc, agent, link_id)
            return RedirectResponse("/app/links", status_code=303)
        typed = form.text("instance", 255)
        try:
            target = await start_link(svc, agent, typed)
        except Problem as problem:
            return _page(
                svc,
                request,
                "links.html",
                me,
                status=problem.status,
                links=[],
                errors={"instance": problem.detail},
                typed=typed,
            )
    except Problem as problem:
        return form_refused(svc, problem)
    # A page with a link rather than a redirect: the page's Content-Security-Policy
    # (form-action 'self') rightly stops a form from leading to another site.
    return _page(
        svc, request, "links.html", me, links=[], errors={}, typed=typed, continue_to=target
    )


async def callback(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return form_refused(svc, Problem(403, "sign in here first, then link again"))
    async with svc.db.read() as session:
        agent = await session.get(Agent, me.agent.id)
        assert agent is not None
    params = {name: value[:500] for name, value in request.query_params.items()}
    try:
        await finish_link(svc, agent, params)
    except Problem as problem:
        return form_refused(svc, problem)
    return RedirectResponse("/app/links", status_code=303)


routes = [
    Route("/app/links", links, methods=["GET", "POST"]),
    Route("/app/links/callback", callback, methods=["GET"]),
]
