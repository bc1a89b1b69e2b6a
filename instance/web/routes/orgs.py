"""Organizations in the Agent app: their pages, joining and leaving, answering requests
to join, inviting, validating contributions, and switching the session to act for one.

Every form posts through :func:`instance.outbox.c2s.post_to_outbox`, as a client's JSON
would: a person's own activities (Join, Leave, a validator's Accept or Reject) as the
person; a coordinator's answers and invitations as the organization, with the person as
``acted_by`` (the organization's records keep who did it). A refusal comes back as the
same page with the problem's detail next to the field it concerns; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import FetchError, WebFingerError, resolve
from instance.agents import get_agent
from instance.coop.memberships import has_role
from instance.outbox.c2s import post_to_outbox
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent
from instance.web.app.acting import clear_switch, set_switch
from instance.web.app.orgview import org_view, organizations_for
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.routes.account import form_refused
from instance.web.routes.forms import _page, _posted, _to_login

__all__ = ["organization", "routes"]

#: Longest reason a rejection may give, in characters.
MAX_REASON = 2000


def _hidden(username: str) -> Problem:
    return Problem(404, f"there is no organization {username} here")


async def organization(svc: Services, username: str) -> Agent:
    """The local organization ``username``, or a 404 problem."""
    async with svc.db.read() as session:
        org = await get_agent(session, username)
    if org is None or org.kind != "Organization":
        raise _hidden(username)
    return org


async def _actor_of(svc: Services, text: str, field: str) -> str:
    """An actor id from what a person typed: its address (URL) or a handle."""
    text = text.strip()
    if text.startswith(("https://", "http://")):
        if len(text) > 2048:
            raise Problem(400, "that address is too long", field=field)
        return text
    if not text:
        raise Problem(400, "give an address or a handle such as @coop@example.org", field=field)
    if "@" not in text.lstrip("@"):
        if svc.urls.username_of(svc.urls.actor(text)) is not None:
            async with svc.db.read() as session:
                if await get_agent(session, text) is not None:
                    return svc.urls.actor(text)
        raise Problem(404, f"no agent is named {text!r} here", field=field)
    scheme = svc.urls.base.split("://", 1)[0]
    try:
        return await resolve(svc.peers.fetcher, text[:300], scheme=scheme)
    except (WebFingerError, FetchError) as exc:
        raise Problem(502, f"cannot find {text}: {exc}", field=field) from None


async def _org_page(
    svc: Services,
    request: Request,
    me: SignedIn,
    org: Agent,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    viewer = svc.urls.actor(me.actor.username)
    async with svc.db.read() as session:
        view = await org_view(session, svc.urls, org, viewer, svc.urls.actor(me.agent.username))
    return _page(
        svc,
        request,
        "organization.html",
        me,
        status=status,
        view=view,
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


NOTICES = {
    "asked": "Your request to join was sent.",
    "left": "You left the organization.",
    "answered": "Answered.",
    "invited": "Invitation sent.",
    "validated": "Your verdict was recorded.",
}


async def org_page(request: Request) -> Response:
    """``/app/orgs/{username}``: the organization's page."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    org = await organization(svc, request.path_params["username"])
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    return await _org_page(svc, request, me, org, notice=notice)


async def org_list(request: Request) -> Response:
    """``/app/orgs``: my memberships, this instance's organizations, joining by address."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    return await _list_page(svc, request, me)


async def _list_page(
    svc: Services,
    request: Request,
    me: SignedIn,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    async with svc.db.read() as session:
        mine, local = await organizations_for(session, svc.urls.actor(me.agent.username))
    return _page(
        svc,
        request,
        "organizations.html",
        me,
        status=status,
        mine=mine,
        local=local,
        errors=errors or {},
        values=values or {},
        notice=NOTICES.get(request.query_params.get("done", ""), ""),
    )


def _back(org: Agent | None, done: str) -> Response:
    where = f"/app/orgs/{org.username}" if org is not None else "/app/orgs"
    return RedirectResponse(f"{where}?done={done}", status_code=303)


async def join(request: Request) -> Response:
    """Ask to join an organization (ours by name, or any by its address or handle)."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    local: Agent | None = None
    try:
        wanted = form.text("org", 2048)
        target = await _actor_of(svc, wanted, "org")
        username = svc.urls.username_of(target)
        if username is not None:
            local = await organization(svc, username)
        await post_to_outbox(svc, me.agent, {"type": "Join", "object": target})
    except Problem as problem:
        if local is not None:
            return await _org_page(
                svc, request, me, local, status=problem.status, errors={"join": problem.detail}
            )
        return await _list_page(
            svc, request, me, status=problem.status, errors={"org": problem.detail}, values=form
        )
    return _back(local, "asked")


async def leave(request: Request) -> Response:
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    target = form.text("org", 2048)
    try:
        await post_to_outbox(svc, me.agent, {"type": "Leave", "object": target})
    except Problem as problem:
        return form_refused(svc, problem)
    return _back(None, "left")


