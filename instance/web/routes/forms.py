"""The Agent app's forms: each one posts through the outbox, as a client's JSON would.

A form post is checked in this order, before anything is read or changed: a live
session (else the sign-in page), its CSRF token (else 403), then the fields. A refusal
from the outbox comes back as the same form, the problem's detail next to the field it
names; nothing was stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import FetchError, WebFingerError, resolve
from instance.ledger.exchange import intents_of, proposal_document
from instance.oauth import applications, revoke_application
from instance.outbox.c2s import post_to_outbox
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent, Agreement, Commitment, Proposal, ResourceSpecification
from instance.tokens import list_tokens, revoke_token, token_state
from instance.web.app import csrf
from instance.web.app.documents import (
    FORM_FIELDS,
    fulfilment,
    offer_for_proposal,
    parse_amount,
    proposal,
)
from instance.web.app.formatting import Format
from instance.web.app.forms import Form, read_form
from instance.web.app.locales import pick_language
from instance.web.app.records import record_page
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.pages import render_page
from instance.web.routes.account import form_refused

__all__ = ["routes"]


def _to_login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _done(what: str) -> Response:
    return RedirectResponse(f"/dashboard?done={what}", status_code=303)


async def _posted(svc: Services, request: Request) -> tuple[SignedIn, Form] | Response:
    """The signed-in person and their genuine form, or the response that refuses it."""
    me = await signed_in(svc, request)
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    return me, form


def _errors(problem: Problem, fields: tuple[str, ...]) -> dict[str, str]:
    name = problem.field or "form"
    name = name if name in fields else FORM_FIELDS.get(name.split("/")[-1], "form")
    return {name if name in fields else "form": problem.detail}


def _page(
    svc: Services,
    request: Request,
    template: str,
    me: SignedIn,
    status: int = 200,
    **context: Any,
) -> Response:
    language = pick_language(request)
    response = render_page(
        svc,
        template,
        status=status,
        language=language,
        me=me,
        fmt=Format(svc.urls, language),
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# Publishing and withdrawing ------------------------------------------------------------

PUBLISH_FIELDS = (
    "purpose", "name", "content", "action", "kind", "quantity", "unit", "available",
    "return_kind", "return_quantity", "return_unit", "form",
)  # fmt: skip


async def _known_kinds(svc: Services) -> list[ResourceSpecification]:
    async with svc.db.read() as session:
        return list(
            (
                await session.scalars(
                    select(ResourceSpecification).order_by(ResourceSpecification.name).limit(200)
                )
            ).all()
        )


async def _kind_uri(svc: Services, text: str, field: str) -> str:
    """A kind of resource by its id (a URL) or the name of a specification we know."""
    text = text.strip()
    if not text or text.startswith(("https://", "http://")):
        return text
    async with svc.db.read() as session:
        found = await session.scalar(
            select(ResourceSpecification.uri)
            .where(func.lower(ResourceSpecification.name) == text.lower())
            .limit(1)
        )
    if found is None:
        raise Problem(
            400, f"no known kind is named {text!r}: give its id (a URL) or pick one", field=field
        )
    return found


async def publish(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return _to_login()
        return _page(
            svc, request, "publish.html", me, values={}, errors={}, kinds=await _known_kinds(svc)
        )
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    try:
        kind = await _kind_uri(svc, form.text("kind"), "kind")
        return_kind = await _kind_uri(svc, form.text("return_kind"), "return_kind")
        document = proposal(dict(form), kind, return_kind)
        await post_to_outbox(svc, me.actor, document, acted_by=me.acted_by)
    except Problem as problem:
        return _page(
            svc,
            request,
            "publish.html",
            me,
            status=problem.status,
            values=form,
            errors=_errors(problem, PUBLISH_FIELDS),
            kinds=await _known_kinds(svc),
        )
    return _done("published")


async def withdraw(request: Request) -> Response:
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    try:
        await post_to_outbox(
            svc, me.actor, {"type": "Delete", "object": form.text("object")}, acted_by=me.acted_by
        )
    except Problem as problem:
        return form_refused(svc, problem)
    return _done("withdrawn")


async def decide(request: Request) -> Response:
    """Accept or reject an offer, a commitment asked of me, or a credit."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    decision = form.get("decision")
    try:
        if decision not in ("accept", "reject"):
            raise Problem(400, "answer accept or reject", field="decision")
        kind = "Accept" if decision == "accept" else "Reject"
        await post_to_outbox(
            svc, me.actor, {"type": kind, "object": form.text("object")}, acted_by=me.acted_by
        )
    except Problem as problem:
        return form_refused(svc, problem)
    return _done("accepted" if decision == "accept" else "rejected")


# Answering a proposal -----------------------------------------------------------------


