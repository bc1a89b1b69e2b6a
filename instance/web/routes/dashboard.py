"""The signed-in person's dashboard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.links import elsewhere
from instance.services import services
from instance.store.models import Agent
from instance.web.app.formatting import Format
from instance.web.app.locales import pick_language
from instance.web.app.overview import agreement_terms, overview
from instance.web.app.sessions import signed_in
from instance.web.pages import render_page

__all__ = ["routes"]

#: Messages a form may leave for the dashboard (``?done=``): fixed texts, never echoed.
NOTICES = {
    "published": "Published.",
    "withdrawn": "Withdrawn.",
    "accepted": "Accepted.",
    "rejected": "Answered: no.",
    "recorded": "Recorded.",
    "sent": "Sent.",
    "followed": "Follow request sent.",
    "saved": "Saved.",
}


async def dashboard(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return RedirectResponse("/login", status_code=303)
    async with svc.db.read() as session:
        agent = await session.get(Agent, me.actor.id)
        assert agent is not None
        view = await overview(session, svc.urls, agent)
    others = await elsewhere(svc, agent)
    language = pick_language(request)
    response = render_page(
        svc,
        "dashboard.html",
        language=language,
        me=me,
        view=view,
        elsewhere=others,
        fmt=Format(svc.urls, language),
        terms=agreement_terms,
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [Route("/dashboard", dashboard)]
