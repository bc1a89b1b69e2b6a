"""Proposals, agreements, commitments, events and resources at their ids, and each
agent's collections of them.

Proposals addressed to the public are readable by anyone (and get a page in a
browser); everything else only by the clients of the agents it concerns, with their
bearer token. Anyone else gets a 404, which does not say whether the id exists.

Who is asking (a token, a signature) is worked out before the session that reads the
record opens, never inside it: checking a token opens a session of its own and
checking a signature may fetch a key, and a request holding one pooled connection
while it waits for another is how ten requests once stalled a pool of ten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from instance.auth import reader, require_owner
from instance.ledger.exchange import (
    agreement_document,
    commitment_json,
    intents_of,
    proposal_document,
)
from instance.ledger.fulfilment import event_document
from instance.ledger.resources import MUTUAL_CREDIT
from instance.negotiation import activity_response, negotiate
from instance.problems import Problem
from instance.services import Services, services
from instance.store.models import (
    Agent,
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Proposal,
    ResourceSpecification,
)
from instance.web.app.locales import pick_language
from instance.web.app.records import record_page
from instance.web.app.sessions import signed_in
from instance.web.collections import collection_response
from instance.web.pages import proposal_page
from vocab import Measure, outgoing_context

__all__ = ["resource_json", "routes"]


def _with_context(svc: Services, document: dict[str, Any]) -> dict[str, Any]:
    return {"@context": outgoing_context(svc.urls.base), **document}


def _hidden(request: Request) -> Problem:
    return Problem(404, f"nothing at {request.url.path}")


async def proposal(request: Request) -> Response:
    """A proposal of ours: a public one for anyone, another for its proposer only.

    Most are public and served from one session. A non-public one is looked up, then
    the reader is worked out with that session closed, then it is served from another.
    """
    svc = services(request)
    uri = svc.urls.base + request.url.path
    query = select(Proposal).where(Proposal.uri == uri, Proposal.agent_id.is_not(None))
    async with svc.db.read() as session:
        row = await session.scalar(query)
        if row is not None and row.public:
            return await _proposal_response(request, svc, session, row)
    if row is None or await reader(svc, request) != row.proposer:
        raise _hidden(request)
    async with svc.db.read() as session:
        row = await session.scalar(query)
        if row is None:
            raise _hidden(request)
        return await _proposal_response(request, svc, session, row)


async def _proposal_response(
    request: Request, svc: Services, session: AsyncSession, row: Proposal
) -> Response:
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


@dataclass(frozen=True)
class RecordKind:
    """One kind of ledger record: where its rows are, who its parties are (the only ones
    who may read it) and how it is written out."""

    name: str
    model: Any
    #: The agents (actor ids) that may read a row: its parties.
    parties: Callable[[AsyncSession, Services, Any], Awaitable[tuple[str | None, ...]]]
    #: Rows an agent is party to, for its collection.
    of_agent: Callable[[str, Agent], ColumnElement[bool]]
    render: Callable[[AsyncSession, Services, Any], Awaitable[dict[str, Any]]]


async def _render_agreement(
    session: AsyncSession, _svc: Services, row: Agreement
) -> dict[str, Any]:
    return agreement_document(row, await _agreement_commitments(session, row))


async def _render_commitment(_s: AsyncSession, _svc: Services, row: Commitment) -> dict[str, Any]:
    return commitment_json(row)


async def _render_event(_s: AsyncSession, _svc: Services, row: EconomicEvent) -> dict[str, Any]:
    return event_document(row)


async def _render_resource(
    session: AsyncSession, svc: Services, row: EconomicResource
) -> dict[str, Any]:
    owner = await session.get(Agent, row.agent_id)
    assert owner is not None
    return resource_json(svc, row, owner)


def _between(*names: str) -> Callable[[AsyncSession, Services, Any], Awaitable[tuple[str, ...]]]:
    async def parties(_s: AsyncSession, _svc: Services, row: Any) -> tuple[str, ...]:
        return tuple(getattr(row, name) for name in names)

    return parties


async def _owner(session: AsyncSession, svc: Services, row: EconomicResource) -> tuple[str | None]:
    owner = await session.get(Agent, row.agent_id)
    return (svc.urls.actor(owner.username) if owner else None,)


#: Collection name (and path segment of ids) -> the kind of record.
KINDS: dict[str, RecordKind] = {
    "agreements": RecordKind(
        "agreements",
        Agreement,
        _between("proposer", "counterparty"),
        lambda me, _agent: or_(Agreement.proposer == me, Agreement.counterparty == me),
        _render_agreement,
    ),
    "commitments": RecordKind(
        "commitments",
        Commitment,
        _between("provider", "receiver"),
        lambda me, _agent: or_(Commitment.provider == me, Commitment.receiver == me),
        _render_commitment,
    ),
    "events": RecordKind(
        "events",
        EconomicEvent,
        _between("provider", "receiver"),
        lambda me, _agent: or_(EconomicEvent.provider == me, EconomicEvent.receiver == me),
        _render_event,
    ),
    "resources": RecordKind(
        "resources",
        EconomicResource,
        _owner,
        lambda _me, agent: EconomicResource.agent_id == agent.id,
        _render_resource,
    ),
}


#: An agent's collections: the kinds of record it is party to, some narrowed down.
COLLECTIONS: dict[str, tuple[RecordKind, ColumnElement[bool] | None]] = {
    **{name: (kind, None) for name, kind in KINDS.items()},
    # What is still to be done: proposed or accepted, not finished, rejected or cancelled.
    "open-commitments": (
        KINDS["commitments"],
        Commitment.state.in_(("proposed", "accepted")),
    ),
}


async def _party_record(request: Request, kind: RecordKind, uri: str) -> Response:
    """The record ``uri`` of ``kind`` for one of its parties; a 404 for anyone else.

    Records are never public, so the reader is worked out first (no session open
    meanwhile); without one there is nothing to read."""
    svc = services(request)
    if negotiate(request) == "html":
        # A browser: the party is whoever is signed in (the Agent app's session).
        me = await signed_in(svc, request)
        if me is None:
            raise _hidden(request)
        async with svc.db.read() as session:
            row = await session.scalar(select(kind.model).where(kind.model.uri == uri))
            if row is None or svc.urls.actor(me.actor.username) not in await kind.parties(
                session, svc, row
            ):
                raise _hidden(request)
            return await record_page(
                svc, session, kind.name, row, me, language=pick_language(request)
            )
    viewer = await reader(svc, request)
    if viewer is None:
        raise _hidden(request)
    async with svc.db.read() as session:
        row = await session.scalar(select(kind.model).where(kind.model.uri == uri))
        if row is None or viewer not in await kind.parties(session, svc, row):
            raise _hidden(request)
        document = await kind.render(session, svc, row)
    return activity_response(request, _with_context(svc, document))


def _record_route(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        svc = services(request)
        return await _party_record(request, KINDS[name], svc.urls.base + request.url.path)

    serve.__name__ = f"serve_{name}"
    return serve


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
        if row.credit_limit is not None:
            unit = row.default_unit or "one"
            document["creditLimit"] = Measure(row.credit_limit, unit).to_json()
    return activity_response(request, _with_context(svc, document))


async def record(request: Request) -> Response:
    """This instance's record of an agreement, for a party (``?id=`` the agreement's
    id), whichever instance holds the canonical copy: what an audit compares."""
    uri = request.query_params.get("id", "")
    if not uri or len(uri) > 2048:
        raise Problem(400, "id= names the agreement", field="id")
    return await _party_record(request, KINDS["agreements"], uri)


async def record_page_for(request: Request) -> Response:
    """Our copy of any record a signed-in party holds, whichever instance minted its id
    (``/app/record?id=``): what the Agent app links to for another instance's records."""
    uri = request.query_params.get("id", "")
    if not uri or len(uri) > 2048:
        raise Problem(400, "id= names the record", field="id")
    svc = services(request)
    base = uri.split("#", 1)[0]
    async with svc.db.read() as session:
        if await session.scalar(select(Agreement.id).where(Agreement.uri == base)):
            name, uri = "agreements", base
        elif await session.scalar(select(Commitment.id).where(Commitment.uri == uri)):
            name = "commitments"
        elif await session.scalar(select(EconomicEvent.id).where(EconomicEvent.uri == uri)):
            name = "events"
        else:
            raise _hidden(request)
    return await _party_record(request, KINDS[name], uri)


