"""Track and trace: where a resource came from (trace) and where it went (track).

The walk goes resource -> events -> processes -> events -> resources, backwards for a
trace (what was produced into it, a process's inputs, what a transfer drew on) and
forwards for a track (what consumed or moved it, a process's outputs, where a transfer
took it). Records of this instance are read from its tables; ids on other instances
are read from there with a GET signed by the viewer, so each instance decides what the
viewer may see. A node the viewer may not read is listed with ``readable: false`` and
the reason, and the walk stops there instead of failing. Cycles are cut (each id is
visited once), and the depth, the number of nodes and of remote reads, and the time
the remote reads take together, are bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import first_type, id_of
from instance.store.models import Agent, Commitment, EconomicEvent, EconomicResource
from instance.store.models import Plan as PlanRow
from instance.store.models import Process as ProcessRow
from instance.urls import Urls
from vocab import Measure

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_REMOTE", "REMOTE_TIME", "Walk", "walk"]

Direction = Literal["trace", "track"]
MAX_DEPTH = 20
MAX_NODES = 500
MAX_REMOTE = 20
#: Seconds all the remote reads of one walk may take together.
REMOTE_TIME = 15.0

#: Reads a remote id as the viewer (a signed GET); None when it may not be read.
Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]
#: Opens a read session (the walk holds one only while it reads a local record).
Reader = Callable[[], Any]


@dataclass
class Walk:
    """The nodes and links found, as JSON for clients."""

    start: str
    direction: Direction
    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "direction": self.direction,
            "nodes": self.nodes,
            "links": self.links,
            "truncated": self.truncated,
        }


def _quantity(value: Any, unit: str | None) -> dict[str, str] | None:
    return Measure(value, unit).to_json() if value is not None and unit else None


async def _local_resource(
    session: AsyncSession, urls: Urls, uri: str, viewer: str, direction: Direction
) -> tuple[dict[str, Any], list[str]]:
    row = await session.scalar(select(EconomicResource).where(EconomicResource.uri == uri))
    if row is None:
        return {"id": uri, "readable": False, "reason": "not recorded here"}, []
    owner = await session.get(Agent, row.agent_id)
    owner_uri = urls.actor(owner.username) if owner else None
    node = {
        "id": uri,
        "type": "EconomicResource",
        "conformsTo": row.conforms_to,
        "primaryAccountable": owner_uri,
        "accountingQuantity": _quantity(row.accounting_quantity, row.unit),
    }
    if viewer != owner_uri:
        # Events the viewer took part in may still lead here; the resource itself is
        # its owner's to read.
        return {"id": uri, "readable": False, "reason": "only its owner reads it"}, []
    if direction == "trace":
        query = select(EconomicEvent.uri).where(
            or_(
                EconomicEvent.to_resource_inventoried_as == uri,
                (EconomicEvent.resource_inventoried_as == uri)
                & EconomicEvent.output_of.is_not(None),
            )
        )
    else:
        query = select(EconomicEvent.uri).where(
            EconomicEvent.resource_inventoried_as == uri,
            or_(
                EconomicEvent.input_of.is_not(None),
                EconomicEvent.to_resource_inventoried_as.is_not(None),
            ),
        )
    events = (await session.scalars(query.where(EconomicEvent.state == "applied"))).all()
    return node, list(events)


def _event_next(doc: dict[str, Any], came_from: str | None, direction: Direction) -> list[str]:
    resource = id_of(doc.get("resourceInventoriedAs"))
    to_resource = id_of(doc.get("toResourceInventoriedAs"))
    output_of, input_of = id_of(doc.get("outputOf")), id_of(doc.get("inputOf"))
    if direction == "trace":
        if output_of is not None:
            return [output_of]
        found = [resource] if resource is not None else []
        return [r for r in found if r != came_from]
    if input_of is not None:
        return [input_of]
    if came_from is not None and came_from in (to_resource, resource) and output_of:
        return []
    return [r for r in (to_resource, resource) if r is not None and r != came_from][:1]


async def _local_event(session: AsyncSession, uri: str, viewer: str) -> dict[str, Any] | None:
    row = await session.scalar(select(EconomicEvent).where(EconomicEvent.uri == uri))
    if row is None:
        return None
    if viewer not in (row.provider, row.receiver):
        return {"id": uri, "readable": False, "reason": "only its parties read it"}
    doc: dict[str, Any] = {
        "id": uri,
        "type": "EconomicEvent",
        "action": row.action,
        "provider": row.provider,
        "receiver": row.receiver,
        "resourceConformsTo": row.resource_conforms_to,
        "resourceQuantity": _quantity(row.resource_quantity, row.resource_unit),
        "effortQuantity": _quantity(row.effort_quantity, row.effort_unit),
        "resourceInventoriedAs": row.resource_inventoried_as,
        "toResourceInventoriedAs": row.to_resource_inventoried_as,
        "inputOf": row.input_of,
        "outputOf": row.output_of,
        "oce:state": row.state,
    }
    return {k: v for k, v in doc.items() if v is not None}


async def _local_process(
    session: AsyncSession, uri: str, viewer: str, direction: Direction
) -> tuple[dict[str, Any], list[str]] | None:
    row = await session.scalar(select(ProcessRow).where(ProcessRow.uri == uri))
    if row is None:
        return None
    plan = await session.get(PlanRow, row.plan_id) if row.plan_id else None
    party = viewer == row.author or await session.scalar(
        select(Commitment.id)
        .where(
            Commitment.planned_within == (plan.uri if plan else None),
            or_(Commitment.provider == viewer, Commitment.receiver == viewer),
        )
        .limit(1)
    )
    if not party:
        return {"id": uri, "readable": False, "reason": "only its plan's parties read it"}, []
    column = EconomicEvent.input_of if direction == "trace" else EconomicEvent.output_of
    events = (
        await session.scalars(
            select(EconomicEvent.uri).where(column == uri, EconomicEvent.state == "applied")
        )
    ).all()
    node = {"id": uri, "type": "Process", "name": row.name, "finished": row.finished}
    return node, list(events)


async def walk(
    start: str,
    direction: Direction,
    *,
    viewer: str,
    urls: Urls,
    read: Reader,
    fetch: Fetch,
    max_depth: int = 10,
    time_limit: float = REMOTE_TIME,
) -> Walk:
    """Walk from ``start`` (a resource or an event) as ``viewer``; remote reads share
    ``time_limit`` seconds, after which the nodes still to read say so."""
    max_depth = max(1, min(max_depth, MAX_DEPTH))
    deadline = time.monotonic() + time_limit
    result = Walk(start, direction)
    seen: set[str] = {start}
    queue: deque[tuple[str, int, str | None]] = deque([(start, 0, None)])
    remote_reads = 0
    while queue:
        uri, depth, came_from = queue.popleft()
        if len(result.nodes) >= MAX_NODES:
            result.truncated = True
            break
        node: dict[str, Any]
        following: list[str] = []
        if urls.is_local(uri):
            async with read() as session:
                event = await _local_event(session, uri, viewer)
                process = None if event else await _local_process(session, uri, viewer, direction)
                if event is not None:
                    node = event
                    if event.get("readable", True):
                        following = _event_next(event, came_from, direction)
                elif process is not None:
                    node, following = process
                else:
                    node, following = await _local_resource(session, urls, uri, viewer, direction)
        elif remote_reads >= MAX_REMOTE:
            node = {"id": uri, "readable": False, "reason": "too many remote reads"}
            result.truncated = True
        elif (left := deadline - time.monotonic()) <= 0:
            node = {"id": uri, "readable": False, "reason": "no time left to read it"}
            result.truncated = True
        else:
            remote_reads += 1
            try:
                fetched = await asyncio.wait_for(fetch(uri), left)
                why = "its instance does not show it to you"
            except TimeoutError:
                fetched, why = None, "its instance did not answer in time"
                result.truncated = True
            if fetched is None:
                node = {"id": uri, "readable": False, "reason": why}
            else:
                kind = first_type(fetched)
                node = {"id": uri, "type": kind, "instance": urls_origin(uri)}
                for key in (
                    "action",
                    "provider",
                    "receiver",
                    "resourceQuantity",
                    "effortQuantity",
                    "name",
                    "finished",
                ):
                    if key in fetched:
                        node[key] = fetched[key]
                if kind == "EconomicEvent":
                    following = _event_next(fetched, came_from, direction)
                elif kind == "Process":
                    # A trace goes on to its inputs, a track to its outputs; a process
                    # that does not say which is followed through all its events.
                    key = "oce:inputEvents" if direction == "trace" else "oce:outputEvents"
                    events = fetched.get(key, fetched.get("oce:events", []))
                    events = events if isinstance(events, list) else [events]
                    following = [e for e in events if isinstance(e, str)][:MAX_NODES]
        node["depth"] = depth
        result.nodes.append(node)
        for target in following:
            result.links.append({"from": uri, "to": target})
            if target in seen:
                continue
            if depth + 1 > max_depth:
                result.truncated = True
                continue
            seen.add(target)
            queue.append((target, depth + 1, uri))
    return result


def urls_origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
