"""Logging hours of work, and correcting an event, from the app.

Both post an ``EconomicEvent`` through the outbox, as a client would: a ``work`` event
with its ``effortQuantity`` in hours (fulfilling one of my commitments, in scope of an
organization I belong to, when chosen), and a correction (an event that ``corrects``
the original by a negative quantity, with the ledger's rules of
:mod:`instance.ledger.corrections`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.outbox.c2s import post_to_outbox
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Commitment, CoopMembership, EconomicEvent
from instance.web.app import csrf
from instance.web.app.documents import FORM_FIELDS, correction, parse_amount, work_event
from instance.web.app.formatting import Format
from instance.web.app.forms import Form, read_form
from instance.web.app.locales import pick_language
from instance.web.app.records import record_page
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.pages import render_page
from instance.web.routes.account import form_refused

__all__ = ["routes"]

WORK_FIELDS = ("hours", "commitment", "organization", "kind", "note", "form")


def _field(problem: Problem, fields: Sequence[str], quantity: str) -> dict[str, str]:
    name = (problem.field or "form").split(".")[-1].split("/")[-1]
    name = name if name in fields else FORM_FIELDS.get(name, "form")
    if name == "quantity":
        name = quantity
    return {name if name in fields else "form": problem.detail}


async def _choices(svc: Services, me: SignedIn) -> tuple[list[Commitment], list[str]]:
    """My open commitments to work, and the organizations I am a member of."""
    myself = svc.urls.actor(me.agent.username)
    async with svc.db.read() as session:
        commitments = (
            await session.scalars(
                select(Commitment)
                .where(
                    Commitment.provider == myself,
                    Commitment.action == "work",
                    Commitment.state == "accepted",
                )
                .order_by(Commitment.id.desc())
                .limit(100)
            )
        ).all()
        organizations = (
            await session.scalars(
                select(CoopMembership.organization)
                .where(CoopMembership.member == myself, CoopMembership.state == "accepted")
                .order_by(CoopMembership.organization)
                .limit(100)
            )
        ).all()
    return list(commitments), list(organizations)


async def _posted(svc: Services, request: Request) -> tuple[SignedIn, Form] | Response:
    me = await signed_in(svc, request)
    try:
        form = await read_form(request)
        if me is None:
            raise Problem(403, "you are not signed in: sign in and try again", field=csrf.FIELD)
        csrf.check_token(me.csrf, form.get(csrf.FIELD, ""))
    except Problem as problem:
        return form_refused(svc, problem)
    return me, form


async def _work_page(
    svc: Services,
    request: Request,
    me: SignedIn,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    commitments, organizations = await _choices(svc, me)
    language = pick_language(request)
    response = render_page(
        svc,
        "work.html",
        status=status,
        language=language,
        me=me,
        fmt=Format(svc.urls, language),
        values=values or {},
        errors=errors or {},
        commitments=commitments,
        organizations=organizations,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def log_work(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        me = await signed_in(svc, request)
        if me is None:
            return RedirectResponse("/login", status_code=303)
        return await _work_page(svc, request, me)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    try:
        hours = parse_amount(form.get("hours", ""), "hours")
        commitments, organizations = await _choices(svc, me)
        chosen = form.text("commitment")
        commitment = next((c for c in commitments if c.uri == chosen), None)
        if chosen and commitment is None:
            raise Problem(400, "that is not one of your open commitments", field="commitment")
        organization = form.text("organization")
        if organization and organization not in organizations:
            raise Problem(400, "you are not a member of that organization", field="organization")
        kind = form.text("kind")
        if kind and not kind.startswith(("https://", "http://")):
            raise Problem(400, "the kind of work is an address (URL)", field="kind")
        event = work_event(
            svc.urls.actor(me.agent.username),
            hours,
            commitment=commitment,
            organization=organization or None,
            kind=kind,
            note=form.text("note", 1000),
        )
        await post_to_outbox(svc, me.agent, event)
    except Problem as problem:
        return await _work_page(
            svc,
            request,
            me,
            status=problem.status,
            values=form,
            errors=_field(problem, WORK_FIELDS, "hours"),
        )
    return RedirectResponse("/dashboard?done=recorded", status_code=303)


async def correct(request: Request) -> Response:
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    uri = form.text("event")
    myself = svc.urls.actor(me.agent.username)
    async with svc.db.read() as session:
        row = await session.scalar(select(EconomicEvent).where(EconomicEvent.uri == uri))
    if row is None or row.provider != myself:
        return form_refused(svc, Problem(404, "that is not one of your events", field="event"))
    try:
        amount = parse_amount(form.get("quantity", ""))
        await post_to_outbox(svc, me.agent, correction(row, amount))
    except Problem as problem:
        values: dict[str, Any] = dict(form)
        async with svc.db.read() as session:
            found = await session.get(EconomicEvent, row.id)
            return await record_page(
                svc,
                session,
                "events",
                found,
                me,
                language=pick_language(request),
                errors=_field(problem, ("quantity", "form"), "quantity"),
                values=values,
                status=problem.status,
            )
    return RedirectResponse("/dashboard?done=recorded", status_code=303)


routes = [
    Route("/app/work", log_work, methods=["GET", "POST"]),
    Route("/app/correct", correct, methods=["POST"]),
]
