"""Proposals, offers and agreements on the wire (FEP-0837): client posts and peers' activities."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urldefrag

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import FetchError, OriginError, check_same_origin
from instance.activities import PUBLIC, addressees, id_of, object_of
from instance.agents import get_agent
from instance.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.describe import describe_proposal, resource_labels
from instance.exchange import (
    OfferRefused,
    check_offer,
    finalize,
    intents_of,
    record_finalized,
    store_proposal,
)
from instance.fediverse import (
    delete_note,
    note_tombstone,
    plain_activity,
    proposal_note,
    save_note,
)
from instance.models import Agent, utcnow
from instance.models import Agreement as AgreementRow
from instance.models import Intent as IntentRow
from instance.models import Proposal as ProposalRow
from instance.negotiation import dumps
from instance.outbound import answer
from instance.problems import Problem
from instance.processing import Context, Refused, handles
from instance.sanitize import clean_html
from instance.services import Services
from instance.vfdocs import client_document, typed
from vocab import (
    Agreement,
    Intent,
    Measure,
    Proposal,
    VocabError,
    canonical_decimal,
    normalize,
    to_json,
)

__all__ = ["withdraw_remote_proposal"]

log = logging.getLogger("oce.exchange")


# Proposals ----------------------------------------------------------------------------


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
    activity = client_document(sub)
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
    proposal's Note (:mod:`instance.fediverse`).
    """
    activity = client_document(sub)
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
    live: dict[str, Any] = json.loads(json.dumps(document))
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


# Offers and agreements ------------------------------------------------------------------


async def _fetch_proposal(svc: Services, intent_uri: str) -> dict[str, Any] | None:
    """A peer's proposal we have no copy of, fetched (not stored: the caller stores it
    in the same transaction as what depends on it). None when we know it already."""
    proposal_uri = urldefrag(intent_uri).url
    async with svc.db.read() as session:
        known = await session.scalar(select(ProposalRow.id).where(ProposalRow.uri == proposal_uri))
    if known is not None or svc.urls.is_local(proposal_uri):
        return None
    try:
        fetched = normalize(await svc.peers.fetcher.fetch_object(proposal_uri))
    except (FetchError, VocabError) as exc:
        raise Problem(
            502, f"cannot read the proposal {proposal_uri}: {exc}", field="object"
        ) from None
    proposal = typed(fetched, Proposal, "object")
    try:
        check_same_origin(proposal_uri, proposal.attributed_to or "")
    except OriginError as exc:
        raise Problem(502, str(exc), field="object") from None
    return fetched


@outbox_handler("Offer", "Agreement")
async def post_offer(sub: Submission) -> Posted:
    activity = client_document(sub)
    agreement = typed(object_of(activity), Agreement, "object")
    fetched: dict[str, dict[str, Any]] = {}
    for commitment in agreement.commitments():
        if isinstance(commitment, str) or len(commitment.satisfies) != 1:
            raise Problem(
                400, "each commitment is embedded and satisfies one intent", field="object"
            )
        document = await _fetch_proposal(sub.svc, commitment.satisfies[0])
        if document is not None:
            fetched[document["id"]] = document
    offered = to_json(agreement)
    sub.activity.clear()
    sub.activity.update(activity)
    sub.activity["object"] = offered
    sub.activity.pop("cc", None)
    offer_id, actor = sub.activity["id"], sub.actor
    activity_out = sub.activity

    async def record(session: AsyncSession) -> None:
        for document in fetched.values():
            await store_proposal(session, document, agent_id=None)
        terms = await check_offer(session, agreement)
        proposer = terms.proposal.proposer
        if proposer == actor:
            raise Problem(400, "an agent cannot answer its own proposal", field="object")
        activity_out["to"] = [proposer]
        session.add(
            AgreementRow(
                offer_uri=offer_id,
                proposal_uri=terms.proposal.uri,
                proposer=proposer,
                counterparty=actor,
                body=dumps(offered),
            )
        )

    return Posted(
        sub.activity, also_to=[await _proposer_of(sub.svc, agreement, fetched)], effects=record
    )


async def _proposer_of(
    svc: Services, agreement: Agreement, fetched: dict[str, dict[str, Any]]
) -> str:
    """Whom an offer goes to: the proposer of the proposal its first commitment answers."""
    first = agreement.commitments()[0]
    assert not isinstance(first, str)
    proposal_uri = urldefrag(first.satisfies[0]).url
    if proposal_uri in fetched:
        proposer: str = fetched[proposal_uri]["attributedTo"]
        return proposer
    async with svc.db.read() as session:
        found = await session.scalar(
            select(ProposalRow.proposer).where(ProposalRow.uri == proposal_uri)
        )
    if found is None:
        raise Problem(
            422, f"{first.satisfies[0]} is not an intent of a known proposal", field="object"
        )
    return found


