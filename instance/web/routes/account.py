"""Signing in and out of the Agent app.

Who is asking and whether the form is genuine are settled before any session that
changes something opens; the password is checked in a worker thread with no database
session open (see :mod:`instance.web.app.passwords`). The refusal of a wrong name and
of a wrong password read the same, and take the same time.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.agents import get_agent
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import utcnow
from instance.web.app import csrf, throttle
from instance.web.app.forms import read_form
from instance.web.app.locales import pick_language
from instance.web.app.passwords import MAX_LENGTH, stored_hash, verify_password
from instance.web.app.sessions import (
    COOKIE,
    clear_cookie,
    open_session,
    revoke_session,
    set_cookie,
    signed_in,
)
from instance.web.pages import render_page

__all__ = ["client_address", "form_refused", "routes"]

WRONG = "The name or the password is not right."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def form_refused(svc: Services, problem: Problem) -> Response:
    """A refused form post as a page (browsers posting forms want a page, not JSON)."""
    response = render_page(svc, "problem.html", status=problem.status, problem=problem)
    response.headers.update(problem.headers)
    return response


def safe_next(text: str) -> str:
    """Where to go after signing in: a path of this site (``next``), else the dashboard."""
    if (
        text.startswith("/")
        and not text.startswith(("//", "/\\"))
        and len(text) <= 4200
        and all(32 < ord(ch) < 127 for ch in text)
    ):
        return text
    return "/dashboard"


def _login_page(
    svc: Services,
    request: Request,
    *,
    next_path: str = "",
    status: int = 200,
    error: str = "",
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    token = csrf.login_token(request)
    response = render_page(
        svc,
        "login.html",
        status=status,
        language=pick_language(request),
        error=error,
        username=username,
        csrf_token=token,
        next_path=next_path,
    )
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    csrf.set_login_cookie(svc, response, token)
    return response


def _wait_text(until: datetime) -> str:
    seconds = max(1, int((until - utcnow()).total_seconds() + 0.999))
    when = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
    return f"Too many failed sign-ins. Try again in {when}."


async def login(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        wanted = request.query_params.get("next", "")
        return _login_page(svc, request, next_path=wanted if safe_next(wanted) == wanted else "")
    try:
        form = await read_form(request)
        csrf.check_login_token(request, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    next_path = safe_next(form.get("next", ""))
    again = "" if next_path == "/dashboard" else next_path
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[: MAX_LENGTH + 1]
    address = client_address(request)
    if not username or not password:
        return _login_page(
            svc,
            request,
            status=400,
            error="Enter your name and your password.",
            username=username,
            next_path=again,
        )
    locked = await throttle.locked_until(svc.db, username, address)
    if locked is not None:
        retry = str(max(1, int((locked - utcnow()).total_seconds() + 0.999)))
        return _login_page(
            svc,
            request,
            status=429,
            error=_wait_text(locked),
            username=username,
            next_path=again,
            headers={"Retry-After": retry},
        )
    async with svc.db.read() as session:
        agent = await get_agent(session, username)
        hashed = await stored_hash(session, agent.id) if agent else None
    if agent is None or not await verify_password(hashed, password):
        await throttle.record_failure(svc.db, username, address)
        return _login_page(
            svc, request, status=401, error=WRONG, username=username, next_path=again
        )
    await throttle.record_success(svc.db, username)
    async with svc.db.write() as session:
        if old := request.cookies.get(COOKIE):
            await revoke_session(session, old[:100])
        secret, _row = await open_session(
            session,
            agent,
            address=address,
            user_agent=request.headers.get("user-agent", ""),
        )
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(svc, response, secret)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    svc = services(request)
    me = await signed_in(svc, request)
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    async with svc.db.write() as session:
        await revoke_session(session, request.cookies.get(COOKIE, "")[:100])
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(svc, response)
    return response


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
