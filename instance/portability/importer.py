"""``oce import``: rebuild an exported agent on this instance.

The agent gets its old username (or a new one), its profile, and, when the export
carries them, its keys; otherwise fresh keys. Every record comes back as it was
(stored documents byte for byte, with their proofs; quantities exact), under fresh row
keys, with the rows that named each other joined up again. The agent's old actor id is
recorded as an ``alsoKnownAs`` of the new one, ready for the old actor's ``Move``, and
its open agreements and commitments name the new actor as their party.

Everything happens in one transaction: a document that does not read, or a record that
clashes with one already here, changes nothing and is reported with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import create_agent
from instance.portability.export import FORMAT
from instance.portability.tables import (
    AGENT_REFERENCES,
    PRIVATE_COLUMNS,
    REFERENCES,
    TABLES,
    decode_row,
)
from instance.problems import Problem
from instance.social.moves import rename_party
from instance.store.models import AgentMove
from instance.urls import Urls

__all__ = ["ImportError_", "Imported", "import_agent", "read_export"]

#: A document not written one record per line is read whole, up to this size.
MAX_WHOLE = 64 * 1024 * 1024
BATCH = 1_000
_TABLES = {table.name: table for table in TABLES}
#: Tables whose row ids other rows name: inserted one by one, to learn the new ids.
_REFERENCED = frozenset(REFERENCES.values())


class ImportError_(Problem):
    """The document cannot be imported; ``detail`` says where and why."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, field="file")


@dataclass
class Imported:
    username: str
    actor: str
    old_actor: str
    counts: dict[str, int] = field(default_factory=dict)


def read_export(source: IO[str]) -> tuple[dict[str, Any], Iterator[tuple[int, dict[str, Any]]]]:
    """The document's head and its records (with line numbers), read lazily when the
    document is laid out as ``oce export`` writes it, whole otherwise."""
    first = source.readline()
    marker = ',"records":['
    if first.rstrip("\n").endswith(marker):
        try:
            head = json.loads(first.rstrip("\n")[: -len(marker)] + "}")
        except json.JSONDecodeError as exc:
            raise ImportError_(f"line 1 is not the export's head: {exc}") from None

        def lines() -> Iterator[tuple[int, dict[str, Any]]]:
            for number, line in enumerate(source, start=2):
                text = line.strip()
                if text == "]}":
                    return
                try:
                    yield number, json.loads(text.removeprefix(","))
                except json.JSONDecodeError as exc:
                    raise ImportError_(f"line {number} is not a record: {exc}") from None
            raise ImportError_("the document ends before its records do (truncated?)")

        return _checked(head), lines()
    rest = source.read(MAX_WHOLE)
    if len(rest) >= MAX_WHOLE - len(first):
        raise ImportError_(
            f"a document not laid out one record per line must be under {MAX_WHOLE} bytes"
        )
    try:
        whole = json.loads(first + rest)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"not JSON: {exc}") from None
    records = whole.pop("records", None) if isinstance(whole, dict) else None
    if not isinstance(records, list):
        raise ImportError_("the document has no records list")
    return _checked(whole), ((0, record) for record in records)


def _checked(head: Any) -> dict[str, Any]:
    if not isinstance(head, dict) or head.get("type") != "AgentExport":
        raise ImportError_("this is not an agent export (its type is not AgentExport)")
    if head.get("format") != FORMAT:
        raise ImportError_(
            f"export format {head.get('format')!r} is not {FORMAT}, the one this oce reads"
        )
    if not isinstance(head.get("agent"), dict) or not isinstance(head.get("exportedFrom"), str):
        raise ImportError_("the export's head lacks its agent")
    return head