@handles("Offer", "Agreement")
async def on_offer(ctx: Context) -> None:
    offer_id = ctx.activity["id"]
    async with ctx.svc.db.read() as session:
        recorded = await session.scalar(
            select(AgreementRow.id).where(AgreementRow.offer_uri == offer_id)
        )
    if recorded is not None:
        async with ctx.apply():
            return  # an offer between two agents of this instance: already recorded
    agreement = typed(object_of(ctx.activity), Agreement, "object")
    async with ctx.apply() as session:
        try:
            terms = await check_offer(session, agreement, lock=True)
        except OfferRefused as refusal:
            proposer = await _proposer_addressed(session, ctx)
            if proposer is None:
                raise Refused(refusal.detail) from None
            await answer(
                session,
                ctx.svc.urls,
                proposer,
                "Reject",
                offer_id,
                ctx.actor,
                content=refusal.detail,
            )
            return
        agent = await get_agent(session, ctx.svc.urls.username_of(terms.proposal.proposer) or "")
        if agent is None or terms.proposal.agent_id != agent.id:
            raise Refused("the offer answers a proposal that is not ours")
        session.add(
            AgreementRow(
                offer_uri=offer_id,
                proposal_uri=terms.proposal.uri,
                proposer=terms.proposal.proposer,
                counterparty=ctx.actor,
                body=dumps(to_json(agreement)),
            )
        )


async def _proposer_addressed(session: AsyncSession, ctx: Context) -> Agent | None:
    """The local agent an offer was sent to (who answers a bad one)."""
    for address in addressees(ctx.activity):
        username = ctx.svc.urls.username_of(address)
        if username and (agent := await get_agent(session, username)) is not None:
            return agent
    return None


async def _offer_for(session: AsyncSession, offer_uri: str | None) -> AgreementRow:
    row = await session.scalar(
        select(AgreementRow).where(AgreementRow.offer_uri == offer_uri).with_for_update()
    )
    if row is None:
        raise Problem(404, f"{offer_uri} is not an offer known here", field="object")
    return row


@outbox_handler("Accept", "Offer")
@outbox_handler("Reject", "Offer")
async def post_answer_offer(sub: Submission) -> Posted:
    offer_uri = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await _offer_for(session, offer_uri)
    if row.proposer != sub.actor:
        raise Problem(403, f"{offer_uri} was not sent to {sub.actor}", field="object")
    if row.state != "offered":
        raise Problem(409, f"{offer_uri} is already {row.state}", field="object")
    sub.activity["object"] = offer_uri
    sub.activity["to"] = [row.counterparty]
    accept = sub.activity["type"] == "Accept"
    svc, activity = sub.svc, sub.activity

    async def decide(session: AsyncSession) -> None:
        agreement = await _offer_for(session, offer_uri)
        if agreement.state != "offered":
            raise Problem(409, f"{offer_uri} is already {agreement.state}", field="object")
        if not accept:
            agreement.state, agreement.reason = "rejected", str(activity.get("content") or "")
            return
        offered = typed(json.loads(agreement.body), Agreement, "object")
        terms = await check_offer(session, offered, lock=True)
        activity["result"] = await finalize(session, svc.urls, agreement, terms)

    return Posted(sub.activity, effects=decide)


async def _our_offer(session: AsyncSession, ctx: Context) -> AgreementRow | None:
    """The offer this answer is about, if we sent it to the answering actor."""
    row = await session.scalar(
        select(AgreementRow)
        .where(AgreementRow.offer_uri == id_of(object_of(ctx.activity)))
        .with_for_update()
    )
    if row is None or row.proposer != ctx.actor or not ctx.svc.urls.is_local(row.counterparty):
        return None
    return row


@handles("Accept", "Offer")
async def on_accept_offer(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _our_offer(session, ctx)
        if row is None:
            raise Refused("Accept of an offer never sent to that actor")
        if ctx.verified_by == "local" and row.state == "agreed":
            return  # finalized by the proposer on this same instance
        if row.state != "offered":
            raise Refused(f"the offer is already {row.state}")
        result = ctx.activity.get("result")
        finalized = typed(result, Agreement, "result")
        if finalized.id is None:
            raise Refused("a finalized agreement has an id")
        try:
            check_same_origin(finalized.id, ctx.actor)
        except OriginError as exc:
            raise Refused(str(exc)) from None
        offered = typed(json.loads(row.body), Agreement, "object")
        terms = await check_offer(session, offered, check_available=False)
        await record_finalized(session, row, finalized, terms)


@handles("Reject", "Offer")
async def on_reject_offer(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _our_offer(session, ctx)
        if row is None:
            raise Refused("Reject of an offer never sent to that actor")
        if row.state == "offered":
            row.state = "rejected"
            row.reason = str(ctx.activity.get("content") or ctx.activity.get("summary") or "")


@handles("Delete", "Proposal")
async def on_withdraw(ctx: Context) -> None:
    async with ctx.apply() as session:
        await withdraw_remote_proposal(session, ctx.actor, id_of(object_of(ctx.activity)))
