"""The collections this package adds: each post's ``likes``, ``shares`` and ``replies``, each
agent's ``featured`` posts (public, as the posts they belong to), and each agent's
``liked`` objects (its own client reads them all, anyone else those it liked in public)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.agents import require_agent
from instance.auth import client_agent
from instance.problems import Problem
from instance.services import services
from instance.store.models import FeaturedItem, Reaction, StoredObject
from instance.web.collections import collection_response

__all__ = ["routes"]


async def _reactions(request: Request, kind: str, suffix: str) -> Response:
    svc = services(request)
    post = f"{svc.urls.base}/objects/{request.path_params['id']}"
    async with svc.db.read() as session:
        row = await session.scalar(
            select(StoredObject).where(StoredObject.uri == post, StoredObject.agent_id.is_not(None))
        )
        if row is None or not row.public or row.deleted_at is not None:
            raise Problem(404, f"nothing at {request.url.path}")
        query = select(Reaction.id, Reaction.activity_uri).where(
            Reaction.object_uri == post, Reaction.kind == kind
        )
        return await collection_response(
            request, session, f"{post}/{suffix}", query, Reaction.id, title=f"{suffix} of {post}"
        )


async def likes(request: Request) -> Response:
    return await _reactions(request, "Like", "likes")


async def shares(request: Request) -> Response:
    return await _reactions(request, "Announce", "shares")


async def replies(request: Request) -> Response:
    """The public replies to one of our public posts, ours and other servers' alike."""
    svc = services(request)
    post = f"{svc.urls.base}/objects/{request.path_params['id']}"
    async with svc.db.read() as session:
        row = await session.scalar(
            select(StoredObject).where(StoredObject.uri == post, StoredObject.agent_id.is_not(None))
        )
        if row is None or not row.public or row.deleted_at is not None:
            raise Problem(404, f"nothing at {request.url.path}")
        query = select(StoredObject.id, StoredObject.uri).where(
            StoredObject.object_uri == post,
            StoredObject.is_activity.is_(False),
            StoredObject.public.is_(True),
            StoredObject.deleted_at.is_(None),
        )
        return await collection_response(
            request, session, f"{post}/replies", query, StoredObject.id, title=f"replies to {post}"
        )


async def featured(request: Request) -> Response:
    svc = services(request)
    username = request.path_params["username"]
    async with svc.db.read() as session:
        agent = await require_agent(session, username)
        query = select(FeaturedItem.id, FeaturedItem.object_uri).where(
            FeaturedItem.agent_id == agent.id
        )
        return await collection_response(
            request,
            session,
            f"{svc.urls.actor(username)}/featured",
            query,
            FeaturedItem.id,
            title=f"Featured by {agent.name or username}",
        )


async def liked(request: Request) -> Response:
    """What the agent liked, newest first (ActivityPub §5.5): the objects' ids."""
    svc = services(request)
    username = request.path_params["username"]
    viewer = await client_agent(svc, request)
    async with svc.db.read() as session:
        agent = await require_agent(session, username)
        query = select(Reaction.id, Reaction.object_uri).where(
            Reaction.agent_id == agent.id, Reaction.kind == "Like"
        )
        if viewer is None or viewer.id != agent.id:
            public = select(StoredObject.uri).where(
                StoredObject.agent_id == agent.id, StoredObject.public.is_(True)
            )
            query = query.where(Reaction.activity_uri.in_(public))
        return await collection_response(
            request,
            session,
            f"{svc.urls.actor(username)}/liked",
            query,
            Reaction.id,
            title=f"Liked by {agent.name or username}",
        )


routes = [
    Route("/objects/{id}/likes", likes),
    Route("/objects/{id}/shares", shares),
    Route("/objects/{id}/replies", replies),
    Route("/agents/{username}/featured", featured),
    Route("/agents/{username}/liked", liked),
]
