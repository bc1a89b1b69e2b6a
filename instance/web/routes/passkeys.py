"""Passkeys: ``/app/passkeys`` (list, add, remove) and signing in with one at
``/login/passkey``; the rules are in :mod:`instance.web.app.passkeys`.

The JSON endpoints take the form token in an ``X-CSRF-Token`` header: the session's
for registration, the sign-in form's double-submit cookie for signing in. A sign-in
is refused before anything is checked while the address is locked, and every refusal
counts against the address (and the account, once the passkey names one), exactly
like a wrong password.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from instance.inbox.receive import read_body
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent, Passkey, utcnow
from instance.web.app import csrf, throttle
from instance.web.app import passkeys as rules
from instance.web.app.sessions import COOKIE, open_session, revoke_session, set_cookie, signed_in
from instance.web.routes.account import client_address, safe_next
from instance.web.routes.forms import _page, _posted

__all__ = ["routes"]

HEADER = "x-csrf-token"


def _json(text: str) -> Response:
    return Response(text, media_type="application/json", headers={"Cache-Control": "no-store"})


def _refused(problem: Problem) -> Response:
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        media_type="application/problem+json",
        headers={**problem.headers, "Cache-Control": "no-store"},
    )


async def _body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Problem(415, "expected JSON (application/json)", field="body")
    raw = await read_body(request, rules.MAX_BODY)
    try:
        return json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the body is not JSON", field="body") from None


async def passkeys_page(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return RedirectResponse("/login?next=/app/passkeys", status_code=303)
        return await _list(svc, request, me)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    wanted = int(form["id"]) if form.get("id", "").isdigit() else -1
    async with svc.db.write() as session:
        await session.execute(
            delete(Passkey).where(Passkey.id == wanted, Passkey.agent_id == me.agent.id)
        )
    return RedirectResponse("/app/passkeys", status_code=303)


async def _list(svc: Services, request: Request, me: Any) -> Response:
    async with svc.db.read() as session:
        rows = list(
            await session.scalars(
                select(Passkey).where(Passkey.agent_id == me.agent.id).order_by(Passkey.id)
            )
        )
    return _page(svc, request, "passkeys.html", me, passkeys=rows)


async def register_options(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    try:
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, request.headers.get(HEADER, ""))
        async with svc.db.read() as session:
            agent = await session.get(Agent, me.agent.id)
        assert agent is not None
        return _json(await rules.registration_options(svc, agent))
    except Problem as problem:
        return _refused(problem)


async def register(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    try:
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, request.headers.get(HEADER, ""))
        body = await _body(request)
        async with svc.db.read() as session:
            agent = await session.get(Agent, me.agent.id)
        assert agent is not None
        row = await rules.finish_registration(svc, agent, body)
    except Problem as problem:
        return _refused(problem)
    return JSONResponse({"id": row.id, "name": row.name}, status_code=201)


async def sign_in_options(request: Request) -> Response:
    svc = services(request)
    try:
        csrf.check_login_token(request, request.headers.get(HEADER, ""))
    except Problem as problem:
        return _refused(problem)
    return _json(await rules.authentication_options(svc))


async def sign_in(request: Request) -> Response:
    svc = services(request)
    address = client_address(request)
    try:
        csrf.check_login_token(request, request.headers.get(HEADER, ""))
        body = await _body(request)
        locked = await throttle.locked_until(svc.db, None, address)
        if locked is not None:
            retry = str(max(1, int((locked - utcnow()).total_seconds() + 0.999)))
            raise Problem(
                429, "too many failed sign-ins: try again later", headers={"Retry-After": retry}
            )
        try:
            agent = await rules.finish_sign_in(svc, body)
        except Problem as problem:
            who = problem.username if isinstance(problem, rules.SignInRefused) else None
            await throttle.record_failure(svc.db, who, address)
            raise
        if await throttle.locked_until(svc.db, agent.username, address) is not None:
            raise Problem(429, "too many failed sign-ins: try again later")
    except Problem as problem:
        return _refused(problem)
    await throttle.record_success(svc.db, agent.username)
    next_path = safe_next(str(body.get("next", "")) if isinstance(body, dict) else "")
    async with svc.db.write() as session:
        if old := request.cookies.get(COOKIE):
            await revoke_session(session, old[:100])
        secret, _row = await open_session(
            session, agent, address=address, user_agent=request.headers.get("user-agent", "")
        )
    response = JSONResponse({"next": next_path}, headers={"Cache-Control": "no-store"})
    set_cookie(svc, response, secret)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


routes = [
    Route("/app/passkeys", passkeys_page, methods=["GET", "POST"]),
    Route("/app/passkeys/options", register_options, methods=["POST"]),
    Route("/app/passkeys/register", register, methods=["POST"]),
    Route("/login/passkey/options", sign_in_options, methods=["POST"]),
    Route("/login/passkey", sign_in, methods=["POST"]),
]
