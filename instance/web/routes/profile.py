"""Editing one's profile (name, summary, picture) and deleting one's agent, from the app.

Each form posts through the outbox (``Update`` or ``Delete`` of the person's own actor,
:mod:`instance.profiles.actor`), so followers' servers hear of it as they would from a
client. A picture is checked and stored first (:mod:`instance.web.app.avatars`), then
announced in the actor's ``icon``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.outbox.c2s import post_to_outbox
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent, AgentAvatar, utcnow
from instance.web.app import csrf
from instance.web.app.avatars import MAX_AVATAR_BYTES, read_upload
from instance.web.app.forms import read_form
from instance.web.app.locales import pick_language
from instance.web.app.sessions import SignedIn, clear_cookie, signed_in
from instance.web.documents import avatar_url
from instance.web.pages import render_page
from instance.web.routes.account import form_refused

__all__ = ["routes"]

FIELDS = ("name", "summary", "avatar", "confirm", "form")


async def _page(
    svc: Services,
    request: Request,
    me: SignedIn,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    async with svc.db.read() as session:
        agent = await session.get(Agent, me.agent.id)
        picture = await session.get(AgentAvatar, me.agent.id)
    assert agent is not None
    response = render_page(
        svc,
        "profile.html",
        status=status,
        language=pick_language(request),
        me=me,
        values=values if values is not None else {"name": agent.name, "summary": agent.summary},
        errors=errors or {},
        avatar=avatar_url(svc.urls, agent, picture) if picture else None,
        max_kib=MAX_AVATAR_BYTES // 1024,
        notice=notice,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _errors(problem: Problem) -> dict[str, str]:
    name = (problem.field or "form").split(".")[-1]
    return {name if name in FIELDS else "form": problem.detail}


async def profile(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if request.method == "GET":
        if me is None:
            return RedirectResponse("/login", status_code=303)
        saved = request.query_params.get("done") == "saved"
        return await _page(svc, request, me, notice="Saved." if saved else "")
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    document: dict[str, Any] = {
        "type": me.agent.kind,
        "name": form.get("name", ""),
        "summary": form.get("summary", ""),
    }
    if form.get("remove_avatar") == "1":
        document["icon"] = None
    try:
        await post_to_outbox(svc, me.agent, {"type": "Update", "object": document})
    except Problem as problem:
        return await _page(
            svc, request, me, status=problem.status, values=form, errors=_errors(problem)
        )
    return RedirectResponse("/app/profile?done=saved", status_code=303)


async def upload_avatar(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return form_refused(
            svc, Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        )
    try:
        upload = await read_upload(request)
    except Problem as problem:
        return await _page(svc, request, me, status=problem.status, errors=_errors(problem))
    try:
        csrf.check_token(me.csrf, upload.fields.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    digest = hashlib.sha256(upload.image).hexdigest()
    async with svc.db.write() as session:
        picture = await session.get(AgentAvatar, me.agent.id)
        if picture is None:
            picture = AgentAvatar(agent_id=me.agent.id, media_type="", body=b"", digest="")
            session.add(picture)
        picture.media_type, picture.body, picture.digest = upload.media_type, upload.image, digest
        picture.updated_at = utcnow()
        url = avatar_url(svc.urls, me.agent, picture)
    icon = {"type": "Image", "mediaType": upload.media_type, "url": url}
    try:
        await post_to_outbox(
            svc, me.agent, {"type": "Update", "object": {"type": me.agent.kind, "icon": icon}}
        )
    except Problem as problem:
        return await _page(svc, request, me, status=problem.status, errors=_errors(problem))
    return RedirectResponse("/app/profile?done=saved", status_code=303)


async def delete_agent(request: Request) -> Response:
    """Delete one's own agent, after typing its name to confirm."""
    svc = services(request)
    me = await signed_in(svc, request)
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    try:
        if form.text("confirm", 64) != me.agent.username:
            raise Problem(400, f"type {me.agent.username} to confirm the deletion", field="confirm")
        actor = svc.urls.actor(me.agent.username)
        await post_to_outbox(svc, me.agent, {"type": "Delete", "object": actor})
    except Problem as problem:
        return await _page(
            svc, request, me, status=problem.status, values=form, errors=_errors(problem)
        )
    response = RedirectResponse("/", status_code=303)
    clear_cookie(svc, response)
    return response


routes = [
    Route("/app/profile", profile, methods=["GET", "POST"]),
    Route("/app/profile/avatar", upload_avatar, methods=["POST"]),
    Route("/app/profile/delete", delete_agent, methods=["POST"]),
]
