"""Economic events on the wire (FEP-3264, FEP-c5a1), and the confirmation a proposer
publishes when both parties have done their part (FEP-0837)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import OriginError, check_same_origin
from instance.activities import id_of, object_of
from instance.coop.contributions import observe_event, record_outcome, trusted_credit
from instance.coop.joining import reason_of
from instance.coop.validation import is_verdict, on_verdict, post_verdict
from instance.handlers.commitments import agent_of
from instance.inbox.processing import Context, Refused, handles
from instance.ledger.fulfilment import EventPlan, accept_claimed, apply_event, plan_event
from instance.ledger.reversal import revert_declined
from instance.ledger.specs import ensure_specification
from instance.negotiation import dumps
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.publish import answer, now_iso, publish
from instance.outbox.vfdocs import client_document, typed
from instance.planning.progress import after_event
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agreement as AgreementRow
from instance.store.models import Commitment as CommitmentRow
from instance.store.models import EconomicEvent as EventRow
from vocab import EconomicEvent

__all__: list[str] = []


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
    proposer = await agent_of(session, svc.urls, agreement.proposer)
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
    activity = await client_document(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the EconomicEvent itself", field="object")
    document.update(id=sub.svc.urls.new_object("events"))
    document.setdefault("provider", sub.actor)
    document.setdefault("hasPointInTime", activity["published"])
    event = typed(document, EconomicEvent, "object")
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
        await observe_event(session, svc.urls, row, document)
        await after_event(session, row)
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
        row.body = dumps(recorded)
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
    event = typed(document, EconomicEvent, "object")
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
            if not plan.applies_now and await trusted_credit(session, ctx.svc.urls, plan):
                plan.applies_now = True  # a cooperative's payment or share (coop)
            row = await apply_event(session, ctx.svc.urls, plan)
            await observe_event(session, ctx.svc.urls, row, document)
            await after_event(session, row)
            if plan.applies_now:
                receiver = await agent_of(session, ctx.svc.urls, plan.flow.receiver)
                assert receiver is not None
                await answer(session, ctx.svc.urls, receiver, "Accept", event.id, ctx.actor)
                await _confirm_if_finished(session, ctx.svc, plan)
    except Problem as refusal:
        answered = await _reject_event(ctx, event, refusal.detail)
        raise Refused(refusal.detail, answered=answered) from None


async def _reject_event(ctx: Context, event: EconomicEvent, reason: str) -> bool:
    """Tell the sender why its event did not count (in a transaction of its own). The
    answer comes from the local agent the event names: its receiver, else its provider.
    False when no local agent is named (the processor then answers the activity)."""
    answered = False
    async with ctx.svc.db.write() as session:
        for named in (event.receiver, event.provider):
            agent = await agent_of(session, ctx.svc.urls, named or "")
            if agent is not None and event.id is not None:
                await answer(
                    session, ctx.svc.urls, agent, "Reject", event.id, ctx.actor, content=reason
                )
                answered = True
                break
    ctx.svc.wake()
    return answered


async def _held_event(sub: Submission) -> EventRow | None:
    """The event an Accept or Reject from the outbox answers, addressed back to its
    provider: one held for this agent's acceptance. None when the answer is instead a
    validator's verdict on a contribution (coop's :func:`post_verdict`)."""
    uri = id_of(object_of(sub.activity))
    if await is_verdict(sub.svc, uri, sub.actor):
        return None
    async with sub.svc.db.read() as session:
        row = await session.scalar(select(EventRow).where(EventRow.uri == uri))
    if row is None or row.receiver != sub.actor:
        if sub.activity.get("context"):
            return None  # a verdict on a contribution to a remote organization
        raise Problem(404, f"{uri} is not an event received by this agent", field="object")
    if row.state != "claimed":
        raise Problem(409, f"{uri} is {row.state}, not waiting for acceptance", field="object")
    sub.activity["object"] = uri
    sub.activity["to"] = [row.provider]
    return row


async def _still_held(session: AsyncSession, uri: str) -> EventRow:
    """The held event, locked, checked again inside the transaction that answers it."""
    found = await session.scalar(select(EventRow).where(EventRow.uri == uri).with_for_update())
    assert found is not None
    if found.state != "claimed":
        raise Problem(409, f"{uri} is {found.state}", field="object")
    return found


@outbox_handler("Accept", "EconomicEvent")
async def post_accept_event(sub: Submission) -> Posted:
    held = await _held_event(sub)
    if held is None:
        return await post_verdict(sub)  # a validator approves a contribution (coop)
    uri, svc = held.uri, sub.svc

    async def accept(session: AsyncSession) -> None:
        await _accept_held(session, svc, await _still_held(session, uri), sub.actor)

    return Posted(sub.activity, effects=accept)


@outbox_handler("Reject", "EconomicEvent")
async def post_decline_event(sub: Submission) -> Posted:
    """The receiver declines a peer's credit that waits for acceptance: it stays
    ``declined`` (events never change, nothing moves) and the provider is told."""
    held = await _held_event(sub)
    if held is None:
        return await post_verdict(sub)  # a validator rejects a contribution (coop)
    uri = held.uri
    sub.activity.pop("cc", None)

    async def decline(session: AsyncSession) -> None:
        (await _still_held(session, uri)).state = "declined"

    return Posted(sub.activity, effects=decline)


async def _accept_held(session: AsyncSession, svc: Services, row: EventRow, by: str) -> None:
    """The receiver accepts a held event: checked again, as it stands now, and applied."""
    document = json.loads(row.body)
    plan = await plan_event(
        session,
        svc.urls,
        typed(document, EconomicEvent, "object"),
        document,
        origin="client" if row.verified_by == "local" else "peer",
        signer=row.signer,
        verified_by=row.verified_by,
        recorded=True,
        accepted_by=by,
    )
    await accept_claimed(session, svc.urls, row, plan)
    await after_event(session, row)
    await _confirm_if_finished(session, svc, plan)


@handles("Accept", "EconomicEvent")
async def on_accept_event(ctx: Context) -> None:
    if await is_verdict(ctx.svc, id_of(object_of(ctx.activity)), ctx.actor):
        return await on_verdict(ctx)  # a validator's verdict on a contribution (coop)
    async with ctx.apply() as session:
        row = await session.scalar(
            select(EventRow).where(EventRow.uri == id_of(object_of(ctx.activity))).with_for_update()
        )
        if row is None or not ctx.svc.urls.is_local(row.uri) or row.receiver != ctx.actor:
            raise Refused("Accept of an event never sent to that actor")
        row.acknowledged = True
        if row.state == "claimed":
            # A correction that lowered the remote receiver's side waited for this.
            await _accept_held(session, ctx.svc, row, ctx.actor)
        await record_outcome(session, row.uri, ctx.actor, True, "")


@handles("Reject", "EconomicEvent")
async def on_reject_event(ctx: Context) -> None:
    if await is_verdict(ctx.svc, id_of(object_of(ctx.activity)), ctx.actor):
        return await on_verdict(ctx)  # a validator's verdict on a contribution (coop)
    async with ctx.apply() as session:
        row = await session.scalar(
            select(EventRow).where(EventRow.uri == id_of(object_of(ctx.activity)))
        )
        if row is None or not ctx.svc.urls.is_local(row.uri) or row.receiver != ctx.actor:
            raise Refused("Reject of an event never sent to that actor")
        await record_outcome(session, row.uri, ctx.actor, False, reason_of(ctx.activity))
        # The receiver declined it, or its instance refused it: it changed nothing
        # there, so what it did here is reverted. The record stays (events never
        # change), as ``declined``; the reason is in the provider's inbox.
        await revert_declined(session, row)


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
