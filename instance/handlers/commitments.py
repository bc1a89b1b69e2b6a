"""Resource specifications and direct commitments on the wire (FEP-3264, FEP-c5a1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import OriginError, check_same_origin
from instance.activities import PUBLIC, addressees, id_of, object_of
from instance.agents import get_agent
from instance.inbox.processing import Context, Refused, handles
from instance.ledger.fulfilment import record_direct_commitment
from instance.ledger.resources import MUTUAL_CREDIT
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.vfdocs import client_document, typed
from instance.planning.lifecycle import cancel
from instance.problems import Problem
from instance.store.models import Agent, ResourceSpecification
from instance.store.models import Commitment as CommitmentRow
from instance.urls import Urls
from vocab import Commitment, to_json
from vocab import ResourceSpecification as SpecObject

__all__ = ["agent_of"]


async def agent_of(session: AsyncSession, urls: Urls, uri: str) -> Agent | None:
    """The local agent with id ``uri``, or None."""
    username = urls.username_of(uri)
    return await get_agent(session, username) if username else None


# Resource specifications ---------------------------------------------------------------


@outbox_handler("Create", "ResourceSpecification")
async def post_specification(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the ResourceSpecification itself", field="object")
    document.update(id=sub.svc.urls.new_object("specs"), attributedTo=sub.actor)
    document.setdefault("to", [PUBLIC])
    spec = typed(document, SpecObject, "object")
    mutual_credit = MUTUAL_CREDIT in spec.resource_classified_as
    limit = spec.credit_limit
    if limit is not None and (not mutual_credit or limit.value < 0):
        raise Problem(
            400,
            f"a credit limit is a quantity of zero or more, on a kind classified {MUTUAL_CREDIT}",
            field="object.creditLimit",
        )
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
                mutual_credit=mutual_credit,
                credit_limit=limit.value if limit is not None else None,
            )
        )

    return Posted(sub.activity, objects=[canonical], effects=record)


# Direct commitments ---------------------------------------------------------------------


def _counterparty(commitment: CommitmentRow | Commitment, creator: str) -> str:
    other = commitment.receiver if commitment.provider == creator else commitment.provider
    assert other is not None
    return other


def as_todo(commitment: Commitment, activity: Mapping[str, Any]) -> Commitment:
    """A FEP-c5a1 to-do read as the commitment it is.

    FEP-c5a1 writes a to-do as a ``Commitment`` without ``action``: it is work. Its
    ``provider`` defaults to the actor it is sent to, its ``receiver`` to its author.
    A commitment that states an action, or counts a resource, is left as it is.
    """
    if commitment.action is not None or commitment.resource_quantity is not None:
        return commitment
    target = object_of(activity)
    audience = [
        address
        for source in (target if isinstance(target, dict) else {}, activity)
        for address in addressees(source)
        if address != PUBLIC
    ]
    addressee = audience[0] if len(set(audience)) == 1 else None
    return replace(
        commitment,
        action="work",
        provider=commitment.provider or addressee,
        receiver=commitment.receiver or commitment.attributed_to,
    )


@outbox_handler("Create", "Commitment")
async def post_commitment(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = object_of(activity)
    if not isinstance(document, dict):
        raise Problem(400, "Create needs the Commitment itself", field="object")
    document.update(id=sub.svc.urls.new_object("commitments"), attributedTo=sub.actor)
    commitment = as_todo(typed(document, Commitment, "object"), activity)
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
    commitment = as_todo(typed(object_of(ctx.activity), Commitment, "object"), ctx.activity)
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
        if other is None or await agent_of(session, ctx.svc.urls, other) is None:
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
    rejecting = sub.activity["type"] == "Reject"
    if row.state != "proposed" and not (rejecting and row.state == "accepted"):
        raise Problem(409, f"{uri} is already {row.state}", field="object")
    sub.activity["object"] = uri
    sub.activity["to"] = [row.creator]
    state = "rejected" if rejecting else "accepted"
    actor = sub.actor

    async def decide(session: AsyncSession) -> None:
        found = await _commitment_row(session, uri)
        if rejecting and found.state == "accepted":
            await cancel(session, found, actor)  # accepted, then withdrawn: cancelled
        elif found.state != "proposed":
            raise Problem(409, f"{uri} is already {found.state}", field="object")
        else:
            found.state = state

    return Posted(sub.activity, effects=decide)


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
        if ctx.verified_by == "local" and row.state in (state, "cancelled"):
            return
        if state == "rejected" and row.state == "accepted":
            await cancel(session, row, ctx.actor)  # accepted, then withdrawn: cancelled
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
