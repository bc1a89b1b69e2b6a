"""A browser session acting for an organization (the header's switcher).

The switch is a cookie, ``oce_acting``, naming the session it belongs to and the
organization (``<session id>.<username>``); it grants nothing by itself. Every request
checks it again against the memberships: the person must still be an accepted
coordinator of that local organization, else the session acts as the person. Posts made
while switched go through :func:`instance.outbox.c2s.post_to_outbox` as the organization
with ``acted_by`` the person, so the organization's records keep who did it (the same
path as a coordinator's token, :mod:`instance.coop.acting`).
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from instance.services import Services
from instance.store.models import Agent, CoopMembership

__all__ = ["COOKIE", "acting_for", "clear_switch", "coordinated", "set_switch"]

COOKIE = "oce_acting"


async def coordinated(svc: Services, person: Agent) -> list[Agent]:
    """The local organizations ``person`` is an accepted coordinator of, by name."""
    async with svc.db.read() as session:
        rows = (
            await session.execute(
                select(CoopMembership.roles, Agent)
                .join(Agent, Agent.id == CoopMembership.organization_agent_id)
                .where(
                    CoopMembership.member_agent_id == person.id,
                    CoopMembership.state == "accepted",
                    CoopMembership.roles.contains("coordinator"),
                    Agent.kind == "Organization",
                )
                .order_by(Agent.username)
            )
        ).all()
    return [org for roles, org in rows if "coordinator" in roles.split()]


async def acting_for(
    svc: Services, request: Request, person: Agent, session_id: int
) -> tuple[Agent | None, tuple[str, ...]]:
    """The organization this browser session acts for (None: the person) and the
    organizations the person may switch to."""
    orgs = await coordinated(svc, person)
    wanted = request.cookies.get(COOKIE, "")[:200]
    owner, _, username = wanted.partition(".")
    acting = None
    if owner == str(session_id):
        acting = next((org for org in orgs if org.username == username), None)
    return acting, tuple(org.username for org in orgs)


def set_switch(svc: Services, response: Response, session_id: int, username: str) -> None:
    response.set_cookie(
        COOKIE,
        f"{session_id}.{username}",
        path="/",
        httponly=True,
        samesite="lax",
        secure=svc.urls.base.startswith("https://"),
    )


def clear_switch(svc: Services, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=svc.urls.base.startswith("https://"),
    )
