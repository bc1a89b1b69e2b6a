"""Inboxes and outboxes: server-to-server delivery and client-to-server access."""

from __future__ import annotations

import json

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.agents import require_agent
from instance.auth import client_agent, require_owner
from instance.coop.acting import outbox_poster
from instance.inbox.receive import check_rate, parse_json_object, read_body, receive_activity
from instance.negotiation import activity_response
from instance.outbox.c2s import post_to_outbox
from instance.services import services
from instance.store.models import InboxEntry, StoredObject
from instance.web.collections import collection_response

__all__ = ["routes"]


async def shared_inbox(request: Request) -> Response:
    return await receive_activity(services(request), request, None)


async def agent_inbox(request: Request) -> Response:
    svc = services(request)
    username = request.path_params["username"]
    if request.method == "GET":
        return await _read_inbox(request, username)
    check_rate(svc, request)  # before anything is looked up
    async with svc.db.read() as session:
        agent = await require_agent(session, username)
    return await receive_activity(svc, request, agent.id)


async def _read_inbox(request: Request, username: str) -> Response:
    """An agent's inbox, for its own client only (newest first)."""
    svc = services(request)
    agent = await require_owner(svc, request, username)
    query = (
        select(InboxEntry.id, StoredObject.body)
        .join(StoredObject, StoredObject.id == InboxEntry.object_id)
        .where(InboxEntry.agent_id == agent.id)
    )
    async with svc.db.read() as session:
        return await collection_response(
            request,
            session,
            svc.urls.inbox(username),
            query,
            InboxEntry.id,
            json.loads,
            title=f"Inbox of {agent.name or agent.username}",
        )


async def outbox(request: Request) -> Response:
    """GET: the agent's activities (all of them for its own client, public ones for
    anyone else). POST: the agent's client publishes an activity (201 + Location)."""
    svc = services(request)
    username = request.path_params["username"]
    if request.method == "POST":
        agent, acting = await outbox_poster(svc, request, username)
        document = parse_json_object(await read_body(request, svc.settings.max_body_bytes))
        stored = await post_to_outbox(svc, agent, document, acted_by=acting)
        response = activity_response(request, stored.body, status=201)
        response.headers["Location"] = stored.uri
        return response
    viewer = await client_agent(svc, request)
    async with svc.db.read() as session:
        agent = await require_agent(session, username)
        query = select(StoredObject.id, StoredObject.body).where(
            StoredObject.agent_id == agent.id, StoredObject.is_activity.is_(True)
        )
        if viewer is None or viewer.id != agent.id:
            query = query.where(StoredObject.public.is_(True))
        return await collection_response(
            request,
            session,
            svc.urls.outbox(username),
            query,
            StoredObject.id,
            json.loads,
            title=f"Activities of {agent.name or agent.username}",
        )


routes = [
    Route("/inbox", shared_inbox, methods=["POST"]),
    Route("/agents/{username}/inbox", agent_inbox, methods=["GET", "POST"]),
    Route("/agents/{username}/outbox", outbox, methods=["GET", "POST"]),
]
