"""Acting for an organization: a coordinator's token posts to the organization's outbox.

The activity is published as the organization (signed with its key); the organization's
records keep which person did it (:class:`~instance.store.models.CoopAct`). Anyone else
is refused with 403 and a problem body saying why.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from instance.agents import require_agent
from instance.auth import client_agent
from instance.coop.memberships import has_role
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent, CoopAct

__all__ = ["acts_of", "outbox_poster"]


async def outbox_poster(
    svc: Services, request: Request, username: str
) -> tuple[Agent, Agent | None]:
    """Who posts to ``username``'s outbox: ``(agent, None)`` for its own token,
    ``(organization, coordinator)`` for a coordinator of that organization acting for it."""
    person = await client_agent(svc, request)
    if person is None:
        raise Problem(
            401,
            f"posting as {username} needs that agent's bearer token, or a coordinator's",
            field="authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if person.username == username:
        return person, None
    async with svc.db.read() as session:
        org = await require_agent(session, username)
        allowed = org.kind == "Organization" and await has_role(
            session, svc.urls.actor(username), svc.urls.actor(person.username), "coordinator"
        )
    if not allowed:
        what = (
            "is not an organization"
            if org.kind != "Organization"
            else "has not made them a coordinator"
        )
        raise Problem(
            403,
            f"this token belongs to {person.username}, who cannot act for {username}: "
            f"{username} {what}",
            field="authorization",
        )
    return org, person


async def acts_of(session: AsyncSession, org: Agent) -> Sequence[CoopAct]:
    """Every activity coordinators published for the organization, newest first."""
    return (
        await session.scalars(
            select(CoopAct)
            .where(CoopAct.organization_agent_id == org.id)
            .order_by(CoopAct.id.desc())
        )
    ).all()
