"""HTTP for cooperatives (instance/coop): an organization's ``members`` collection (JSON; the web
pages for organizations build on the plain functions of :mod:`instance.coop`)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.agents import require_agent
from instance.auth import reader
from instance.coop.memberships import has_role, settings_of
from instance.problems import Problem
from instance.services import services
from instance.store.models import CoopMembership
from instance.web.collections import collection_response

__all__ = ["members_url", "routes"]


def members_url(actor: str) -> str:
    return f"{actor}/members"


async def members(request: Request) -> Response:
    """The accepted members of an organization: for anyone, or (when the organization
    keeps them private) for its members only, by token or signed request."""
    svc = services(request)
    username = request.path_params["username"]
    org_uri = svc.urls.actor(username)
    who = await reader(svc, request)
    async with svc.db.read() as session:
        org = await require_agent(session, username)
        if org.kind != "Organization":
            raise Problem(404, f"{username} is not an organization and has no members")
        private = not (await settings_of(session, org)).members_public
        allowed = who is not None and (
            who == org_uri or await has_role(session, org_uri, who, "member")
        )
        if private and not allowed:
            raise Problem(
                403, f"{username} shows its members to its members only", field="authorization"
            )
        query = select(CoopMembership.id, CoopMembership.member).where(
            CoopMembership.organization == org_uri, CoopMembership.state == "accepted"
        )
        return await collection_response(
            request,
            session,
            members_url(org_uri),
            query,
            CoopMembership.id,
            title=f"Members of {org.name or username}",
        )


routes = [Route("/agents/{username}/members", members)]
