"""Proposals on the wire (FEP-0837): agents publish, edit and withdraw them; peers' copies.

Each change goes out twice over: as the ValueFlows activity (``Create``, ``Update``,
``Delete`` of the Proposal) to servers that speak ValueFlows and to local agents, and as
the same activity on the proposal's Note to every other server (:mod:`instance.outbox.fediverse`,
docs/mastodon.md).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import PUBLIC, id_of, object_of
from instance.describe import describe_proposal, resource_labels
from instance.inbox.processing import Context, Refused, handles
from instance.ledger.exchange import intents_of, store_proposal
from instance.negotiation import dumps
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.fediverse import (
    delete_note,
    note_tombstone,
    plain_activity,
    proposal_note,
    save_note,
)
from instance.outbox.vfdocs import client_document, typed
from instance.problems import Problem
from instance.sanitize import clean_html
from instance.services import Services
from instance.store.models import Intent as IntentRow
from instance.store.models import Proposal as ProposalRow
from instance.store.models import utcnow
from vocab import Intent, Measure, Proposal, VocabError, canonical_decimal, to_json

__all__ = ["withdraw_remote_proposal"]


def _intent_ids(proposal_id: str, intents: Any, name: str) -> Any:
    items = intents if isinstance(intents, list) else [intents]
    for n, intent in enumerate(items, start=1):
        if isinstance(intent, dict):
            intent["id"] = f"{proposal_id}#{name}" + (f"-{n}" if n > 1 else "")
    return intents


#: Bounds on a proposal's texts (characters).
_TEXT_LIMITS = {"name": 500, "summary": 5_000, "content": 50_000}
#: Texts of a proposal that are HTML (cleaned to what Mastodon keeps), not plain text.
_HTML_TEXTS = frozenset({"summary", "content"})


def _text(name: str, value: Any) -> str:
    """A proposal's ``name``, ``summary`` or ``content``: bounded, HTML cleaned."""
    if not isinstance(value, str):
        raise Problem(400, f"{name} must be text", field=f"object.{name}")
    limit = _TEXT_LIMITS[name]
    if len(value) > limit:
        raise Problem(400, f"{name} is longer than {limit} characters", field=f"object.{name}")
    return clean_html(value) if name in _HTML_TEXTS else value


async def _note_for(svc: Services, proposal: Proposal, *, updated: str | None = None) -> Any:
    """The Note standing for ``proposal`` on servers that do not speak ValueFlows."""
    async with svc.db.read() as session:
        labels = await resource_labels(session, proposal)
    return proposal_note(proposal, describe_proposal(proposal, labels), updated=updated)


