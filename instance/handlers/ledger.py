"""Commitments and economic events on the wire (FEP-3264, FEP-c5a1): client posts and
peers' activities, and the confirmation a proposer publishes when an agreement is done.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import OriginError, check_same_origin
from instance.activities import PUBLIC, id_of, object_of
from instance.agents import get_agent
from instance.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.fulfilment import (
    EventPlan,
    accept_claimed,
    apply_event,
    plan_event,
    record_direct_commitment,
)
from instance.handlers.exchange import _normalized, _typed, send_answer
from instance.ledger import MUTUAL_CREDIT
from instance.models import Agent, ResourceSpecification, utcnow
from instance.models import Agreement as AgreementRow
from instance.models import Commitment as CommitmentRow
from instance.models import EconomicEvent as EventRow
from instance.outbound import now_iso, publish
from instance.problems import Problem
from instance.processing import Context, Refused, handles
from instance.services import Services
from instance.specs import ensure_specification
from instance.urls import Urls
from vocab import Commitment, EconomicEvent, to_json
from vocab import ResourceSpecification as SpecObject

__all__: list[str] = []


async def _agent_of(session: AsyncSession, urls: Urls, uri: str) -> Agent | None:
    username = urls.username_of(uri)
    return await get_agent(session, username) if username else None


# Resource specifications ---------------------------------------------------------------


@outbox_handler("Create", "ResourceSpecification")
async def post_specification(sub: Submission) -> Posted:
    activity = _normalized(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the ResourceSpecification itself", field="object")
    document.update(id=sub.svc.urls.new_object("specs"), attributedTo=sub.actor)
    document.setdefault("to", [PUBLIC])
    spec = _typed(document, SpecObject, "object")
    canonical = to_json(spec)
    sub.activity.clear()
    sub.activity.update(activity, object=canonical, to=[PUBLIC])
    agent_id = sub.agent.id

    async def record(session: AsyncSession) -> None:
        session.add(
            ResourceSpecification(
                uri=spec.id,
                agent_id=agent_id,
                name=(spec.name or "")[:500],
                default_unit=spec.default_unit_of_resource,
                mutual_credit=MUTUAL_CREDIT in spec.resource_classified_as,
            )
        )

    return Posted(sub.activity, objects=[canonical], effects=record)


# Direct commitments ---------------------------------------------------------------------


def _counterparty(commitment: CommitmentRow | Commitment, creator: str) -> str:
    other = commitment.receiver if commitment.provider == creator else commitment.provider
    assert other is not None
    return other


@outbox_handler("Create", "Commitment")
async def post_commitment(sub: Submission) -> Posted:
    activity = _normalized(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the Commitment itself", field="object")
    document.update(id=sub.svc.urls.new_object("commitments"), attributedTo=sub.actor)
    commitment = _typed(document, Commitment, "object")
    if commitment.action is None:
        raise Problem(400, "a commitment states its action", field="object.action")
    if sub.actor not in (commitment.provider, commitment.receiver):
        raise Problem(
            403, "an agent commits itself or asks another to commit to it", field="object.provider"
        )
    other = _counterparty(commitment, sub.actor)
    canonical = to_json(commitment)
    sub.activity.clear()
    sub.activity.update(activity, object=canonical, to=[other])
    sub.activity.pop("cc", None)
    await prefetch_addressees(sub, other)
    actor = sub.actor

    async def record(session: AsyncSession) -> None:
        await record_direct_commitment(session, commitment, creator=actor, state="proposed")

    return Posted(sub.activity, effects=record)


@handles("Create", "Commitment")
async def on_commitment(ctx: Context) -> None:
    commitment = _typed(object_of(ctx.activity), Commitment, "object")
    async with ctx.apply() as session:
        existing = await session.scalar(
            select(CommitmentRow.id).where(CommitmentRow.uri == commitment.id)
        )
        if existing is not None:
            return  # both parties are on this instance: the creator's side recorded it
        if commitment.id is None or commitment.action is None:
            raise Refused("a commitment has an id and an action")
        try:
            check_same_origin(commitment.id, ctx.actor)
        except OriginError as exc:
            raise Refused(str(exc)) from None
        other = (
            _counterparty(commitment, ctx.actor)
            if ctx.actor
            in (
                commitment.provider,
                commitment.receiver,
            )
            else None
        )
        if other is None or await _agent_of(session, ctx.svc.urls, other) is None:
            raise Refused("the commitment is not between its sender and an agent of ours")
        await record_direct_commitment(session, commitment, creator=ctx.actor, state="proposed")


async def _commitment_row(session: AsyncSession, uri: str | None) -> CommitmentRow:
    row = await session.scalar(
        select(CommitmentRow).where(CommitmentRow.uri == uri).with_for_update()
    )
    if row is None:
        raise Problem(404, f"{uri} is not a commitment known here", field="object")
    return row


@outbox_handler("Accept", "Commitment")
@outbox_handler("Reject", "Commitment")
async def post_answer_commitment(sub: Submission) -> Posted:
    uri = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await _commitment_row(session, uri)
    if sub.actor not in (row.provider, row.receiver) or sub.actor == row.creator:
        raise Problem(403, f"{uri} awaits the answer of {_counterparty(row, row.creator)}")
    if row.state != "proposed":
        raise Problem(409, f"{uri} is already {row.state}", field="object")
    sub.activity["object"] = uri
    sub.activity["to"] = [row.creator]
    state = "accepted" if sub.activity["type"] == "Accept" else "rejected"

    async def answer(session: AsyncSession) -> None:
        found = await _commitment_row(session, uri)
        if found.state != "proposed":
            raise Problem(409, f"{uri} is already {found.state}", field="object")
        found.state = state

    return Posted(sub.activity, effects=answer)


async def _answer_commitment(ctx: Context, state: str) -> None:
    async with ctx.apply() as session:
        row = await session.scalar(
            select(CommitmentRow)
            .where(CommitmentRow.uri == id_of(object_of(ctx.activity)))
            .with_for_update()
        )
        if (
            row is None
            or not ctx.svc.urls.is_local(row.creator)
            or ctx.actor not in (row.provider, row.receiver)
            or ctx.actor == row.creator
        ):
            raise Refused("an answer to a commitment never sent to that actor")
        if ctx.verified_by == "local" and row.state == state:
            return
        if row.state != "proposed":
            raise Refused(f"the commitment is already {row.state}")
        row.state = state


@handles("Accept", "Commitment")
async def on_accept_commitment(ctx: Context) -> None:
    await _answer_commitment(ctx, "accepted")


@handles("Reject", "Commitment")
async def on_reject_commitment(ctx: Context) -> None:
    await _answer_commitment(ctx, "rejected")


# Economic events ----------------------------------------------------------------------


async def _confirm_if_finished(session: AsyncSession, svc: Services, plan: EventPlan) -> None:
    """FEP-0837: when both parties have done their part, the proposer publishes a
    confirmation that refers to the agreement."""
    commitment = plan.commitment
    if commitment is None or commitment.agreement_id is None:
        return
    agreement = await session.get(AgreementRow, commitment.agreement_id)
    if agreement is None or agreement.state != "finished" or agreement.uri is None:
        return
    proposer = await _agent_of(session, svc.urls, agreement.proposer)
    if proposer is None:
        return
    receipt = svc.urls.new_object("receipts")
    await publish(
        session,
        svc.urls,
        proposer,
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": svc.urls.new_activity(),
            "type": "Create",
            "actor": agreement.proposer,
            "object": {
                "id": receipt,
                "type": "Document",
                "name": "Receipt",
                "attributedTo": agreement.proposer,
                "context": agreement.uri,
                "content": "Both parties fulfilled the agreement.",
                "published": now_iso(),
                "to": [agreement.counterparty],
            },
            "to": [agreement.counterparty],
            "published": now_iso(),
        },
    )


@outbox_handler("Create", "EconomicEvent")
async def post_event(sub: Submission) -> Posted:
    activity = _normalized(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the EconomicEvent itself", field="object")
    document.update(id=sub.svc.urls.new_object("events"))
    document.setdefault("provider", sub.actor)
    document.setdefault("hasPointInTime", activity["published"])
    event = _typed(document, EconomicEvent, "object")
    svc, actor = sub.svc, sub.actor
    await ensure_specification(svc, await _kind_of(svc, event))
    if event.receiver is not None and event.receiver != actor:
        await prefetch_addressees(sub, event.receiver)
    sub.activity.clear()
    sub.activity.update(activity)

    async def record(session: AsyncSession) -> None:
        plan = await plan_event(
            session, svc.urls, event, document, origin="client", signer=actor, verified_by="local"
        )
        row = await apply_event(session, svc.urls, plan)
        # The event as recorded: completed with the parties, action and resources the
        # ledger settled on.
        recorded = dict(document)
        recorded.update(
            action=row.action,
            provider=row.provider,
            receiver=row.receiver,
        )
        for key, value in (
            ("resourceInventoriedAs", row.resource_inventoried_as),
            ("toResourceInventoriedAs", row.to_resource_inventoried_as),
            ("resourceConformsTo", row.resource_conforms_to),
        ):
            if value is not None and (key != "toResourceInventoriedAs" or svc.urls.is_local(value)):
                recorded[key] = value
        row.body = json.dumps(recorded, ensure_ascii=False, separators=(",", ":"))
        sub.activity["object"] = recorded
        if row.receiver != actor:
            sub.activity["to"] = [row.receiver]
        await _confirm_if_finished(session, svc, plan)

    return Posted(sub.activity, effects=record)


async def _kind_of(svc: Services, event: EconomicEvent) -> str | None:
    """The resource kind an event moves: its own, or its commitment's."""
    if event.resource_conforms_to is not None or not event.fulfills:
        return event.resource_conforms_to
    async with svc.db.read() as session:
        kind: str | None = await session.scalar(
            select(CommitmentRow.resource_conforms_to).where(CommitmentRow.uri == event.fulfills[0])
        )
    return kind


