"""Commitments and the economic events that fulfil them.

:func:`plan_event` checks an event completely (who may assert it, the commitment it
fulfils, quantities and units) without changing anything; :func:`apply_event` then
records it, applies its ledger effects and the fulfilment, all in the caller's one
transaction. An event a peer sent to credit a local agent that fulfils no commitment
of that agent is recorded as ``claimed`` and applied only when the agent accepts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.ledger.corrections import (
    Totals,
    check_correction,
    check_correction_applies,
    lowered,
)
from instance.ledger.limits import check_peer_payer
from instance.ledger.resources import EventFlow, Origin, apply_effects, changes
from instance.negotiation import dumps
from instance.problems import Problem
from instance.store.models import Agreement as AgreementRow
from instance.store.models import Commitment as CommitmentRow
from instance.store.models import EconomicEvent as EventRow
from instance.store.models import utcnow
from instance.urls import Urls
from vocab import EXACT, Commitment, EconomicEvent, Measure, canonical_decimal, get_action

__all__ = [
    "EventPlan",
    "apply_event",
    "plan_event",
    "record_direct_commitment",
]


@dataclass
class EventPlan:
    """A checked event, ready to record."""

    event: EconomicEvent
    document: dict[str, Any]
    flow: EventFlow
    commitment: CommitmentRow | None
    corrected: EventRow | None
    origin: Origin
    signer: str
    verified_by: str
    #: False for a peer's credit that fulfils no commitment, and for any event that
    #: lowers the balance of an agent who has not consented: held until accepted.
    applies_now: bool
    #: The agents whose resources this event may lower: its asserter, and the
    #: receiver once it accepts.
    consent: frozenset[str]
    corrections: dict[str, Totals]


def _refuse(status: int, detail: str, field: str) -> Problem:
    return Problem(status, detail, field=field)


async def _commitment(session: AsyncSession, event: EconomicEvent) -> CommitmentRow | None:
    if not event.fulfills:
        return None
    if len(event.fulfills) > 1:
        raise _refuse(422, "an event fulfils at most one commitment here", "fulfills")
    row = await session.scalar(
        select(CommitmentRow).where(CommitmentRow.uri == event.fulfills[0]).with_for_update()
    )
    if row is None:
        raise _refuse(422, f"{event.fulfills[0]} is not a commitment known here", "fulfills")
    return row


def _measure(event: EconomicEvent, effort: bool) -> Measure | None:
    return event.effort_quantity if effort else event.resource_quantity


async def plan_event(
    session: AsyncSession,
    urls: Urls,
    event: EconomicEvent,
    document: dict[str, Any],
    *,
    origin: Origin,
    signer: str,
    verified_by: str,
    recorded: bool = False,
    accepted_by: str | None = None,
) -> EventPlan:
    """Check an event against the authority rules and the commitment it fulfils.

    ``recorded`` is for a claimed event being accepted (by ``accepted_by``): it is
    already in the ledger.
    """
    if event.id is None:
        raise _refuse(422, "an event needs an id", "id")
    exists = await session.scalar(select(EventRow.id).where(EventRow.uri == event.id))
    if exists is not None and not recorded:
        raise _refuse(409, f"{event.id} is already recorded; events never change", "id")
    commitment = await _commitment(session, event)
    action_name = event.action or (commitment.action if commitment else None)
    if action_name is None:
        raise _refuse(422, "the event needs an action", "action")
    action = get_action(action_name)
    provider = event.provider or (commitment.provider if commitment else None)
    receiver = event.receiver or (commitment.receiver if commitment else None)
    if provider is None or receiver is None:
        raise _refuse(422, "the event needs a provider and a receiver", "provider")
    # Whoever asserts an event provides it: its own instance speaks for each agent.
    if provider != signer:
        raise _refuse(403, f"{signer} cannot assert an event provided by {provider}", "provider")
    if origin == "peer" and urls.is_local(provider):
        raise _refuse(403, "a peer cannot assert events of this instance's agents", "provider")
    if origin == "peer" and urls.username_of(receiver) is None:
        raise _refuse(422, f"{receiver} is not an agent of this instance", "receiver")
    drawn_on = event.resource_inventoried_as
    if origin == "peer" and drawn_on is not None and urls.is_local(drawn_on):
        raise _refuse(
            403,
            f"{drawn_on} is a resource of this instance: only its agent's own instance "
            "records what leaves it",
            "resourceInventoriedAs",
        )

    corrected = None
    corrections: dict[str, Totals] = {}
    if event.corrects is not None:
        corrected = await session.scalar(
            select(EventRow).where(EventRow.uri == event.corrects).with_for_update()
        )
        if corrected is None:
            raise _refuse(422, f"{event.corrects} is not an event recorded here", "corrects")
        if (corrected.provider, corrected.receiver, corrected.action) != (
            provider,
            receiver,
            action.name,
        ):
            raise _refuse(
                422, "a correction has the parties and action of the event it corrects", "corrects"
            )
        if event.fulfills and event.fulfills[0] != corrected.fulfills:
            raise _refuse(
                422, "a correction fulfils what the event it corrects fulfils", "fulfills"
            )
        corrections = await check_correction(session, event, corrected)
        if commitment is None and corrected.fulfills is not None:
            commitment = await session.scalar(
                select(CommitmentRow)
                .where(CommitmentRow.uri == corrected.fulfills)
                .with_for_update()
            )

    if commitment is not None:
        _check_fulfils(commitment, event, action.name, provider, receiver, corrected is not None)

    resource = event.resource_quantity
    flow = EventFlow(
        action=action,
        provider=provider,
        receiver=receiver,
        quantity=resource.value if resource else None,
        unit=resource.unit if resource else None,
        conforms_to=event.resource_conforms_to
        or (corrected.resource_conforms_to if corrected else None)
        or (commitment.resource_conforms_to if commitment else None),
        resource=event.resource_inventoried_as
        or (corrected.resource_inventoried_as if corrected else None),
        to_resource=event.to_resource_inventoried_as
        or (corrected.to_resource_inventoried_as if corrected else None),
    )
    # Whoever asserts an event consents to what it does to its own side (and is its
    # provider, so a peer's side is never ours); an agent accepting an event consents
    # to what it does to its own.
    consent = frozenset([signer] + ([accepted_by] if accepted_by else []))
    unconsented = lowered(flow) - consent
    if unconsented - {receiver}:
        raise _refuse(
            403,
            f"{signer} cannot lower the balance of {sorted(unconsented - {receiver})[0]}",
            "resourceQuantity",
        )
    if origin == "peer" and any(m.side == "from" and m.sign < 0 for m in changes(action)):
        await check_peer_payer(session, provider, flow.conforms_to, flow.quantity)
    # A peer's credit counts at once when it fulfils a commitment the local receiver
    # holds with that provider; otherwise the receiver decides. Whatever lowers the
    # receiver's balance (a correction backing out a credit) waits for its Accept.
    applies_now = not unconsented and (
        origin == "client"
        or accepted_by == receiver
        or (
            commitment is not None
            and commitment.receiver == receiver
            and commitment.provider == signer
        )
    )
    if corrected is not None and (applies_now or recorded):
        check_correction_applies(event, corrected, corrections)
    return EventPlan(
        event,
        document,
        flow,
        commitment,
        corrected,
        origin,
        signer,
        verified_by,
        applies_now,
        consent,
        corrections,
    )


def _check_fulfils(
    commitment: CommitmentRow,
    event: EconomicEvent,
    action: str,
    provider: str,
    receiver: str,
    correction: bool,
) -> None:
    # A correction may reopen a commitment it fulfilled; nothing else adds to it.
    if commitment.state not in (("accepted", "finished") if correction else ("accepted",)):
        raise _refuse(
            409, f"{commitment.uri} is {commitment.state}: it cannot be fulfilled", "fulfills"
        )
    if (commitment.provider, commitment.receiver) != (provider, receiver):
        raise _refuse(
            403,
            f"{commitment.uri} is from {commitment.provider} to {commitment.receiver}, "
            f"not from {provider} to {receiver}",
            "fulfills",
        )
    if commitment.action != action:
        raise _refuse(422, f"{commitment.uri} is a {commitment.action}, not a {action}", "action")
    conforms = event.resource_conforms_to
    # Work names a skill, not a resource kind: FEP-c5a1 lets the event's differ from
    # its to-do's ("it does not have to match the commitment"). Resources stay exact.
    if (
        not commitment.effort
        and conforms is not None
        and commitment.resource_conforms_to not in (None, conforms)
    ):
        raise _refuse(
            422,
            f"{commitment.uri} is for {commitment.resource_conforms_to}, not {conforms}",
            "resourceConformsTo",
        )
    measure = _measure(event, commitment.effort)
    field = "effortQuantity" if commitment.effort else "resourceQuantity"
    if measure is None:
        raise _refuse(422, f"fulfilling {commitment.uri} needs {field}", field)
    if measure.unit != commitment.unit:
        raise _refuse(
            422,
            f"{commitment.uri} is counted in {commitment.unit}, not {measure.unit}: "
            "different units are never added",
            field,
        )
    total = EXACT.add(commitment.fulfilled, measure.value)
    if total > commitment.quantity:
        raise _refuse(
            409,
            f"{commitment.uri} has {canonical_decimal(commitment.fulfilled)} of "
            f"{canonical_decimal(commitment.quantity)} {commitment.unit} fulfilled; "
            f"{canonical_decimal(measure.value)} more would exceed it",
            field,
        )
    if total < 0 and correction:
        raise _refuse(422, "a correction cannot take the fulfilled quantity below zero", field)


async def apply_event(session: AsyncSession, urls: Urls, plan: EventPlan) -> EventRow:
    """Record the planned event; apply its effects and fulfilment when it counts now."""
    event = plan.event
    row = EventRow(
        uri=event.id,
        action=plan.flow.action.name,
        provider=plan.flow.provider,
        receiver=plan.flow.receiver,
        resource_conforms_to=plan.flow.conforms_to,
        resource_unit=event.resource_quantity.unit if event.resource_quantity else None,
        resource_quantity=event.resource_quantity.value if event.resource_quantity else None,
        effort_unit=event.effort_quantity.unit if event.effort_quantity else None,
        effort_quantity=event.effort_quantity.value if event.effort_quantity else None,
        fulfills=plan.commitment.uri if plan.commitment else None,
        realization_of=event.realization_of or event.reciprocal_realization_of,
        corrects=event.corrects,
        # The process it is an input or output of: its own word, else its commitment's.
        input_of=event.input_of or (plan.commitment.input_of if plan.commitment else None),
        output_of=event.output_of or (plan.commitment.output_of if plan.commitment else None),
        has_point_in_time=event.has_point_in_time,
        state="applied" if plan.applies_now else "claimed",
        signer=plan.signer,
        verified_by=plan.verified_by,
        body=dumps(plan.document),
    )
    if plan.applies_now:
        await _take_effect(session, urls, plan, row)
    session.add(row)
    await session.flush()
    return row


async def _take_effect(session: AsyncSession, urls: Urls, plan: EventPlan, row: EventRow) -> None:
    touched = await apply_effects(session, urls, plan.flow, plan.consent)
    row.resource_conforms_to = plan.flow.conforms_to
    if "from" in touched:
        row.resource_inventoried_as = touched["from"].uri
    elif plan.flow.resource is not None:
        row.resource_inventoried_as = plan.flow.resource
    if "to" in touched:
        row.to_resource_inventoried_as = touched["to"].uri
    elif plan.flow.to_resource is not None:
        row.to_resource_inventoried_as = plan.flow.to_resource
    commitment = plan.commitment
    if commitment is not None:
        measure = _measure(plan.event, commitment.effort)
        assert measure is not None
        commitment.fulfilled = EXACT.add(commitment.fulfilled, measure.value)
        # FEP-3264/c5a1 put ``finished`` on the event that completes a commitment (VF
        # 1.0 has it on the commitment only): it closes the commitment short of its
        # quantity too.
        if commitment.fulfilled == commitment.quantity or plan.event.finished:
            commitment.state, commitment.finished_at = "finished", utcnow()
        elif commitment.state == "finished":
            commitment.state, commitment.finished_at = "accepted", None
        await _maybe_finish_agreement(session, commitment)


async def accept_claimed(session: AsyncSession, urls: Urls, row: EventRow, plan: EventPlan) -> None:
    """The receiving agent accepts a claimed event (planned with ``accepted_by``): it
    takes effect now."""
    assert plan.applies_now, "plan the acceptance with accepted_by=receiver"
    await _take_effect(session, urls, plan, row)
    row.state = "applied"


async def _maybe_finish_agreement(session: AsyncSession, commitment: CommitmentRow) -> None:
    if commitment.agreement_id is None:
        return
    agreement = await session.get(AgreementRow, commitment.agreement_id)
    assert agreement is not None
    await session.flush()
    open_left = await session.scalar(
        select(func.count())
        .select_from(CommitmentRow)
        .where(
            CommitmentRow.agreement_id == agreement.id,
            CommitmentRow.state.not_in(("finished", "cancelled")),
        )
    )
    if open_left == 0 and agreement.state == "agreed":
        agreement.state, agreement.finished_at = "finished", utcnow()
    elif open_left and agreement.state == "finished":
        agreement.state, agreement.finished_at = "agreed", None


async def record_direct_commitment(
    session: AsyncSession, commitment: Commitment, *, creator: str, state: str
) -> CommitmentRow:
    """Record a commitment made outside an agreement (FEP-3264 / FEP-c5a1)."""
    assert commitment.id is not None
    assert commitment.action is not None
    if commitment.provider is None or commitment.receiver is None:
        raise _refuse(422, "a commitment names its provider and its receiver", "provider")
    if creator not in (commitment.provider, commitment.receiver):
        raise _refuse(403, f"{creator} is not a party to this commitment", "provider")
    measure = commitment.effort_quantity or commitment.resource_quantity
    if measure is None:
        raise _refuse(422, "a commitment states its quantity", "resourceQuantity")
    row = CommitmentRow(
        uri=commitment.id,
        creator=creator,
        action=commitment.action,
        provider=commitment.provider,
        receiver=commitment.receiver,
        resource_conforms_to=commitment.resource_conforms_to,
        effort=commitment.effort_quantity is not None,
        unit=measure.unit,
        quantity=measure.value,
        fulfilled=Decimal(0),
        state=state,
        due=commitment.due,
        note=commitment.note,
    )
    session.add(row)
    await session.flush()
    return row


def event_document(row: EventRow) -> dict[str, Any]:
    """An event exactly as recorded, with where it stands here."""
    document: dict[str, Any] = json.loads(row.body)
    document["oce:state"] = row.state
    return document
