"""Distributions in the Agent app: a coordinator picks an income the organization
received and one of its value equations, reads who gets what (the preview ``oce
distribute --dry-run`` prints, computed by the same :func:`instance.coop.distributions.preview`),
and confirms; :func:`instance.coop.distributions.distribute` then pays everyone. An
income is distributed once, ever: the page says when it already was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.coop.defining import equations_of
from instance.coop.distributions import Outcome, Preview, distribute, distribution_of, preview
from instance.coop.memberships import has_role, settings_of
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import Agent, CoopDistribution, EconomicEvent
from instance.web.app.sessions import SignedIn, signed_in
from instance.web.routes.account import form_refused
from instance.web.routes.forms import _page, _posted, _to_login
from instance.web.routes.orgs import organization

__all__ = ["routes"]

#: Most incomes offered to choose from (newest first).
INCOME_LIMIT = 50


async def _may_distribute(svc: Services, me: SignedIn, org: Agent) -> None:
    if me.agent.id == org.id:
        return
    async with svc.db.read() as session:
        allowed = await has_role(
            session, svc.urls.actor(org.username), svc.urls.actor(me.agent.username), "coordinator"
        )
    if not allowed:
        raise Problem(
            403, f"only a coordinator of {org.username} runs its distributions", field="form"
        )


async def _page_for(
    svc: Services,
    request: Request,
    me: SignedIn,
    org: Agent,
    income: str,
    equation: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    done: bool = False,
) -> Response:
    org_uri = svc.urls.actor(org.username)
    errors = dict(errors or {})
    planned: Preview | None = None
    outcome: Outcome | None = None
    async with svc.db.read() as session:
        incomes = (
            await session.scalars(
                select(EconomicEvent)
                .where(
                    EconomicEvent.receiver == org_uri,
                    EconomicEvent.state == "applied",
                    EconomicEvent.resource_quantity.is_not(None),
                )
                .order_by(EconomicEvent.id.desc())
                .limit(INCOME_LIMIT)
            )
        ).all()
        distributed = set(
            await session.scalars(
                select(CoopDistribution.income_event).where(
                    CoopDistribution.income_event.in_([e.uri for e in incomes])
                )
            )
        )
        equations = [row.name for row in await equations_of(session, org)]
        quantum = Decimal(1).scaleb(-(await settings_of(session, org)).precision)
        if income:
            outcome = await distribution_of(session, income)
            if outcome is not None:  # written to the currency's precision, as previewed
                outcome.payments = [
                    (who, amount.quantize(quantum), event, state)
                    for who, amount, event, state in outcome.payments
                ]
            if outcome is None and equation and not errors:
                try:
                    planned = await preview(session, svc.urls, org, income, equation)
                except Problem as problem:
                    errors[problem.field if problem.field in ("income", "equation") else "form"] = (
                        problem.detail
                    )
                    status = problem.status
    return _page(
        svc,
        request,
        "distribute.html",
        me,
        status=status,
        org=org,
        incomes=incomes,
        distributed=distributed,
        equations=equations,
        values={"income": income, "equation": equation},
        errors=errors,
        planned=planned,
        outcome=outcome,
        done=done,
        quantum=quantum,
    )


async def distribution_page(request: Request) -> Response:
    """``/app/orgs/{username}/distribute?income=…&equation=…``: choose, then preview."""
    svc = services(request)
    me = await signed_in(svc, request)
    if me is None:
        return _to_login()
    org = await organization(svc, request.path_params["username"])
    try:
        await _may_distribute(svc, me, org)
    except Problem as problem:
        return form_refused(svc, problem)
    income = request.query_params.get("income", "").strip()[:2048]
    equation = request.query_params.get("equation", "").strip()[:100]
    done = request.query_params.get("done") == "1"
    return await _page_for(svc, request, me, org, income, equation, done=done)


async def run(request: Request) -> Response:
    """Confirm a previewed distribution: pay everyone (once, ever, per income)."""
    svc = services(request)
    posted = await _posted(svc, request)
    if isinstance(posted, Response):
        return posted
    me, form = posted
    org = await organization(svc, request.path_params["username"])
    income, equation = form.text("income", 2048), form.text("equation", 100)
    try:
        await _may_distribute(svc, me, org)
        await distribute(svc, org, income, equation, by=svc.urls.actor(me.agent.username))
    except Problem as problem:
        if problem.status == 403:
            return form_refused(svc, problem)
        field: Any = problem.field if problem.field in ("income", "equation") else "form"
        return await _page_for(
            svc,
            request,
            me,
            org,
            income,
            equation,
            status=problem.status,
            errors={field: problem.detail},
        )
    where = f"/app/orgs/{org.username}/distribute?income={quote(income, safe='')}&done=1"
    return RedirectResponse(where, status_code=303)


routes = [
    Route("/app/orgs/{username}/distribute", distribution_page),
    Route("/app/orgs/{username}/distribute/run", run, methods=["POST"]),
]
