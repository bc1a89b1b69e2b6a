"""Our activities and objects at their ids: public ones for anyone, others for parties."""

from __future__ import annotations

import json

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.activities import addressees
from instance.auth import client_agent
from instance.negotiation import activity_response, negotiate
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import StoredObject
from instance.web.pages import stored_page

__all__ = ["routes"]


async def stored_document(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(
            select(StoredObject).where(StoredObject.uri == uri, StoredObject.agent_id.is_not(None))
        )
    if row is None:
        raise Problem(404, f"nothing at {request.url.path}")
    if row.deleted_at is not None:
        return await _respond(svc, request, row, status=410)
    if not row.public:
        viewer = await client_agent(svc, request)
        viewer_uri = svc.urls.actor(viewer.username) if viewer else None
        # Not public: only its author and the local agents it is addressed to may read
        # it; anyone else learns nothing, not even that it exists.
        if viewer is None or (
            viewer.id != row.agent_id and viewer_uri not in set(addressees(json.loads(row.body)))
        ):
            raise Problem(404, f"nothing at {request.url.path}")
    return await _respond(svc, request, row)


async def _respond(
    svc: Services, request: Request, row: StoredObject, *, status: int = 200
) -> Response:
    """The stored JSON, or its page for a browser."""
    if negotiate(request) == "html":
        async with svc.db.read() as session:
            return await stored_page(svc, session, row)
    return activity_response(request, row.body, status=status)


routes = [
    Route("/activities/{id}", stored_document),
    Route("/objects/{id}", stored_document),
    # The Note standing for a proposal on servers that do not speak ValueFlows.
    Route("/proposals/{id}/note", stored_document),
]