@outbox_handler("Create", "Proposal")
async def post_proposal(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the Proposal itself", field="object")
    urls = sub.svc.urls
    proposal_id = urls.new_object("proposals")
    document.update(id=proposal_id, attributedTo=sub.actor, published=activity["published"])
    for name in _TEXT_LIMITS:
        if name in document:
            document[name] = _text(name, document[name])
    for key, name in (("publishes", "primary"), ("reciprocal", "reciprocal")):
        if key in document:
            _intent_ids(proposal_id, document[key], name)
    if not any(key in document for key in ("to", "cc")):
        document["to"] = [PUBLIC]
        document["cc"] = [urls.followers(sub.agent.username)]
    document.setdefault("url", proposal_id)
    proposal = typed(document, Proposal, "object")
    canonical = {"@context": activity.get("@context"), **to_json(proposal)}
    canonical.pop("@context")
    activity["object"] = canonical
    for name in ("to", "cc"):
        if name in canonical:
            activity[name] = (
                list(canonical[name]) if isinstance(canonical[name], list) else [canonical[name]]
            )
    sub.activity.clear()
    sub.activity.update(activity)
    agent_id = sub.agent.id
    await prefetch_addressees(sub)
    note = await _note_for(sub.svc, proposal)

    async def record(session: AsyncSession) -> None:
        await store_proposal(session, canonical, agent_id=agent_id)

    return Posted(
        sub.activity,
        effects=record,
        objects=[note],
        plain=plain_activity(urls, "Create", sub.activity, note),
    )


async def _own_proposal(session: AsyncSession, sub: Submission, uri: str | None) -> ProposalRow:
    row = await session.scalar(select(ProposalRow).where(ProposalRow.uri == uri))
    if row is None or row.agent_id != sub.agent.id:
        raise Problem(404, f"{uri} is not a proposal of this agent", field="object")
    return row


def _availability(changes: dict[str, Any], intents: Sequence[IntentRow]) -> dict[str, Decimal]:
    """New ``availableQuantity`` values an edit gives, by intent id, checked."""
    by_uri = {intent.uri: intent for intent in intents}
    found: dict[str, Decimal] = {}
    for key in ("publishes", "reciprocal"):
        value = changes.get(key)
        items = value if isinstance(value, list) else [value] if value is not None else []
        if len(items) > len(by_uri):
            raise Problem(400, f"{key} names more intents than the proposal has", field=key)
        for item in items:
            where = f"object.{key}"
            intent_id = id_of(item)
            if intent_id not in by_uri:
                raise Problem(400, "name each intent to change by its id", field=f"{where}.id")
            if not isinstance(item, dict) or "availableQuantity" not in item:
                raise Problem(
                    400,
                    "an intent's edit gives its new availableQuantity",
                    field=f"{where}.availableQuantity",
                )
            if set(item) - {"id", "type", "availableQuantity"}:
                raise Problem(400, "only availableQuantity of an intent can change", field=where)
            intent = by_uri[intent_id]
            try:
                measure = Measure.parse(item.get("availableQuantity") or {}, "availableQuantity")
            except VocabError as exc:
                raise Problem(400, str(exc), field=f"{where}.availableQuantity") from None
            if measure.unit != intent.unit or measure.value < 0:
                raise Problem(
                    400,
                    f"availableQuantity must be at least 0 {intent.unit}",
                    field=f"{where}.availableQuantity",
                )
            found[intent.uri] = measure.value
    return found


@outbox_handler("Update", "Proposal")
async def post_edit_proposal(sub: Submission) -> Posted:
    """An agent edits its open proposal: its texts, and what is still available.

    Servers that speak ValueFlows get ``Update{Proposal}``; the others ``Update`` of the
    proposal's Note (:mod:`instance.outbox.fediverse`).
    """
    activity = await client_document(sub)
    changes = object_of(activity)
    if not isinstance(changes, dict):
        raise Problem(400, "Update needs the changes, with the proposal's id", field="object")
    uri = id_of(changes)
    async with sub.svc.db.read() as session:
        row = await _own_proposal(session, sub, uri)
        intents = await intents_of(session, row)
    if row.state != "open":
        raise Problem(409, f"{uri} is {row.state}: it can no longer change", field="object")
    unknown = set(changes) - {"id", "type", "publishes", "reciprocal", *_TEXT_LIMITS}
    if unknown:
        raise Problem(
            400,
            f"{sorted(unknown)[0]} cannot change; an edit changes name, summary, content "
            "and the intents' availableQuantity",
            field=f"object.{sorted(unknown)[0]}",
        )
    document = json.loads(row.body)
    for name in _TEXT_LIMITS:
        if name in changes:
            document[name] = _text(name, changes[name])
    available = _availability(changes, intents)
    updated = sub.activity["published"]
    document["updated"] = updated
    live = _with_available(document, intents, available)
    proposal = typed(live, Proposal, "object")
    note = await _note_for(sub.svc, proposal, updated=updated)
    sub.activity.clear()
    sub.activity.update(activity)
    sub.activity["object"] = live
    for name in ("to", "cc"):
        if name in live:
            sub.activity[name] = live[name] if isinstance(live[name], list) else [live[name]]
    row_id, body, name = row.id, dumps(document), str(document.get("name") or "")[:500]

    async def store(session: AsyncSession) -> None:
        found = await session.get(ProposalRow, row_id, with_for_update=True)
        assert found is not None
        if found.state != "open":
            raise Problem(409, f"{uri} is {found.state}: it can no longer change", field="object")
        found.name, found.body, found.updated_at = name, body, utcnow()
        for intent in await intents_of(session, found):
            if intent.uri in available:
                intent.available = available[intent.uri]
        await save_note(session, sub.svc.urls, sub.agent, note)

    return Posted(
        sub.activity,
        effects=store,
        plain=plain_activity(sub.svc.urls, "Update", sub.activity, note),
    )


def _with_available(
    document: dict[str, Any], intents: Sequence[IntentRow], changed: dict[str, Decimal]
) -> dict[str, Any]:
    """``document`` with each intent's current (or newly set) availableQuantity."""
    live: dict[str, Any] = copy.deepcopy(document)
    rows = {intent.uri: intent for intent in intents}
    for key in ("publishes", "reciprocal"):
        value = live.get(key)
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict) or (row := rows.get(str(item.get("id")))) is None:
                continue
            quantity = changed.get(row.uri, row.available)
            if quantity is not None:
                item["availableQuantity"] = {
                    "hasUnit": row.unit,
                    "hasNumericalValue": canonical_decimal(quantity),
                }
    return live