async def _coordinator(svc: Services, me: SignedIn, org: Agent) -> None:
    """Refuse (403) anyone who may not act for ``org``."""
    if me.agent.id == org.id:
        return
    async with svc.db.read() as session:
        allowed = await has_role(
            session,
            svc.urls.actor(org.username),
            svc.urls.actor(me.agent.username),
            "coordinator",
        )
    if not allowed:
        raise Problem(
            403,
            f"{me.agent.username} is not a coordinator of {org.username} and cannot act for it",
            field="form",
        )


def _by(me: SignedIn, org: Agent) -> Agent | None:
    """The person behind a post made as ``org`` (None when the organization signed in)."""
    return None if me.agent.id == org.id else me.agent


def _reason(form: Any, field: str = "reason") -> str:
    reason: str = form.text(field, MAX_REASON + 1)
    if len(reason) > MAX_REASON:
        raise Problem(400, f"a reason is at most {MAX_REASON} characters", field=field)
    return reason


async def answer_join(request: Request) -> Response:
    """A coordinator accepts or rejects (saying why) a request to join."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    org = await organization(svc, request.path_params["username"])
    join_uri = form.text("join", 2048)
    try:
        await _coordinator(svc, me, org)
        decision = form.get("decision")
        if decision not in ("accept", "reject"):
            raise Problem(400, "answer accept or reject", field="decision")
        activity: dict[str, Any] = {
            "type": "Accept" if decision == "accept" else "Reject",
            "object": join_uri,
        }
        if reason := _reason(form):
            activity["content"] = reason
        await post_to_outbox(svc, org, activity, acted_by=_by(me, org))
    except Problem as problem:
        if problem.status == 403:
            return form_refused(svc, problem)
        key = f"reason@{join_uri}" if problem.field == "content" else "form"
        return await _org_page(
            svc,
            request,
            me,
            org,
            status=problem.status,
            errors={key: problem.detail},
            values={f"reason@{join_uri}": form.get("reason", "")},
        )
    return _back(org, "answered")


async def invite(request: Request) -> Response:
    """A coordinator invites a person (by name here, or handle or address anywhere)."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    org = await organization(svc, request.path_params["username"])
    try:
        await _coordinator(svc, me, org)
        person = await _actor_of(svc, form.text("person", 2048), "person")
        await post_to_outbox(
            svc,
            org,
            {"type": "Invite", "object": svc.urls.actor(org.username), "target": person},
            acted_by=_by(me, org),
        )
    except Problem as problem:
        if problem.status == 403 and problem.field == "form":
            return form_refused(svc, problem)
        return await _org_page(
            svc,
            request,
            me,
            org,
            status=problem.status,
            errors={"person": problem.detail},
            values={"person": form.get("person", "")},
        )
    return _back(org, "invited")


async def verdict(request: Request) -> Response:
    """A validator approves or rejects (saying why) a contribution; never their own."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    org = await organization(svc, request.path_params["username"])
    event = form.text("event", 2048)
    try:
        decision = form.get("decision")
        if decision not in ("accept", "reject"):
            raise Problem(400, "answer approve or reject", field="decision")
        activity: dict[str, Any] = {
            "type": "Accept" if decision == "accept" else "Reject",
            "object": event,
        }
        if reason := _reason(form):
            activity["content"] = reason
        await post_to_outbox(svc, me.agent, activity)
    except Problem as problem:
        key = f"reason@{event}" if problem.field == "content" else "form"
        return await _org_page(
            svc,
            request,
            me,
            org,
            status=problem.status,
            errors={key: problem.detail},
            values={f"reason@{event}": form.get("reason", "")},
        )
    return _back(org, "validated")


async def switch(request: Request) -> Response:
    """Switch the session to act for an organization the person coordinates (or back)."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    wanted = form.text("as", 200)
    response = RedirectResponse("/dashboard", status_code=303)
    if not wanted or wanted == me.agent.username:
        clear_switch(svc, response)
        return response
    if wanted not in me.coordinates:
        return form_refused(
            svc,
            Problem(
                403,
                f"{me.agent.username} is not a coordinator of {wanted} and cannot act for it",
                field="as",
            ),
        )
    set_switch(svc, response, me.session_id, wanted)
    return response


routes = [
    Route("/app/orgs", org_list),
    Route("/app/orgs/join", join, methods=["POST"]),
    Route("/app/orgs/leave", leave, methods=["POST"]),
    Route("/app/switch", switch, methods=["POST"]),
    Route("/app/orgs/{username}", org_page),
    Route("/app/orgs/{username}/answer", answer_join, methods=["POST"]),
    Route("/app/orgs/{username}/invite", invite, methods=["POST"]),
    Route("/app/orgs/{username}/verdict", verdict, methods=["POST"]),
]
