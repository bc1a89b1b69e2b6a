"""The signed-in person's dashboard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.services import services
from instance.web.app.sessions import signed_in
from instance.web.pages import render_page

__all__ = ["routes"]


async def dashboard(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return RedirectResponse("/login", status_code=303)
    response = render_page(svc, "dashboard.html", me=me)
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [Route("/dashboard", dashboard)]