@outbox_handler("Delete", "Proposal")
async def post_withdraw(sub: Submission) -> Posted:
    uri = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await _own_proposal(session, sub, uri)
    if row.state != "open":
        raise Problem(409, f"{uri} is already {row.state}", field="object")
    assert uri is not None
    sub.activity["object"] = uri
    sub.activity["to"] = [PUBLIC]
    sub.activity["cc"] = [sub.svc.urls.followers(sub.agent.username)]
    row_id = row.id

    async def withdraw(session: AsyncSession) -> None:
        found = await session.get(ProposalRow, row_id, with_for_update=True)
        assert found is not None
        if found.state != "open":
            raise Problem(409, f"{uri} is already {found.state}", field="object")
        found.state, found.updated_at = "withdrawn", utcnow()
        await delete_note(session, uri)

    tombstone = note_tombstone(uri)
    return Posted(
        sub.activity,
        effects=withdraw,
        plain=plain_activity(sub.svc.urls, "Delete", sub.activity, tombstone),
    )


@handles("Create", "Proposal")
async def on_proposal(ctx: Context) -> None:
    document = object_of(ctx.activity)
    proposal = typed(document, Proposal, "object")
    if proposal.attributed_to != ctx.actor:
        raise Refused("a proposal is published by its proposer")
    async with ctx.apply() as session:
        known = await session.scalar(select(ProposalRow.id).where(ProposalRow.uri == proposal.id))
        if known is None:
            await store_proposal(session, document, agent_id=None)


async def withdraw_remote_proposal(session: AsyncSession, actor: str, uri: str | None) -> None:
    """A peer deleted its proposal: our copy is marked withdrawn."""
    row = await session.scalar(select(ProposalRow).where(ProposalRow.uri == uri))
    if row is not None and row.agent_id is None and row.proposer == actor:
        row.state, row.updated_at = "withdrawn", utcnow()


@handles("Update", "Proposal")
async def on_update_proposal(ctx: Context) -> None:
    """A peer edited its proposal: our copy takes its texts and availability."""
    document = object_of(ctx.activity)
    proposal = typed(document, Proposal, "object")
    if proposal.attributed_to != ctx.actor:
        raise Refused("a proposal is changed by its proposer only")
    async with ctx.apply() as session:
        row = await session.scalar(
            select(ProposalRow).where(ProposalRow.uri == proposal.id).with_for_update()
        )
        if row is None:
            await store_proposal(session, document, agent_id=None)
            return
        if row.agent_id is not None or row.proposer != ctx.actor:
            raise Refused("only its proposer may change a proposal")
        if row.state != "open":
            return
        row.name, row.body, row.updated_at = (proposal.name or "")[:500], dumps(document), utcnow()
        available = {
            intent.id: intent.available_quantity
            for intent in proposal.intents()
            if isinstance(intent, Intent) and intent.available_quantity is not None
        }
        for intent in await intents_of(session, row):
            measure = available.get(intent.uri)
            if measure is not None and measure.unit == intent.unit:
                intent.available = measure.value


@handles("Delete", "Proposal")
async def on_withdraw(ctx: Context) -> None:
    async with ctx.apply() as session:
        await withdraw_remote_proposal(session, ctx.actor, id_of(object_of(ctx.activity)))