@handles("Create", "EconomicEvent")
async def on_event(ctx: Context) -> None:
    document = object_of(ctx.activity)
    event = _typed(document, EconomicEvent, "object")
    await ensure_specification(ctx.svc, await _kind_of(ctx.svc, event))
    async with ctx.svc.db.read() as session:
        known = await session.scalar(select(EventRow.id).where(EventRow.uri == event.id))
    if known is not None and ctx.verified_by == "local":
        async with ctx.apply():
            return  # recorded by the provider's client on this same instance
    try:
        async with ctx.apply() as session:
            if event.id is None:
                raise Refused("an event has an id")
            try:
                check_same_origin(event.id, ctx.actor)
            except OriginError as exc:
                raise Refused(str(exc)) from None
            plan = await plan_event(
                session,
                ctx.svc.urls,
                event,
                document,
                origin="peer",
                signer=ctx.actor,
                verified_by=ctx.verified_by,
            )
            await apply_event(session, ctx.svc.urls, plan)
            if plan.applies_now:
                receiver = await _agent_of(session, ctx.svc.urls, plan.flow.receiver)
                assert receiver is not None
                await send_answer(session, ctx.svc, receiver, "Accept", event.id, ctx.actor)
                await _confirm_if_finished(session, ctx.svc, plan)
    except Problem as refusal:
        await _reject_event(ctx, event, refusal.detail)
        raise