# The agent's collections (its own client only) -------------------------------------------


async def agent_collection(request: Request) -> Response:
    svc = services(request)
    username, name = request.path_params["username"], request.path_params["collection"]
    agent = await require_owner(svc, request, username)
    if name not in COLLECTIONS:
        raise Problem(404, f"nothing at {request.url.path}")
    kind, narrower = COLLECTIONS[name]
    # Whole rows in the page's one query: loading them one by one afterwards cost a
    # round trip each (50 a page), most of a page's time (bench/ledger_reads.py).
    query = select(kind.model.id, kind.model).where(
        kind.of_agent(svc.urls.actor(agent.username), agent)
    )
    if narrower is not None:
        query = query.where(narrower)
    async with svc.db.read() as session:

        async def render(row: Any) -> Any:
            return await kind.render(session, svc, row)

        return await collection_response(
            request,
            session,
            svc.urls.agent_collection(username, name),
            query,
            kind.model.id,
            render=render,
        )


routes = [
    Route("/proposals/{id}", proposal),
    *(Route(f"/{name}/{{id}}", _record_route(name)) for name in KINDS),
    Route("/records", record),
    Route("/app/record", record_page_for),
    Route("/specs/{id}", specification),
    Route("/agents/{username}/{collection:str}", agent_collection),
]
