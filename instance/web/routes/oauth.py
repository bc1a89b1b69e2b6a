"""OAuth 2.0 over HTTP: metadata, registration, the consent page, tokens, revocation.

The rules live in :mod:`instance.oauth`; this module reads bounded requests, shows the
consent page to the signed-in person, and writes RFC 6749 answers (JSON errors with
``error`` and ``error_description``, ``Cache-Control: no-store`` on anything carrying a
secret).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from instance.inbox.receive import read_body
from instance.oauth import (
    AuthorizationRequest,
    CodeReused,
    OAuthError,
    Unredirectable,
    authenticate_client,
    authorization_request,
    exchange_code,
    issue_code,
    metadata,
    redirect_with,
    refresh,
    register_client,
    revoke,
    revoke_reused,
)
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent
from instance.web.app import csrf
from instance.web.app.forms import Form, read_form
from instance.web.app.locales import pick_language
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.headers import CONTENT_SECURITY_POLICY
from instance.web.pages import render_page
from instance.web.routes.account import form_refused

__all__ = ["routes"]

MAX_REGISTRATION_BYTES = 16_384
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers={**_NO_STORE, **exc.headers})


def _from_problem(problem: Problem) -> OAuthError:
    return OAuthError(
        "invalid_request", problem.detail, field=problem.field or "body", status=problem.status
    )


async def authorization_server(request: Request) -> Response:
    return JSONResponse(
        metadata(services(request).urls), headers={"Cache-Control": "public, max-age=3600"}
    )


async def register(request: Request) -> Response:
    svc = services(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media != "application/json":
            raise OAuthError(
                "invalid_request", "send the client metadata as application/json", status=415
            )
        try:
            body = await read_body(request, MAX_REGISTRATION_BYTES)
        except Problem as problem:
            raise _from_problem(problem) from None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise OAuthError(
                "invalid_client_metadata", "the body is not JSON", field="body"
            ) from None
        if not isinstance(document, dict):
            raise OAuthError("invalid_client_metadata", "the body is a JSON object", field="body")
        async with svc.db.write() as session:
            answer = await register_client(session, document, svc.urls)
    except OAuthError as exc:
        return _error(exc)
    return JSONResponse(answer, status_code=201, headers=_NO_STORE)


def _refused_page(svc: Services, request: Request, exc: OAuthError) -> Response:
    problem = Problem(
        400, exc.description, field=exc.field, title="This application's request is not valid"
    )
    response = render_page(
        svc, "problem.html", status=400, language=pick_language(request), problem=problem
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _back_to_client(svc: Services, redirect_uri: str, values: dict[str, str]) -> Response:
    target = redirect_with(redirect_uri, {**values, "iss": svc.urls.base})
    return RedirectResponse(target, status_code=303, headers=_NO_STORE)


def _consent_page(
    svc: Services, request: Request, me: SignedIn, asked: AuthorizationRequest
) -> Response:
    response = render_page(
        svc, "oauth_consent.html", language=pick_language(request), me=me, request=asked
    )
    # The answer redirects to the application: the page's forms may lead there.
    parts = urlsplit(asked.redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _checked(svc: Services, params: dict[str, str]) -> AuthorizationRequest:
    async with svc.db.read() as session:
        return await authorization_request(session, params)


async def authorize(request: Request) -> Response:
    svc = services(request)
    form: Form | None = None
    me = await signed_in(svc, request)
    if request.method == "POST":
        try:
            form = await read_form(request)
            if me is None:
                raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
            csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
        except Problem as problem:
            return form_refused(svc, problem)
        params: dict[str, str] = dict(form)
    else:
        if len(request.url.query) > 4096:
            return _refused_page(
                svc, request, OAuthError("invalid_request", "the request is too long")
            )
        params = dict(request.query_params)
    try:
        asked = await _checked(svc, params)
    except Unredirectable as exc:
        return _refused_page(svc, request, exc)
    except OAuthError as exc:
        return _back_to_client(
            svc,
            exc.redirect_uri or "",
            {"error": exc.error, "error_description": exc.description, "state": exc.state},
        )
    if me is None:
        back = "/oauth/authorize?" + request.url.query
        return RedirectResponse("/login?" + urlencode({"next": back}), status_code=303)
    if form is None:
        return _consent_page(svc, request, me, asked)
    if form.get("decision") != "allow":
        return _back_to_client(
            svc,
            asked.redirect_uri,
            {
                "error": "access_denied",
                "error_description": "the person did not allow it",
                "state": asked.state,
            },
        )
    async with svc.db.write() as session:
        agent = await session.get(Agent, me.agent.id)
        assert agent is not None
        code = await issue_code(session, asked, agent)
    return _back_to_client(svc, asked.redirect_uri, {"code": code, "state": asked.state})


async def _client_form(request: Request) -> Form:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request",
            "send the parameters as application/x-www-form-urlencoded",
            status=415,
        )
    try:
        return await read_form(request)
    except Problem as problem:
        raise _from_problem(problem) from None


async def token(request: Request) -> Response:
    svc = services(request)
    try:
        form = await _client_form(request)
        grant_type = form.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError(
                "unsupported_grant_type" if grant_type else "invalid_request",
                "grant_type is authorization_code or refresh_token",
                field="grant_type",
            )
        async with svc.db.write() as session:
            client = await authenticate_client(session, form, request.headers.get("authorization"))
            answer: dict[str, Any]
            if grant_type == "authorization_code":
                answer = await exchange_code(session, client, form)
            else:
                answer = await refresh(session, client, form)
    except CodeReused as exc:
        async with svc.db.write() as session:
            await revoke_reused(session, exc)
        return _error(exc)
    except OAuthError as exc:
        return _error(exc)
    return JSONResponse(answer, headers=_NO_STORE)


async def revocation(request: Request) -> Response:
    svc = services(request)
    try:
        form = await _client_form(request)
        async with svc.db.write() as session:
            client = await authenticate_client(session, form, request.headers.get("authorization"))
            await revoke(session, client, form)
    except OAuthError as exc:
        return _error(exc)
    return Response(status_code=200, headers=_NO_STORE)


routes = [
    Route("/.well-known/oauth-authorization-server", authorization_server, methods=["GET"]),
    Route("/oauth/register", register, methods=["POST"]),
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revocation, methods=["POST"]),
]
