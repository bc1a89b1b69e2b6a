"""Offers and agreements on the wire (FEP-0837): client posts and peers' activities.

Proposals themselves are in :mod:`instance.handlers.proposals`.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urldefrag

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import FetchError, OriginError, check_same_origin
from instance.activities import addressees, id_of, object_of
from instance.agents import get_agent
from instance.coop.shares import answer_share_offer
from instance.inbox.origins import owned_ids
from instance.inbox.processing import Context, Refused, handles
from instance.ledger.exchange import (
    OfferRefused,
    check_offer,
    finalize,
    record_finalized,
    store_proposal,
)
from instance.negotiation import dumps
from instance.normalizing import normalize_bounded
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.outbox.publish import answer
from instance.outbox.vfdocs import client_document, typed
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent
from instance.store.models import Agreement as AgreementRow
from instance.store.models import Proposal as ProposalRow
from vocab import (
    Agreement,
    Proposal,
    VocabError,
    to_json,
)

__all__: list[str] = []

log = logging.getLogger("oce.exchange")


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
        fetched = await normalize_bounded(await svc.peers.fetcher.fetch_object(proposal_uri))
    except (FetchError, VocabError) as exc:
        raise Problem(
            502, f"cannot read the proposal {proposal_uri}: {exc}", field="object"
        ) from None
    proposal = typed(fetched, Proposal, "object")
    if proposal.id != proposal_uri:
        # The fetcher compared the raw id with the URL; an alias in the document's
        # context could still give the normalized document (which is stored) another.
        raise Problem(502, f"{proposal_uri} describes {proposal.id}, not itself", field="object")
    try:
        check_same_origin(proposal_uri, proposal.attributed_to or "")
        owned_ids(proposal_uri, fetched, "object")
    except OriginError as exc:
        raise Problem(502, str(exc), field="object") from None
    return fetched


@outbox_handler("Offer", "Agreement")
async def post_offer(sub: Submission) -> Posted:
    activity = await client_document(sub)
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
        # An offer between two agents of this instance: already recorded.
        async with ctx.apply() as session:
            row = await session.get(AgreementRow, recorded)
            if row is not None:
                await answer_share_offer(session, ctx.svc.urls, row)
            return
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
        row = AgreementRow(
            offer_uri=offer_id,
            proposal_uri=terms.proposal.uri,
            proposer=terms.proposal.proposer,
            counterparty=ctx.actor,
            body=dumps(to_json(agreement)),
        )
        session.add(row)
        await session.flush()
        # An applicant buying an organization's share is answered at once (coop).
        await answer_share_offer(session, ctx.svc.urls, row)


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