async def _published(svc: Services, uri: str) -> dict[str, Any]:
    """A proposal as its proposer serves it: ours from the database, another's fetched
    (with no session open meanwhile)."""
    if not uri.startswith(("https://", "http://")) or len(uri) > 2048:
        raise Problem(400, "paste the address (URL) of the offer or request", field="proposal")
    if svc.urls.is_local(uri):
        async with svc.db.read() as session:
            row = await session.scalar(select(Proposal).where(Proposal.uri == uri))
            if row is None or row.state != "open":
                raise Problem(404, "there is no open proposal at that address", field="proposal")
            return proposal_document(row, await intents_of(session, row))
    try:
        document = await svc.peers.fetcher.fetch_object(uri)
    except FetchError as exc:
        raise Problem(502, f"cannot read that proposal: {exc}", field="proposal") from None
    if document.get("type") != "Proposal":
        raise Problem(422, "that address is not an offer or a request", field="proposal")
    return document


async def answer(request: Request) -> Response:
    svc = services(request)
    fields = ("proposal", "quantity", "form")
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return _to_login()
        uri = request.query_params.get("proposal", "").strip()
        published, errors = None, {}
        if uri:
            try:
                published = await _published(svc, uri)
            except Problem as problem:
                errors = _errors(problem, fields)
        values = {"proposal": uri}
        return _page(
            svc, request, "answer.html", me, published=published, values=values, errors=errors
        )
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    published = None
    try:
        published = await _published(svc, form.text("proposal"))
        quantity = parse_amount(form.get("quantity", ""))
        await post_to_outbox(
            svc, me.actor, offer_for_proposal(published, quantity), acted_by=me.acted_by
        )
    except Problem as problem:
        return _page(
            svc,
            request,
            "answer.html",
            me,
            status=problem.status,
            published=published,
            values=form,
            errors=_errors(problem, fields),
        )
    return _done("sent")


# Delivering and paying -----------------------------------------------------------------


async def fulfil(request: Request) -> Response:
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    uri = form.text("commitment")
    myself = svc.urls.actor(me.actor.username)
    async with svc.db.read() as session:
        commitment = await session.scalar(select(Commitment).where(Commitment.uri == uri))
        agreement = (
            await session.get(Agreement, commitment.agreement_id)
            if commitment is not None and commitment.agreement_id is not None
            else None
        )
    if commitment is None or commitment.provider != myself:
        return form_refused(svc, Problem(404, "that is not one of your commitments", field="form"))
    try:
        quantity = parse_amount(form.get("quantity", ""))
        event = fulfilment(commitment, quantity, agreement.uri if agreement else None)
        await post_to_outbox(svc, me.actor, event, acted_by=me.acted_by)
    except Problem as problem:
        async with svc.db.read() as session:
            row: Any = await session.get(Agreement, agreement.id) if agreement else None
            row = row or await session.get(Commitment, commitment.id)
            kind = "agreements" if agreement else "commitments"
            return await record_page(
                svc,
                session,
                kind,
                row,
                me,
                language=pick_language(request),
                errors=_errors(problem, ("quantity", "form")),
                values=form,
                status=problem.status,
            )
    return _done("recorded")


# Following -----------------------------------------------------------------------------


async def follow(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return _to_login()
        return _page(svc, request, "follow.html", me, values={}, errors={})
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    handle = form.text("handle", 300)
    try:
        if not handle:
            raise Problem(400, "give a handle such as @alice@coop.example", field="handle")
        scheme = svc.urls.base.split("://", 1)[0]
        try:
            actor = await resolve(svc.peers.fetcher, handle, scheme=scheme)
        except (WebFingerError, FetchError) as exc:
            raise Problem(502, f"cannot find {handle}: {exc}", field="handle") from None
        await post_to_outbox(
            svc, me.actor, {"type": "Follow", "object": actor}, acted_by=me.acted_by
        )
    except Problem as problem:
        return _page(
            svc,
            request,
            "follow.html",
            me,
            status=problem.status,
            values=form,
            errors=_errors(problem, ("handle", "form")),
        )
    return _done("followed")


# Tokens ----------------------------------------------------------------------------------


async def tokens(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return _to_login()
        async with svc.db.read() as session:
            agent = await session.get(Agent, me.agent.id)
            assert agent is not None
            rows = [(row, token_state(row)) for row in await list_tokens(session, agent)]
            apps = await applications(session, agent)
        names = {app.client_id: app.name for app in apps}
        return _page(svc, request, "tokens.html", me, tokens=rows, applications=apps, names=names)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    try:
        token_id = int(form.get("id", "")) if form.get("id", "").isdigit() else -1
        client_id = form.text("client_id", 64)
        async with svc.db.write() as session:
            agent = await session.get(Agent, me.agent.id)
            assert agent is not None
            if client_id:
                await revoke_application(session, agent, client_id)
            else:
                await revoke_token(session, token_id, agent=agent)
    except Problem as problem:
        return form_refused(svc, problem)
    return RedirectResponse("/app/tokens", status_code=303)


routes = [
    Route("/app/publish", publish, methods=["GET", "POST"]),
    Route("/app/withdraw", withdraw, methods=["POST"]),
    Route("/app/decide", decide, methods=["POST"]),
    Route("/app/answer", answer, methods=["GET", "POST"]),
    Route("/app/fulfil", fulfil, methods=["POST"]),
    Route("/app/follow", follow, methods=["GET", "POST"]),
    Route("/app/tokens", tokens, methods=["GET", "POST"]),
]
