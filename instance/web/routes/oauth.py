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

from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from instance.inbox.receive import parse_json_object, read_body
from instance.links import names_back
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
from instance.store.models import Agent, Commitment, Token
from instance.tokens import READ, Grant, authenticate
from instance.web.app import csrf
from instance.web.app.formatting import Format
from instance.web.app.forms import Form, read_form
from instance.web.app.locales import pick_language
from instance.web.app.overview import overview
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
                answer = await exchange_code(session, client, form, svc.urls)
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


# Linking accounts: the other instance's side (see instance.links) -------------------


async def _bearer_grant(svc: Services, request: Request) -> Grant:
    """The live OAuth grant a request's bearer token is (any scope: these two
    endpoints read, or annotate the token itself)."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Problem(
            401, "expected Authorization: Bearer <token>", field="authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip
    async with svc.db.read() as session:
        grant = await authenticate(session, presented.strip())
        row = await session.get(Token, grant.token_id)
    if row is None or row.client_id is None:
        raise Problem(403, "only a token given to an application links accounts")
    return grant


async def link(request: Request) -> Response:
    """``POST /oauth/link`` ``{"actor": …}``: the application holding this token is the
    person's other instance, and ``actor`` is them there. Believed only when that
    actor's own document names this one in ``alsoKnownAs``."""
    svc = services(request)
    grant = await _bearer_grant(svc, request)
    body = parse_json_object(await read_body(request, 4096))
    actor = body.get("actor")
    if not isinstance(actor, str) or not actor.startswith(("https://", "http://")):
        raise Problem(400, "actor is the URI of your actor on the other instance", field="actor")
    if len(actor) > 2048 or svc.urls.is_local(actor):
        raise Problem(400, "actor is an actor of another instance", field="actor")
    mine = svc.urls.actor(grant.agent.username)
    try:
        named = await names_back(svc, actor, mine)
    except Exception as exc:
        raise Problem(502, f"cannot read {actor}: {exc}", field="actor") from None
    if not named:
        raise Problem(422, f"{actor} does not name {mine} in its alsoKnownAs", field="actor")
    async with svc.db.write() as session:
        await session.execute(
            update(Token).where(Token.id == grant.token_id).values(linked_actor=actor)
        )
    return JSONResponse({"actor": mine, "alsoKnownAs": actor})


async def overview_json(request: Request) -> Response:
    """``GET /oauth/overview``: the token's person's balances, open commitments and
    agreements, as text ready to show (exact quantities), for their other instance."""
    svc = services(request)
    grant = await _bearer_grant(svc, request)
    if READ not in grant.scopes:
        raise Problem(403, "this needs the read scope", field="authorization")
    async with svc.db.read() as session:
        agent = await session.get(Agent, grant.agent.id)
        assert agent is not None
        view = await overview(session, svc.urls, agent)
    fmt = Format(svc.urls, "en")

    def commitment(c: Commitment, direction: str) -> dict[str, Any]:
        return {
            "uri": c.uri,
            "direction": direction,
            "action": c.action,
            "quantity": fmt.qty(c.quantity, c.unit),
            "kind": view.kind(c.resource_conforms_to),
            "with": c.receiver if direction == "owe" else c.provider,
            "fulfilled": fmt.qty(c.fulfilled, c.unit),
            "due": c.due.strftime("%Y-%m-%d") if c.due else None,
        }

    return JSONResponse(
        {
            "actor": svc.urls.actor(agent.username),
            "instance": svc.urls.host,
            "balances": [
                {"kind": b.kind, "accounting": b.accounting.text, "onhand": b.onhand.text}
                for b in view.balances
            ],
            "commitments": [commitment(c, "owe") for c in view.i_owe]
            + [commitment(c, "owed") for c in view.owed_to_me],
            "agreements": [
                {
                    "uri": a.uri,
                    "with": a.counterparty if a.proposer == view.me else a.proposer,
                    "state": a.state,
                    "date": (a.agreed_at or a.created_at).strftime("%Y-%m-%d"),
                }
                for a in view.agreements
            ],
        },
        headers=_NO_STORE,
    )


routes = [
    Route("/.well-known/oauth-authorization-server", authorization_server, methods=["GET"]),
    Route("/oauth/register", register, methods=["POST"]),
    Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revocation, methods=["POST"]),
    Route("/oauth/link", link, methods=["POST"]),
    Route("/oauth/overview", overview_json, methods=["GET"]),
]
