"""Proposals, agreements, commitments, events and resources at their ids, and each
agent's collections of them.

Proposals addressed to the public are readable by anyone (and get a page in a
browser); everything else only by the clients of the agents it concerns, with their
bearer token. Anyone else gets a 404, which does not say whether the id exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.auth import reader, require_owner
from instance.collections import collection_response
from instance.exchange import agreement_document, commitment_json, intents_of, proposal_document
from instance.fulfilment import event_document
from instance.ledger import MUTUAL_CREDIT
from instance.models import (
    Agent,
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Proposal,
    ResourceSpecification,
)
from instance.negotiation import activity_response, negotiate
from instance.pages import proposal_page
from instance.problems import Problem
from instance.services import Services, services
from vocab import Measure, outgoing_context

__all__ = ["resource_json", "routes"]


def _with_context(svc: Services, document: dict[str, Any]) -> dict[str, Any]:
    return {"@context": outgoing_context(svc.urls.base), **document}


async def _viewer(svc: Services, request: Request) -> str | None:
    return await reader(svc, request)


def _hidden(request: Request) -> Problem:
    return Problem(404, f"nothing at {request.url.path}")


async def proposal(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(
            select(Proposal).where(Proposal.uri == uri, Proposal.agent_id.is_not(None))
        )
        if row is None:
            raise _hidden(request)
        if not row.public and await _viewer(svc, request) != row.proposer:
            raise _hidden(request)
        intents = await intents_of(session, row)
        if negotiate(request) == "html":
            return await proposal_page(svc, session, row, intents)
    return activity_response(request, _with_context(svc, proposal_document(row, intents)))


async def _agreement_commitments(session: AsyncSession, row: Agreement) -> Sequence[Commitment]:
    return (
        await session.scalars(
            select(Commitment).where(Commitment.agreement_id == row.id).order_by(Commitment.id)
        )
    ).all()


async def agreement(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(Agreement).where(Agreement.uri == uri))
        if row is None or await _viewer(svc, request) not in (row.proposer, row.counterparty):
            raise _hidden(request)
        document = agreement_document(row, await _agreement_commitments(session, row))
    return activity_response(request, _with_context(svc, document))


async def commitment(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(Commitment).where(Commitment.uri == uri))
        if row is None or await _viewer(svc, request) not in (row.provider, row.receiver):
            raise _hidden(request)
    return activity_response(request, _with_context(svc, commitment_json(row)))


async def event(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(EconomicEvent).where(EconomicEvent.uri == uri))
        if row is None or await _viewer(svc, request) not in (row.provider, row.receiver):
            raise _hidden(request)
    return activity_response(request, _with_context(svc, event_document(row)))


def resource_json(svc: Services, row: EconomicResource, owner: Agent) -> dict[str, Any]:
    def measure(value: Any) -> dict[str, str]:
        return Measure(value, row.unit).to_json()

    document: dict[str, Any] = {
        "id": row.uri,
        "type": "EconomicResource",
        "name": row.name or None,
        "conformsTo": row.conforms_to,
        "primaryAccountable": svc.urls.actor(owner.username),
        "accountingQuantity": measure(row.accounting_quantity),
        "onhandQuantity": measure(row.onhand_quantity),
        "currentLocation": row.current_location,
    }
    return {key: value for key, value in document.items() if value is not None}


async def resource(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(select(EconomicResource).where(EconomicResource.uri == uri))
        owner = await session.get(Agent, row.agent_id) if row else None
        if (
            row is None
            or owner is None
            or await _viewer(svc, request) != svc.urls.actor(owner.username)
        ):
            raise _hidden(request)
    return activity_response(request, _with_context(svc, resource_json(svc, row, owner)))


async def specification(request: Request) -> Response:
    svc = services(request)
    uri = svc.urls.base + request.url.path
    async with svc.db.read() as session:
        row = await session.scalar(
            select(ResourceSpecification).where(ResourceSpecification.uri == uri)
        )
    if row is None:
        raise _hidden(request)
    document: dict[str, Any] = {"id": row.uri, "type": "ResourceSpecification", "name": row.name}
    if row.default_unit:
        document["defaultUnitOfResource"] = row.default_unit
    if row.mutual_credit:
        document["resourceClassifiedAs"] = [MUTUAL_CREDIT]
        document["mediumOfExchange"] = True
    return activity_response(request, _with_context(svc, document))


async def record(request: Request) -> Response:
    """This instance's record of an agreement, for a party (``?id=`` the agreement's
    id), whichever instance holds the canonical copy: what an audit compares."""
    svc = services(request)
    uri = request.query_params.get("id", "")
    if not uri or len(uri) > 2048:
        raise Problem(400, "id= names the agreement", field="id")
    async with svc.db.read() as session:
        row = await session.scalar(select(Agreement).where(Agreement.uri == uri))
        if row is None or await _viewer(svc, request) not in (row.proposer, row.counterparty):
            raise _hidden(request)
        document = agreement_document(row, await _agreement_commitments(session, row))
    return activity_response(request, _with_context(svc, document))


# The agent's collections (its own client only) -------------------------------------------


async def agent_collection(request: Request) -> Response:
    svc = services(request)
    username, name = request.path_params["username"], request.path_params["collection"]
    agent = await require_owner(svc, request, username)
    me = svc.urls.actor(agent.username)
    collection_id = svc.urls.agent_collection(username, name)
    async with svc.db.read() as session:
        if name == "agreements":
            query = select(Agreement.id, Agreement.id).where(
                or_(Agreement.proposer == me, Agreement.counterparty == me)
            )

            async def render(row_id: int) -> Any:
                row = await session.get(Agreement, row_id)
                assert row is not None
                return agreement_document(row, await _agreement_commitments(session, row))

        elif name == "commitments":
            query = select(Commitment.id, Commitment.id).where(
                or_(Commitment.provider == me, Commitment.receiver == me)
            )

            async def render(row_id: int) -> Any:
                row = await session.get(Commitment, row_id)
                assert row is not None
                return commitment_json(row)

        elif name == "resources":
            query = select(EconomicResource.id, EconomicResource.id).where(
                EconomicResource.agent_id == agent.id
            )

            async def render(row_id: int) -> Any:
                row = await session.get(EconomicResource, row_id)
                assert row is not None
                return resource_json(svc, row, agent)

        elif name == "events":
            query = select(EconomicEvent.id, EconomicEvent.id).where(
                or_(EconomicEvent.provider == me, EconomicEvent.receiver == me)
            )

            async def render(row_id: int) -> Any:
                row = await session.get(EconomicEvent, row_id)
                assert row is not None
                return event_document(row)

        else:
            raise Problem(404, f"nothing at {request.url.path}")
        return await collection_response(
            request, session, collection_id, query, _ROW_IDS[name], render=render
        )


_ROW_IDS: dict[str, Any] = {
    "agreements": Agreement.id,
    "commitments": Commitment.id,
    "resources": EconomicResource.id,
    "events": EconomicEvent.id,
}

routes = [
    Route("/proposals/{id}", proposal),
    Route("/agreements/{id}", agreement),
    Route("/records", record),
    Route("/commitments/{id}", commitment),
    Route("/events/{id}", event),
    Route("/resources/{id}", resource),
    Route("/specs/{id}", specification),
    Route("/agents/{username}/{collection:str}", agent_collection),
]
