"""Proposals, offers and agreements between agents (FEP-0837).

A proposal publishes primary intents (what is offered or requested) and reciprocal
ones (what is asked in return). An interested agent offers an agreement whose
commitments satisfy those intents; the proposer accepts (finalizing the agreement:
ids, provider and receiver of each commitment, lower available quantities) or
rejects. :func:`check_offer` is the one place that decides whether an agreement fits
a proposal; both sides call it, so a client learns of a bad offer before it is sent
and a proposer never records one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.negotiation import dumps
from instance.problems import Problem
from instance.store.models import Agreement as AgreementRow
from instance.store.models import Commitment as CommitmentRow
from instance.store.models import Intent as IntentRow
from instance.store.models import Proposal as ProposalRow
from instance.store.models import utcnow
from instance.urls import Urls
from vocab import (
    EXACT,
    Agreement,
    Commitment,
    Intent,
    Measure,
    Proposal,
    canonical_decimal,
    parse_object,
    to_json,
)

__all__ = [
    "OfferRefused",
    "OfferTerms",
    "check_offer",
    "counted",
    "finalize",
    "proposal_document",
    "record_finalized",
    "store_proposal",
]


class OfferRefused(Problem):
    """An agreement that does not fit its proposal; the reason goes back in a Reject."""

    def __init__(self, reason: str, field: str = "object") -> None:
        super().__init__(422, reason, field=field)


def counted(flow: Intent | Commitment) -> tuple[Measure, bool]:
    """The quantity a flow counts, and whether it is effort (else the resource)."""
    if flow.effort_quantity is not None and flow.resource_quantity is None:
        return flow.effort_quantity, True
    if flow.resource_quantity is None:
        raise OfferRefused("the flow states no quantity", "resourceQuantity")
    return flow.resource_quantity, False


# Proposals ----------------------------------------------------------------------------


async def store_proposal(
    session: AsyncSession, document: dict[str, Any], *, agent_id: int | None
) -> ProposalRow:
    """Record a proposal (ours, or a peer's) with its intents."""
    proposal = parse_object(document)
    if not isinstance(proposal, Proposal):
        raise Problem(422, "not a Proposal", field="object.type")
    assert proposal.id is not None
    assert proposal.attributed_to is not None
    row = ProposalRow(
        uri=proposal.id,
        agent_id=agent_id,
        proposer=proposal.attributed_to,
        purpose=proposal.purpose,
        unit_based=proposal.unit_based,
        name=(proposal.name or "")[:500],
        public="https://www.w3.org/ns/activitystreams#Public" in proposal.to + proposal.cc,
        body=dumps(document),
    )
    session.add(row)
    await session.flush()
    for reciprocal, intents in ((False, proposal.publishes), (True, proposal.reciprocal)):
        for intent in intents:
            if isinstance(intent, str) or intent.id is None:
                raise Problem(422, "a proposal's intents are embedded, with ids", field="publishes")
            measure, effort = counted(intent)
            available = intent.available_quantity
            session.add(
                IntentRow(
                    uri=intent.id,
                    proposal_id=row.id,
                    reciprocal=reciprocal,
                    action=intent.action,
                    resource_conforms_to=intent.resource_conforms_to,
                    effort=effort,
                    unit=measure.unit,
                    quantity=measure.value,
                    available=available.value if available is not None else None,
                )
            )
    await session.flush()
    return row


async def intents_of(session: AsyncSession, proposal: ProposalRow) -> Sequence[IntentRow]:
    return (
        await session.scalars(
            select(IntentRow).where(IntentRow.proposal_id == proposal.id).order_by(IntentRow.id)
        )
    ).all()


def proposal_document(proposal: ProposalRow, intents: Sequence[IntentRow]) -> dict[str, Any]:
    """The proposal as published, with each intent's live ``availableQuantity``."""
    document: dict[str, Any] = json.loads(proposal.body)
    live = {intent.uri: intent for intent in intents}
    for key in ("publishes", "reciprocal"):
        value = document.get(key)
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                continue
            row = live.get(str(item.get("id")))
            if row is not None and row.available is not None:
                item["availableQuantity"] = {
                    "hasUnit": row.unit,
                    "hasNumericalValue": canonical_decimal(row.available),
                }
    if proposal.state != "open":
        document["oce:state"] = proposal.state
    return document


# Offers -------------------------------------------------------------------------------


@dataclass
class OfferLine:
    commitment: Commitment
    intent: IntentRow
    measure: Measure


@dataclass
class OfferTerms:
    """An agreement checked against its proposal."""

    proposal: ProposalRow
    lines: list[OfferLine]
    factor: Decimal


def _embedded(agreement: Agreement) -> list[tuple[Commitment, bool]]:
    found: list[tuple[Commitment, bool]] = []
    for reciprocal, items in (
        (False, agreement.stipulates),
        (True, agreement.stipulates_reciprocal),
    ):
        for item in items:
            if isinstance(item, str):
                raise OfferRefused("commitments must be embedded in the agreement", "stipulates")
            found.append((item, reciprocal))
    return found


async def check_offer(
    session: AsyncSession,
    agreement: Agreement,
    *,
    lock: bool = False,
    check_available: bool = True,
) -> OfferTerms:
    """Check that ``agreement`` fits the open proposal its commitments satisfy.

    Quantities must equal the intents' (or be the same whole multiple of them when the
    proposal is unit based), in the intents' units, within what is still available.
    The offerer's side, recording the agreement the proposer finalized, does not check
    availability: its copy of the proposal may lag behind the proposer's.
    """
    commitments = _embedded(agreement)
    lines: list[OfferLine] = []
    proposal: ProposalRow | None = None
    for commitment, reciprocal in commitments:
        if len(commitment.satisfies) != 1:
            raise OfferRefused("each commitment satisfies exactly one intent", "satisfies")
        query = select(IntentRow).where(IntentRow.uri == commitment.satisfies[0])
        intent = await session.scalar(query.with_for_update() if lock else query)
        if intent is None:
            raise OfferRefused(f"{commitment.satisfies[0]} is not an intent of a known proposal")
        owner = await session.get(ProposalRow, intent.proposal_id)
        assert owner is not None
        if proposal is not None and owner.id != proposal.id:
            raise OfferRefused("all commitments must satisfy intents of one proposal")
        proposal = owner
        if intent.reciprocal != reciprocal:
            where = "stipulatesReciprocal" if reciprocal else "stipulates"
            raise OfferRefused(f"{intent.uri} does not belong in {where}", where)
        measure, _effort = counted(commitment)
        if measure.unit != intent.unit:
            raise OfferRefused(
                f"{intent.uri} is counted in {intent.unit}, not {measure.unit}", "resourceQuantity"
            )
        if commitment.action is not None and commitment.action != intent.action:
            raise OfferRefused(f"{intent.uri} is a {intent.action}, not a {commitment.action}")
        conforms = commitment.resource_conforms_to
        if conforms is not None and conforms != intent.resource_conforms_to:
            raise OfferRefused(f"{intent.uri} is for {intent.resource_conforms_to}, not {conforms}")
        lines.append(OfferLine(commitment, intent, measure))
    assert proposal is not None
    if proposal.state != "open" and check_available:
        raise OfferRefused(f"the proposal {proposal.uri} is {proposal.state}")
    intents = await intents_of(session, proposal)
    covered = sorted(line.intent.uri for line in lines)
    if covered != sorted(intent.uri for intent in intents):
        raise OfferRefused("the agreement must satisfy each intent of the proposal exactly once")
    factors = {EXACT.divide(line.measure.value, line.intent.quantity) for line in lines}
    if len(factors) != 1:
        raise OfferRefused("every quantity must be the same multiple of its intent's")
    factor = factors.pop()
    if proposal.unit_based:
        if factor != factor.to_integral_value() or factor < 1:
            raise OfferRefused(
                "quantities must be whole multiples of the proposal's (it is unit based)",
                "resourceQuantity",
            )
    elif factor != 1:
        raise OfferRefused("quantities must equal the proposal's", "resourceQuantity")
    for line in lines:
        available = line.intent.available
        if check_available and available is not None and line.measure.value > available:
            raise OfferRefused(
                f"only {canonical_decimal(available)} {line.intent.unit} of {line.intent.uri} "
                f"is still available",
                "resourceQuantity",
            )
    return OfferTerms(proposal, lines, factor)


def parties(proposal: ProposalRow, reciprocal: bool, counterparty: str) -> tuple[str, str]:
    """(provider, receiver) of a commitment: in an offer the proposer provides the
    primary flows and receives the reciprocal ones; in a request, the reverse."""
    proposer_provides = (proposal.purpose == "offer") != reciprocal
    if proposer_provides:
        return proposal.proposer, counterparty
    return counterparty, proposal.proposer


def _commitment_row(
    line: OfferLine, uri: str, proposal: ProposalRow, counterparty: str, agreement: AgreementRow
) -> CommitmentRow:
    provider, receiver = parties(proposal, line.intent.reciprocal, counterparty)
    return CommitmentRow(
        uri=uri,
        agreement_id=agreement.id,
        reciprocal=line.intent.reciprocal,
        creator=proposal.proposer,
        action=line.intent.action,
        provider=provider,
        receiver=receiver,
        resource_conforms_to=line.intent.resource_conforms_to,
        satisfies=line.intent.uri,
        effort=line.intent.effort,
        unit=line.measure.unit,
        quantity=line.measure.value,
        fulfilled=Decimal(0),
        state="accepted",
    )


def _fragment_ids(agreement_uri: str, lines: list[OfferLine]) -> list[str]:
    """FEP-0837's recommended ids: ``#primary`` and ``#reciprocal`` (numbered after)."""
    ids: list[str] = []
    seen: dict[bool, int] = {}
    for line in lines:
        count = seen[line.intent.reciprocal] = seen.get(line.intent.reciprocal, 0) + 1
        name = "reciprocal" if line.intent.reciprocal else "primary"
        ids.append(f"{agreement_uri}#{name}" + (f"-{count}" if count > 1 else ""))
    return ids


def _finalized_json(agreement_uri: str, rows: list[CommitmentRow]) -> dict[str, Any]:
    primary = [commitment_json(row, agreement_uri) for row in rows if not row.reciprocal]
    reciprocal = [commitment_json(row, agreement_uri) for row in rows if row.reciprocal]
    document: dict[str, Any] = {"id": agreement_uri, "type": "Agreement"}
    document["stipulates"] = primary[0] if len(primary) == 1 else primary
    if reciprocal:
        document["stipulatesReciprocal"] = reciprocal[0] if len(reciprocal) == 1 else reciprocal
    return document


async def finalize(
    session: AsyncSession, urls: Urls, agreement: AgreementRow, terms: OfferTerms
) -> dict[str, Any]:
    """The proposer accepts: mint ids, fill in the parties, lower what is available."""
    uri = urls.new_object("agreements")
    rows = [
        _commitment_row(line, commitment_uri, terms.proposal, agreement.counterparty, agreement)
        for line, commitment_uri in zip(terms.lines, _fragment_ids(uri, terms.lines), strict=True)
    ]
    for row, line in zip(rows, terms.lines, strict=True):
        row.reciprocal = line.intent.reciprocal
        if line.intent.available is not None:
            line.intent.available = EXACT.subtract(line.intent.available, line.measure.value)
    session.add_all(rows)
    agreement.uri = uri
    agreement.state = "agreed"
    agreement.agreed_at = utcnow()
    document = _finalized_json(uri, rows)
    agreement.body = dumps(document)
    await session.flush()
    return document


async def record_finalized(
    session: AsyncSession, agreement: AgreementRow, finalized: Agreement, terms: OfferTerms
) -> None:
    """The offerer's side records the agreement the proposer finalized, after checking
    it is the one offered: same intents, same quantities, the right parties."""
    offered = {line.intent.uri: line for line in terms.lines}
    rows: list[CommitmentRow] = []
    for commitment, reciprocal in _embedded(finalized):
        if commitment.id is None or len(commitment.satisfies) != 1:
            raise OfferRefused("a finalized commitment has an id and satisfies one intent")
        line = offered.pop(commitment.satisfies[0], None)
        if line is None or line.intent.reciprocal != reciprocal:
            raise OfferRefused(f"{commitment.id} was not in the offer")
        measure, _ = counted(commitment)
        if measure != line.measure:
            raise OfferRefused(f"{commitment.id} changes the offered quantity {line.measure}")
        row = _commitment_row(
            line, commitment.id, terms.proposal, agreement.counterparty, agreement
        )
        if (commitment.provider, commitment.receiver) not in (
            (None, None),
            (row.provider, row.receiver),
        ):
            raise OfferRefused(f"{commitment.id} names other parties than the agreement's")
        rows.append(row)
    if offered:
        raise OfferRefused("the finalized agreement leaves out offered commitments")
    session.add_all(rows)
    agreement.uri = finalized.id
    agreement.state = "agreed"
    agreement.agreed_at = utcnow()
    agreement.body = dumps(_finalized_json(finalized.id or "", rows))
    await session.flush()


# Documents ----------------------------------------------------------------------------


def commitment_json(row: CommitmentRow, agreement_uri: str | None = None) -> dict[str, Any]:
    """A commitment's current JSON: what was promised and how much has happened."""
    measure = Measure(row.quantity, row.unit)
    commitment = Commitment(
        id=row.uri,
        action=row.action,
        provider=row.provider,
        receiver=row.receiver,
        resource_conforms_to=row.resource_conforms_to,
        resource_quantity=None if row.effort else measure,
        effort_quantity=measure if row.effort else None,
        satisfies=(row.satisfies,) if row.satisfies else (),
        clause_of=agreement_uri if agreement_uri and not row.reciprocal else None,
        reciprocal_clause_of=agreement_uri if agreement_uri and row.reciprocal else None,
        due=row.due,
        note=row.note,
        finished=row.state == "finished",
        fulfilled_quantity=Measure(row.fulfilled, row.unit),
        input_of=row.input_of,
        output_of=row.output_of,
        planned_within=row.planned_within,
    )
    return to_json(commitment)


def agreement_document(agreement: AgreementRow, rows: Sequence[CommitmentRow]) -> dict[str, Any]:
    """The agreement as it stands: finalized commitments with their fulfilment."""
    if agreement.uri is None:
        document: dict[str, Any] = json.loads(agreement.body)
    else:
        document = _finalized_json(agreement.uri, list(rows))
    document["oce:state"] = agreement.state
    return document
