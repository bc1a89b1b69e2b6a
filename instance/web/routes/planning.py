"""Plans, processes and recipes at their ids; trace and track of resources.

A plan (with where it stands, ``oce:progress``) and its processes are readable by its
author and by the agents its commitments name; a recipe by anyone. Who is asking is
worked out before a session opens (see :mod:`instance.web.routes.ledger`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import FetchError, HttpSignatureAuth, SafeFetcher, load_private_key
from instance.auth import reader, require_owner
from instance.handlers.recipes import plan_recipe
from instance.inbox.receive import parse_json_object, read_body
from instance.negotiation import activity_response
from instance.planning.progress import plan_progress
from instance.planning.trace import MAX_DEPTH, Direction, walk
from instance.problems import Problem
from instance.services import services
from instance.store.models import Agent, Commitment, Plan, Process, Recipe
from vocab import jsontext, outgoing_context

__all__ = ["routes"]


def _hidden(request: Request) -> Problem:
    return Problem(404, f"nothing at {request.url.path}")


async def _may_read(session: Any, plan: Plan, viewer: str) -> bool:
    if viewer == plan.author:
        return True
    party = await session.scalar(
        select(Commitment.id)
        .where(
            Commitment.planned_within == plan.uri,
            or_(Commitment.provider == viewer, Commitment.receiver == viewer),
        )
        .limit(1)
    )
    return party is not None


async def plan(request: Request) -> Response:
    svc = services(request)
    viewer = await reader(svc, request)
    if viewer is None:
        raise _hidden(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(Plan).where(Plan.uri == uri, Plan.agent_id.is_not(None)))
        if row is None or not await _may_read(session, row, viewer):
            raise _hidden(request)
        document: dict[str, Any] = json.loads(row.body)
        document["oce:progress"] = await plan_progress(session, row)
    return activity_response(request, {"@context": outgoing_context(svc.urls.base), **document})


async def process(request: Request) -> Response:
    svc = services(request)
    viewer = await reader(svc, request)
    if viewer is None:
        raise _hidden(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(Process).where(Process.uri == uri))
        owner = await session.get(Plan, row.plan_id) if row and row.plan_id else None
        if row is None or owner is None or owner.agent_id is None:
            raise _hidden(request)
        if not await _may_read(session, owner, viewer):
            raise _hidden(request)
        progress = await plan_progress(session, owner)
    mine = next(p for p in progress["processes"] if p["id"] == uri)
    document = {
        "@context": outgoing_context(svc.urls.base),
        "id": uri,
        "type": "Process",
        "name": row.name,
        "plannedWithin": owner.uri,
        "finished": row.finished,
        "hasInput": [flow["id"] for flow in mine["inputs"]],
        "hasOutput": [flow["id"] for flow in mine["outputs"]],
        "oce:events": mine["events"],
        # Which way each event goes, so a trace or track from another instance follows
        # only the right ones.
        "oce:inputEvents": mine["inputEvents"],
        "oce:outputEvents": mine["outputEvents"],
    }
    return activity_response(request, document)


async def recipe(request: Request) -> Response:
    """A recipe: public, so peers can plan from it."""
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        body = await session.scalar(select(Recipe.body).where(Recipe.uri == uri))
    if body is None:
        raise _hidden(request)
    document = {"@context": outgoing_context(svc.urls.base), **json.loads(body)}
    return activity_response(request, document)


async def from_recipe(request: Request) -> Response:
    """``POST /agents/{username}/plans/from-recipe``: the agent's client asks for a plan
    made from a recipe (ours or a peer's); it is posted as the agent's Create{Plan}."""
    svc = services(request)
    agent = await require_owner(svc, request, request.path_params["username"])
    wanted = parse_json_object(await read_body(request, svc.settings.max_body_bytes))
    stored = await plan_recipe(svc, agent, wanted)
    response = activity_response(request, stored.body, status=201)
    response.headers["Location"] = stored.uri
    return response


async def _walk(request: Request, direction: Direction) -> Response:
    """``/resources/{id}/trace`` (or ``/track``, and the same under ``/events``): the
    walk as the reader may see it; ``?depth=`` bounds it (at most 20)."""
    svc = services(request)
    viewer = await reader(svc, request)
    if viewer is None:
        raise _hidden(request)
    kind = request.url.path.split("/")[1]
    start = f"{svc.urls.base}/{kind}/{request.path_params['id']}"
    depth_text = request.query_params.get("depth", "10")
    if not depth_text.isdigit() or not 1 <= int(depth_text) <= MAX_DEPTH:
        raise Problem(400, f"depth is a whole number from 1 to {MAX_DEPTH}", field="depth")
    username = svc.urls.username_of(viewer)
    agent = None
    if username is not None:
        async with svc.db.read() as session:
            agent = await session.scalar(select(Agent).where(Agent.username == username))
    fetcher = (
        SafeFetcher(
            svc.http,
            HttpSignatureAuth(
                svc.urls.key(agent.username), load_private_key(agent.private_key_pem)
            ),
            allow_private_network=svc.settings.allow_private_network,
            parse_json=jsontext.loads,
        )
        if agent is not None
        else None
    )

    async def fetch(uri: str) -> dict[str, Any] | None:
        if fetcher is None:
            return None  # a remote viewer reads other instances' records itself
        try:
            return await fetcher.fetch_object(uri)
        except FetchError:
            return None

    found = await walk(
        start,
        direction,
        viewer=viewer,
        urls=svc.urls,
        read=svc.db.read,
        fetch=fetch,
        max_depth=int(depth_text),
    )
    if not found.nodes or found.nodes[0].get("readable") is False:
        raise _hidden(request)
    return JSONResponse(found.to_json())


async def trace(request: Request) -> Response:
    return await _walk(request, "trace")


async def track(request: Request) -> Response:
    return await _walk(request, "track")


routes = [
    Route("/resources/{id}/trace", trace),
    Route("/resources/{id}/track", track),
    Route("/events/{id}/trace", trace),
    Route("/events/{id}/track", track),
    Route("/plans/{id}", plan),
    Route("/processes/{id}", process),
    Route("/recipes/{id}", recipe),
    Route("/agents/{username}/plans/from-recipe", from_recipe, methods=["POST"]),
]
