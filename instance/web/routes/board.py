"""Plans in the Agent app: a plan as a board (its processes as columns, their
commitments as cards) and "log work" on a card; trace and track as a page.

The board is the plan's progress (:func:`instance.planning.progress.plan_progress`, what
the plan's JSON carries as ``oce:progress``), readable by the plan's author and the
agents its commitments name. Logging work posts, through
:func:`instance.outbox.c2s.post_to_outbox`, a ``work`` event that fulfils the card's
commitment (and is an input of its process), as the person or the organization the
session acts for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import FetchError, HttpSignatureAuth, SafeFetcher, load_private_key
from instance.outbox.c2s import post_to_outbox
from instance.planning.progress import plan_progress
from instance.planning.trace import MAX_DEPTH, Direction, walk
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Commitment, Plan
from instance.web.app.documents import parse_amount
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.routes.account import form_refused
from instance.web.routes.forms import _page, _posted, _to_login
from instance.web.routes.planning import _may_read
from vocab import jsontext

__all__ = ["routes"]

#: Most plans listed.
PLAN_LIMIT = 100


def _hidden() -> Problem:
    return Problem(404, "there is no plan at that address that you may read", field="id")


async def plans(request: Request) -> Response:
    """``/app/plans``: the plans I made or have a commitment in."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    myself = svc.urls.actor(me.actor.username)
    async with svc.db.read() as session:
        mine = select(Commitment.planned_within).where(
            or_(Commitment.provider == myself, Commitment.receiver == myself),
            Commitment.planned_within.is_not(None),
        )
        rows = (
            await session.scalars(
                select(Plan)
                .where(or_(Plan.author == myself, Plan.uri.in_(mine)))
                .order_by(Plan.id.desc())
                .limit(PLAN_LIMIT)
            )
        ).all()
    return _page(svc, request, "plans.html", me, plans=rows)


async def _board(
    svc: Services,
    request: Request,
    me: SignedIn,
    uri: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    viewer = svc.urls.actor(me.actor.username)
    async with svc.db.read() as session:
        row = await session.scalar(select(Plan).where(Plan.uri == uri))
        if row is None or not await _may_read(session, row, viewer):
            raise _hidden()
        progress = await plan_progress(session, row)
    return _page(
        svc,
        request,
        "board.html",
        me,
        status=status,
        plan=row,
        progress=progress,
        viewer=viewer,
        errors=errors or {},
        values=values or {},
        notice=notice,
    )


async def board(request: Request) -> Response:
    """``/app/plan?id=…``: the plan as a board."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    uri = request.query_params.get("id", "").strip()[:2048]
    notice = "Recorded." if request.query_params.get("done") == "logged" else ""
    return await _board(svc, request, me, uri, notice=notice)


async def log_work(request: Request) -> Response:
    """Log hours of work on a card: a work event fulfilling that commitment."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    uri = form.text("commitment", 2048)
    myself = svc.urls.actor(me.actor.username)
    async with svc.db.read() as session:
        commitment = await session.scalar(select(Commitment).where(Commitment.uri == uri))
    if (
        commitment is None
        or commitment.provider != myself
        or commitment.action != "work"
        or commitment.planned_within is None
    ):
        return form_refused(
            svc, Problem(404, "that is not a work commitment of yours in a plan", field="form")
        )
    key = f"hours@{uri}"
    try:
        hours = parse_amount(form.get("hours", ""), "hours")
        event: dict[str, Any] = {
            "type": "EconomicEvent",
            "action": "work",
            "provider": myself,
            "receiver": commitment.receiver,
            "fulfills": commitment.uri,
            "effortQuantity": {
                "hasUnit": commitment.unit or "hour",
                "hasNumericalValue": str(hours),
            },
        }
        if commitment.input_of:
            event["inputOf"] = commitment.input_of
        if commitment.resource_conforms_to:
            event["resourceConformsTo"] = commitment.resource_conforms_to
        await post_to_outbox(svc, me.actor, event, acted_by=me.acted_by)
    except Problem as problem:
        return await _board(
            svc,
            request,
            me,
            commitment.planned_within,
            status=problem.status,
            errors={key: problem.detail},
            values={key: form.get("hours", "")},
        )
    where = f"/app/plan?id={quote(commitment.planned_within, safe='')}&done=logged"
    return RedirectResponse(where, status_code=303)


async def trace_page(request: Request) -> Response:
    """``/app/trace?id=…&direction=trace|track``: where a resource or event came from, or
    where it went, as far as the reader may read (the walk the JSON routes serve)."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    start = request.query_params.get("id", "").strip()[:2048]
    wanted = request.query_params.get("direction", "trace")
    direction: Direction = "track" if wanted == "track" else "trace"
    viewer = svc.urls.actor(me.actor.username)
    found: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    if start:
        # Other instances' records are read as the viewer, as the JSON routes do.
        fetcher = SafeFetcher(
            svc.http,
            HttpSignatureAuth(
                svc.urls.key(me.actor.username), load_private_key(me.actor.private_key_pem)
            ),
            allow_private_network=svc.settings.allow_private_network,
            parse_json=jsontext.loads,
        )

        async def fetch(uri: str) -> dict[str, Any] | None:
            try:
                return await fetcher.fetch_object(uri)
            except FetchError:
                return None

        walked = await walk(
            start,
            direction,
            viewer=viewer,
            urls=svc.urls,
            read=svc.db.read,
            fetch=fetch,
            max_depth=MAX_DEPTH // 2,
        )
        if not walked.nodes or walked.nodes[0].get("readable") is False:
            errors["id"] = "there is nothing at that address that you may read"
        else:
            found = walked.to_json()
    return _page(
        svc,
        request,
        "trace.html",
        me,
        status=404 if errors else 200,
        found=found,
        direction=direction,
        values={"id": start},
        errors=errors,
    )


routes = [
    Route("/app/plans", plans),
    Route("/app/plan", board),
    Route("/app/plan/work", log_work, methods=["POST"]),
    Route("/app/trace", trace_page),
]
