"""Actor documents, their HTML profiles, and their followers/following/outbox collections."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from instance.agents import instance_key, list_agents, require_agent
from instance.links import aliases as linked_actors
from instance.negotiation import activity_response, negotiate
from instance.problems import Problem
from instance.services import services
from instance.store.models import Agent, AgentAvatar, AgentMove, AgentTombstone, Follow
from instance.web.collections import collection_response
from instance.web.documents import (
    actor_context,
    agent_document,
    instance_actor_document,
    summary_html,
)
from instance.web.pages import agent_proposals, render_page

__all__ = ["routes"]


async def _count(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(Follow).where(*where)) or 0)


def _followers_of(agent: Agent) -> tuple[ColumnElement[bool], ...]:
    return (Follow.followee_agent_id == agent.id, Follow.state == "accepted")


def _following_of(agent: Agent) -> tuple[ColumnElement[bool], ...]:
    return (Follow.follower_agent_id == agent.id, Follow.state == "accepted")


async def home(request: Request) -> Response:
    svc = services(request)
    async with svc.db.read() as session:
        agents = await list_agents(session)
    return render_page(svc, "home.html", agents=agents)


def _gone(request: Request, agent: Agent, tombstone: AgentTombstone) -> Response:
    """A deleted agent: 410 with its Tombstone (JSON), or a page saying so."""
    svc = services(request)
    actor_id = svc.urls.actor(agent.username)
    if negotiate(request) == "html":
        problem = Problem(410, f"{actor_id} was deleted.", title="Gone")
        return render_page(svc, "problem.html", status=410, problem=problem)
    document = {
        "@context": actor_context(svc.urls),
        "id": actor_id,
        "type": "Tombstone",
        "formerType": tombstone.former_type,
        "deleted": tombstone.deleted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return activity_response(request, document, status=410)


async def actor(request: Request) -> Response:
    svc = services(request)
    async with svc.db.read() as session:
        agent = await require_agent(session, request.path_params["username"])
        tombstone = await session.scalar(
            select(AgentTombstone).where(AgentTombstone.agent_id == agent.id)
        )
        if tombstone is not None:
            return _gone(request, agent, tombstone)
        avatar = await session.get(AgentAvatar, agent.id)
        move = await session.get(AgentMove, agent.id)
        if negotiate(request) != "html":
            linked = await linked_actors(session, agent)
            document = agent_document(svc.urls, agent, move, linked, avatar)
            return activity_response(request, document)
        if move is not None and move.moved_to:
            # As Mastodon does: a person opening the old profile lands on the new one.
            # Not permanent (301): the agent may move on again.
            return RedirectResponse(move.moved_to, status_code=302)
        followers = await _count(session, *_followers_of(agent))
        following = await _count(session, *_following_of(agent))
        proposals = await agent_proposals(session, agent)
    return render_page(
        svc,
        "agent.html",
        agent=agent,
        actor_id=svc.urls.actor(agent.username),
        summary_html=summary_html(agent.summary),
        avatar=agent_document(svc.urls, agent, avatar=avatar).get("icon"),
        followers=followers,
        followers_word="follower" if followers == 1 else "followers",
        following=following,
        offers=proposals["offer"],
        requests=proposals["request"],
    )


async def avatar(request: Request) -> Response:
    """An agent's picture, as uploaded (its URL names its digest: cached for good)."""
    svc = services(request)
    async with svc.db.read() as session:
        agent = await require_agent(session, request.path_params["username"])
        picture = await session.get(AgentAvatar, agent.id)
    if picture is None or request.path_params["digest"] != picture.digest[:16]:
        raise Problem(404, "no such picture")
    return Response(
        picture.body,
        media_type=picture.media_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Disposition": "inline",
        },
    )


async def instance_actor(request: Request) -> Response:
    svc = services(request)
    async with svc.db.read() as session:
        key = await instance_key(session)
    return activity_response(
        request, instance_actor_document(svc.urls, key, svc.settings.instance_name)
    )


async def _follow_collection(request: Request, *, followers: bool) -> Response:
    svc = services(request)
    username = request.path_params["username"]
    collection_id = svc.urls.followers(username) if followers else svc.urls.following(username)
    async with svc.db.read() as session:
        agent = await require_agent(session, username)
        where = _followers_of(agent) if followers else _following_of(agent)
        column = Follow.follower if followers else Follow.followee
        query = select(Follow.id, column).where(*where)
        name = agent.name or agent.username
        title = f"Following {name}" if followers else f"Followed by {name}"
        return await collection_response(
            request, session, collection_id, query, Follow.id, title=title
        )


async def followers(request: Request) -> Response:
    return await _follow_collection(request, followers=True)


async def following(request: Request) -> Response:
    return await _follow_collection(request, followers=False)


routes = [
    Route("/", home),
    Route("/actor", instance_actor),
    Route("/agents/{username}", actor),
    Route("/agents/{username}/avatar/{digest:str}", avatar),
    Route("/agents/{username}/followers", followers),
    Route("/agents/{username}/following", following),
]