async def import_agent(
    session: AsyncSession,
    urls: Urls,
    head: dict[str, Any],
    records: Iterator[tuple[int, dict[str, Any]]],
    *,
    username: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Imported:
    """Create the agent and insert its records, in ``session``'s transaction."""
    fields = head["agent"]
    name = username or fields.get("username")
    if not isinstance(name, str):
        raise ImportError_("the export's agent has no username")
    agent = await create_agent(
        session,
        name,
        kind=str(fields.get("kind", "Person")).lower(),
        name=str(fields.get("name", "")),
        summary=str(fields.get("summary", "")),
        manually_approves_followers=bool(fields.get("manually_approves_followers")),
    )
    if all(isinstance(fields.get(key), str) for key in PRIVATE_COLUMNS):
        agent.private_key_pem = fields["private_key_pem"]
        agent.public_key_pem = fields["public_key_pem"]
        agent.proof_private_pem = fields["proof_private_pem"]
        agent.proof_public_pem = fields["proof_public_pem"]
    await session.flush()
    old_actor = head["exportedFrom"]
    new_actor = urls.actor(agent.username)
    ids: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    batch: list[tuple[str, int, dict[str, Any]]] = []

    async def flush() -> None:
        plain: dict[str, list[dict[str, Any]]] = {}
        for table_name, old_id, values in batch:
            table = _TABLES[table_name]
            model: Any = table.model
            if table.shared and table.natural:
                existing = await session.scalar(
                    select(model.id).where(getattr(model, table.natural) == values[table.natural])
                )
                if existing is not None:
                    ids.setdefault(table_name, {})[old_id] = existing
                    continue
            if table_name not in _REFERENCED:
                plain.setdefault(table_name, []).append(values)
                continue
            new_id = await session.scalar(insert(model).values(**values).returning(model.id))
            assert new_id is not None
            ids.setdefault(table_name, {})[old_id] = new_id
        # Rows nothing names go in many at a time (one statement, many parameter sets).
        for table_name, rows in plain.items():
            await session.execute(insert(_TABLES[table_name].model), rows)
        batch.clear()

    try:
        for number, record in records:
            where = f"line {number}" if number else "a record"
            table_name = record.get("table") if isinstance(record, dict) else None
            values = record.get("row") if isinstance(record, dict) else None
            if table_name not in _TABLES or not isinstance(values, dict):
                raise ImportError_(f"{where}: not a record of a table oce exports")
            try:
                row = decode_row(_TABLES[table_name].model, values)
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise ImportError_(f"{where}: {exc}") from None
            old_id = row.pop("id", None)
            for column in AGENT_REFERENCES:
                if column in row and row[column] is not None:
                    # The agent itself; another agent of the old instance is remote from here.
                    row[column] = agent.id if row[column] == fields.get("id") else None
            if table_name == "follows":
                # The agent's own side of a follow is the agent, under its id here: its
                # followers' re-follows after the Move then find the follow they renew.
                if row.get("followee_agent_id") == agent.id:
                    row["followee"] = new_actor
                if row.get("follower_agent_id") == agent.id:
                    row["follower"] = new_actor
            if table_name == "agent_moves":
                row["moved_to"] = None  # the new actor has not moved anywhere
            for column, target in REFERENCES.items():
                if row.get(column) is not None:
                    if target in ids and row[column] in ids[target]:
                        row[column] = ids[target][row[column]]
                    else:
                        await flush()
                        mapped = ids.get(target, {}).get(row[column])
                        if mapped is None:
                            raise ImportError_(
                                f"{where}: {column} {row[column]} names no exported row"
                            )
                        row[column] = mapped
            batch.append((table_name, old_id if isinstance(old_id, int) else -1, row))
            counts[table_name] = counts.get(table_name, 0) + 1
            if len(batch) >= BATCH:
                await flush()
                if progress is not None:
                    progress(table_name, counts[table_name])
        await flush()
        if old_actor != new_actor:
            # Its open exchanges continue as the new actor, as its peers' do once the old
            # actor sends the Move.
            await rename_party(session, old_actor, new_actor)
            move = await session.get(AgentMove, agent.id)
            if move is None:
                session.add(AgentMove(agent_id=agent.id, also_known_as=json.dumps([old_actor])))
            else:
                aliases = [*json.loads(move.also_known_as), old_actor]
                move.also_known_as = json.dumps(list(dict.fromkeys(aliases)))
        await session.flush()
    except IntegrityError as exc:
        raise ImportError_(
            f"a record clashes with one already here: {str(exc.orig).splitlines()[0]}"
        ) from None
    return Imported(agent.username, new_actor, old_actor, counts)
