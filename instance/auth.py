"""Who is asking: the agent a client's bearer token belongs to."""

from __future__ import annotations

from starlette.requests import Request

from instance.models import Agent
from instance.problems import Problem
from instance.services import Services
from instance.tokens import authenticate

__all__ = ["client_agent", "require_owner"]


async def client_agent(svc: Services, request: Request) -> Agent | None:
    """The agent whose token the request carries; None without one; 401 for a bad one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "expected Authorization: Bearer <token>", field="authorization")
    async with svc.db.read() as session:
        agent = await authenticate(session, token.strip())
    if agent is None:
        raise Problem(
            401,
            "the token is not valid",
            field="authorization",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return agent


async def require_owner(svc: Services, request: Request, username: str) -> Agent:
    """The agent ``username`` itself, proven by its token: 401 without, 403 for another."""
    agent = await client_agent(svc, request)
    if agent is None:
        raise Problem(
            401,
            f"reading or posting as {username} needs that agent's bearer token",
            field="authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if agent.username != username:
        raise Problem(403, f"this token belongs to {agent.username}, not {username}")
    return agent
