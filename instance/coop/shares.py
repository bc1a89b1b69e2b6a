"""Joining by shares: an agreement like any other.

An organization whose joining style is ``shares`` publishes a share proposal (FEP-0837
``Proposal``, purpose ``request``: one ``transfer`` of the share's price in the share's
currency to the organization), posted through its own outbox like any proposal. An
applicant who asked to join offers an agreement on it (``Offer{Agreement}``); the
organization's instance accepts that offer at once for an applicant awaiting shares
(``Accept{result: Agreement}``, the commitment finalized), and refuses it, saying why,
for anyone else. The applicant pays with an ordinary event fulfilling the commitment;
when the commitment is fulfilled in full, the applicant is a member (``Accept`` of
their ``Join``). A payment that fulfils no such commitment makes nobody a member.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.coop.joining import accept_membership
from instance.coop.memberships import local_agent, membership_of, settings_of
from instance.ledger.exchange import check_offer, finalize, intents_of
from instance.outbox.publish import answer
from instance.services import Services
from instance.store.models import Agent, CoopSettings
from instance.store.models import Agreement as AgreementRow
from instance.store.models import Commitment as CommitmentRow
from instance.store.models import EconomicEvent as EventRow
from instance.store.models import Proposal as ProposalRow
from instance.store.models import ResourceSpecification as SpecRow
from instance.urls import Urls
from vocab import Agreement, canonical_decimal, parse_object

__all__ = [
    "answer_share_offer",
    "ensure_share_proposal",
    "is_share_proposal",
    "share_paid",
    "share_proposal",
]


async def is_share_proposal(
    session: AsyncSession, settings: CoopSettings, proposal: ProposalRow, *, open_only: bool = True
) -> bool:
    """Whether ``proposal`` asks for the organization's share: its only intent is a
    transfer of the share's price in the share's currency, to the organization."""
    if (
        settings.share_price is None
        or settings.share_conforms_to is None
        or proposal.purpose != "request"
        or (open_only and proposal.state != "open")
    ):
        return False
    intents = await intents_of(session, proposal)
    if len(intents) != 1:
        return False
    intent = intents[0]
    return (
        not intent.reciprocal
        and not intent.effort
        and intent.action == "transfer"
        and intent.resource_conforms_to == settings.share_conforms_to
        and intent.quantity == settings.share_price
    )


async def share_proposal(session: AsyncSession, org: Agent) -> ProposalRow | None:
    """The organization's open share proposal (the newest), if it has one."""
    settings = await settings_of(session, org)
    for proposal in await session.scalars(
        select(ProposalRow)
        .where(ProposalRow.agent_id == org.id, ProposalRow.purpose == "request")
        .order_by(ProposalRow.id.desc())
    ):
        if await is_share_proposal(session, settings, proposal):
            return proposal
    return None


async def ensure_share_proposal(svc: Services, org: Agent) -> str | None:
    """Publish the organization's share proposal through its outbox, unless it has one
    (or does not join by shares); the proposal's id."""
    from instance.outbox.c2s import post_to_outbox  # the outbox imports the coop handlers

    async with svc.db.read() as session:
        settings = await settings_of(session, org)
        if settings.joining != "shares" or settings.share_price is None:
            return None
        existing = await share_proposal(session, org)
        if existing is not None:
            return existing.uri
        spec = await session.scalar(
            select(SpecRow).where(SpecRow.uri == settings.share_conforms_to)
        )
    price = canonical_decimal(settings.share_price)
    posted = await post_to_outbox(
        svc,
        org,
        {
            "type": "Proposal",
            "name": f"Membership share of {org.name or org.username}",
            "content": f"Buy one share ({price}) to become a member.",
            "purpose": "request",
            "publishes": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": settings.share_conforms_to,
                "resourceQuantity": {
                    "hasUnit": (spec.default_unit if spec and spec.default_unit else "one"),
                    "hasNumericalValue": price,
                },
            },
            "unitBased": False,
        },
    )
    proposal: dict[str, Any] = json.loads(posted.body)["object"]
    return str(proposal["id"])


async def answer_share_offer(session: AsyncSession, urls: Urls, row: AgreementRow) -> None:
    """An offer on an organization's share proposal, just recorded: accept it for an
    applicant awaiting shares, refuse it (saying why) for anyone else. Offers on other
    proposals are left to the proposer."""
    if row.state != "offered" or row.proposal_uri is None:
        return
    proposal = await session.scalar(select(ProposalRow).where(ProposalRow.uri == row.proposal_uri))
    if proposal is None or proposal.agent_id is None:
        return
    org = await session.get(Agent, proposal.agent_id)
    if org is None or org.kind != "Organization":
        return
    if not await is_share_proposal(session, await settings_of(session, org), proposal):
        return
    applicant = await membership_of(session, proposal.proposer, row.counterparty)
    if applicant is None or applicant.state != "awaiting-shares":
        reason = f"ask to join {proposal.proposer} (Join) before buying its share"
        row.state, row.reason = "rejected", reason
        await answer(session, urls, org, "Reject", row.offer_uri or "", row.counterparty,
                     content=reason)  # fmt: skip
        return
    offered = parse_object(json.loads(row.body))
    assert isinstance(offered, Agreement)
    terms = await check_offer(session, offered, lock=True)
    finalized = await finalize(session, urls, row, terms)
    await answer(
        session, urls, org, "Accept", row.offer_uri or "", row.counterparty, result=finalized
    )


async def share_paid(session: AsyncSession, urls: Urls, row: EventRow) -> None:
    """After an event is recorded: when it completes the payment of a share agreement,
    the applicant becomes a member."""
    if row.fulfills is None or row.state != "applied":
        return
    commitment = await session.scalar(
        select(CommitmentRow).where(CommitmentRow.uri == row.fulfills)
    )
    if (
        commitment is None
        or commitment.agreement_id is None  # a direct commitment: no share agreement
        or commitment.fulfilled < commitment.quantity
    ):
        return
    agreement = await session.get(AgreementRow, commitment.agreement_id)
    if agreement is None or agreement.proposal_uri is None:
        return
    org = await local_agent(session, urls, commitment.receiver)
    if org is None or org.kind != "Organization":
        return
    proposal = await session.scalar(
        select(ProposalRow).where(ProposalRow.uri == agreement.proposal_uri)
    )
    if proposal is None or proposal.agent_id != org.id:
        return
    # Bought on a share proposal, even one withdrawn since.
    settings = await settings_of(session, org)
    if not await is_share_proposal(session, settings, proposal, open_only=False):
        return
    membership = await membership_of(session, commitment.receiver, commitment.provider)
    if membership is not None and membership.state == "awaiting-shares":
        await accept_membership(session, urls, org, membership)