async def _reject_event(ctx: Context, event: EconomicEvent, reason: str) -> None:
    """Tell the sender why its event did not count (in a transaction of its own). The
    answer comes from the local agent the event names: its receiver, else its provider."""
    async with ctx.svc.db.write() as session:
        for named in (event.receiver, event.provider):
            agent = await _agent_of(session, ctx.svc.urls, named or "")
            if agent is not None and event.id is not None:
                await send_answer(
                    session, ctx.svc, agent, "Reject", event.id, ctx.actor, content=reason
                )
                break
    ctx.svc.wake()


@outbox_handler("Accept", "EconomicEvent")
async def post_accept_event(sub: Submission) -> Posted:
    uri = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await session.scalar(select(EventRow).where(EventRow.uri == uri))
    if row is None or row.receiver != sub.actor:
        raise Problem(404, f"{uri} is not an event received by this agent", field="object")
    if row.state != "claimed":
        raise Problem(409, f"{uri} is {row.state}, not waiting for acceptance", field="object")
    sub.activity["object"] = uri
    sub.activity["to"] = [row.provider]
    svc = sub.svc

    async def accept(session: AsyncSession) -> None:
        found = await session.scalar(select(EventRow).where(EventRow.uri == uri).with_for_update())
        assert found is not None
        if found.state != "claimed":
            raise Problem(409, f"{uri} is {found.state}", field="object")
        event = _typed(json.loads(found.body), EconomicEvent, "object")
        plan = await plan_event(
            session,
            svc.urls,
            event,
            json.loads(found.body),
            origin="peer",
            signer=found.signer,
            verified_by=found.verified_by,
            recorded=True,
        )
        await accept_claimed(session, svc.urls, found, plan)
        await _confirm_if_finished(session, svc, plan)

    return Posted(sub.activity, effects=accept)


@handles("Accept", "EconomicEvent")
async def on_accept_event(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await session.scalar(
            select(EventRow).where(EventRow.uri == id_of(object_of(ctx.activity)))
        )
        if row is None or not ctx.svc.urls.is_local(row.uri) or row.receiver != ctx.actor:
            raise Refused("Accept of an event never sent to that actor")
        row.acknowledged = True


@handles("Reject", "EconomicEvent")
async def on_reject_event(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await session.scalar(
            select(EventRow).where(EventRow.uri == id_of(object_of(ctx.activity)))
        )
        if row is None or not ctx.svc.urls.is_local(row.uri) or row.receiver != ctx.actor:
            raise Refused("Reject of an event never sent to that actor")
        # Our record stands (events never change); the refusal is in the inbox of the
        # provider, who may correct it with a new event.


async def _immutable(ctx: Context) -> None:
    raise Refused("economic events never change; a mistake is corrected by a new event")


@outbox_handler("Update", "EconomicEvent")
@outbox_handler("Delete", "EconomicEvent")
async def post_change_event(sub: Submission) -> Posted:
    raise Problem(
        409,
        "economic events never change: post a new event with corrects to fix a mistake",
        field="type",
    )


handles("Update", "EconomicEvent")(_immutable)
handles("Delete", "EconomicEvent")(_immutable)

_ = (utcnow, Any)
