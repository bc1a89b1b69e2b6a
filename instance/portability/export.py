"""``oce export``: everything an agent has, as one JSON-LD document, streamed.

The document is written one record per line inside its ``records`` list, so neither
writing nor reading it (:mod:`instance.portability.importer`) holds more than one batch
of rows in memory, however long the ledger::

    {"@context": [...], "type": "AgentExport", ..., "records": [
    {"table": "proposals", "row": {...}}
    ,{"table": "intents", "row": {...}}
    ]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import require_agent
from instance.portability.tables import TABLES, agent_row, encode_values
from instance.store.models import AgentMove
from instance.urls import Urls
from instance.web.documents import agent_document
from vocab import outgoing_context

__all__ = ["EXPORT_CONTEXT", "FORMAT", "export_agent"]

FORMAT = 1
BATCH = 1_000
#: The terms of the export itself; every stored document inside keeps its own context.
EXPORT_CONTEXT: dict[str, Any] = {
    "oce": "https://w3id.org/oce/ns#",
    "AgentExport": "oce:AgentExport",
    "format": "oce:exportFormat",
    "exportedFrom": {"@id": "oce:exportedFrom", "@type": "@id"},
    "exportedAt": {"@id": "oce:exportedAt", "@type": "xsd:dateTime"},
    "withKeys": "oce:withKeys",
    "actor": {"@id": "oce:actor", "@type": "@json"},
    "agent": {"@id": "oce:agent", "@type": "@json"},
    "records": {"@id": "oce:records", "@type": "@json", "@container": "@list"},
}


def _line(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


async def export_agent(
    session: AsyncSession,
    urls: Urls,
    username: str,
    out: IO[str],
    *,
    with_keys: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write agent ``username``'s document to ``out``; returns rows written per table.

    ``progress(table, rows so far)`` is called every :data:`BATCH` rows.
    """
    agent = await require_agent(session, username)
    actor = urls.actor(agent.username)
    move = await session.get(AgentMove, agent.id)
    head = {
        "@context": [*outgoing_context(urls.base), EXPORT_CONTEXT],
        "type": "AgentExport",
        "format": FORMAT,
        "exportedFrom": actor,
        "exportedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "withKeys": with_keys,
        "actor": agent_document(urls, agent, move),
        "agent": agent_row(agent, with_keys=with_keys),
    }
    first = _line(head)
    out.write(first[:-1] + ',"records":[\n')
    actors = [actor, *(json.loads(move.also_known_as) if move else [])]
    counts: dict[str, int] = {}
    written = 0
    for table in TABLES:
        columns = table.model.__table__.columns
        # Plain rows, not ORM objects: a fifth of the time for a long ledger.
        query = (
            table.rows(agent.id, actors)
            .with_only_columns(*columns)
            .order_by(*table.model.__table__.primary_key)
        )
        result = await session.stream(query.execution_options(yield_per=BATCH))
        count = 0
        async for row in result:
            record = {"table": table.name, "row": encode_values(row._mapping)}
            out.write(("," if written else "") + _line(record) + "\n")
            written += 1
            count += 1
            if progress is not None and count % BATCH == 0:
                progress(table.name, count)
        counts[table.name] = count
        if progress is not None:
            progress(table.name, count)
    out.write("]}\n")
    out.flush()
    return counts
