"""Defining value equations: posted by an organization (a coordinator acting for it)
through its outbox, ``Create`` or ``Update`` of a ``ValueEquation``, or given to
``oce equation create ORG FILE``. They stay private to the organization."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import object_of
from instance.coop.equations import Equation, equation_document, read_equation
from instance.coop.memberships import require_organization
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.problems import Problem
from instance.store.models import Agent, CoopEquation, utcnow
from instance.urls import Urls

__all__ = ["equation_named", "equations_of", "save_equation"]


async def save_equation(
    session: AsyncSession, urls: Urls, org: Agent, document: dict[str, Any], *, replace: bool
) -> CoopEquation:
    """Check and store an equation; a new one's name must be free, a replaced one's taken."""
    require_organization(org)
    equation = read_equation(document)
    row = await session.scalar(
        select(CoopEquation).where(
            CoopEquation.organization_agent_id == org.id, CoopEquation.name == equation.name
        )
    )
    body = json.dumps(equation_document(equation), ensure_ascii=False, sort_keys=True)
    if row is None:
        if replace:
            raise Problem(404, f"{org.username} has no equation {equation.name!r}", field="name")
        row = CoopEquation(
            uri=urls.new_object("equations"),
            organization_agent_id=org.id,
            name=equation.name,
            body=body,
        )
        session.add(row)
    elif not replace:
        raise Problem(
            409, f"{org.username} already has an equation {equation.name!r}", field="name"
        )
    else:
        row.body, row.updated_at = body, utcnow()
    await session.flush()
    return row


async def equation_named(session: AsyncSession, org: Agent, name: str) -> Equation:
    row = await session.scalar(
        select(CoopEquation).where(
            CoopEquation.organization_agent_id == org.id, CoopEquation.name == name
        )
    )
    if row is None:
        raise Problem(404, f"{org.username} has no value equation {name!r}", field="equation")
    return read_equation(json.loads(row.body))


async def equations_of(session: AsyncSession, org: Agent) -> Sequence[CoopEquation]:
    return (
        await session.scalars(
            select(CoopEquation)
            .where(CoopEquation.organization_agent_id == org.id)
            .order_by(CoopEquation.name)
        )
    ).all()


@outbox_handler("Create", "ValueEquation")
@outbox_handler("Update", "ValueEquation")
async def post_equation(sub: Submission) -> Posted:
    document = object_of(sub.activity)
    if not isinstance(document, dict):
        raise Problem(400, "the activity carries the ValueEquation itself", field="object")
    if sub.agent.kind != "Organization":
        raise Problem(422, "value equations belong to organizations", field="actor")
    read_equation(document)  # refuse before anything is stored
    replace = sub.activity["type"] == "Update"
    svc, org = sub.svc, sub.agent
    sub.activity.pop("to", None)
    sub.activity.pop("cc", None)

    async def store(session: AsyncSession) -> None:
        row = await save_equation(session, svc.urls, org, document, replace=replace)
        sub.activity["object"] = {
            **equation_document(read_equation(json.loads(row.body))),
            "id": row.uri,
            "attributedTo": sub.actor,
        }

    return Posted(sub.activity, effects=store)
