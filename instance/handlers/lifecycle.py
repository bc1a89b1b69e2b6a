"""A commitment's life on the wire after it is made: ``Update`` (changed, or finished
as FEP-c5a1 says) and ``Delete`` (cancelled), from a party's client and from peers.

The rules are in :mod:`instance.planning.lifecycle`; both parties' instances apply
them, each to its own record, so both end in the same state.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of, object_of
from instance.inbox.processing import Context, Refused, handles
from instance.ledger.exchange import commitment_json
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.vfdocs import client_document
from instance.planning.lifecycle import (
    apply_change,
    cancel,
    check_change,
    locked_commitment,
    read_change,
)
from instance.problems import Problem
from instance.store.models import Commitment

__all__: list[str] = []


def _other(row: Commitment, actor: str) -> str:
    return row.receiver if row.provider == actor else row.provider


async def _known(sub: Submission, uri: str | None) -> Commitment:
    async with sub.svc.db.read() as session:
        row = await locked_commitment(session, uri)
    if row is None or sub.actor not in (row.provider, row.receiver):
        raise Problem(404, f"{uri} is not a commitment of this agent", field="object")
    return row


@outbox_handler("Update", "Commitment")
async def post_update_commitment(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = object_of(activity)
    uri = id_of(document)
    change = read_change(document)
    row = await _known(sub, uri)
    check_change(row, sub.actor, change)
    other = _other(row, sub.actor)
    sub.activity.clear()
    sub.activity.update(activity, to=[other])
    sub.activity.pop("cc", None)
    await prefetch_addressees(sub, other)
    actor = sub.actor

    async def update(session: AsyncSession) -> None:
        found = await locked_commitment(session, uri)
        assert found is not None
        check_change(found, actor, change)
        await apply_change(session, found, change)
        sub.activity["object"] = commitment_json(found)

    return Posted(sub.activity, effects=update)


@outbox_handler("Delete", "Commitment")
async def post_cancel_commitment(sub: Submission) -> Posted:
    uri = id_of(object_of(sub.activity))
    row = await _known(sub, uri)
    if sub.actor != row.creator:
        raise Problem(
            403,
            f"only {row.creator}, who made {uri}, deletes it; Reject it to cancel it",
            field="object",
        )
    if row.state not in ("proposed", "accepted"):
        raise Problem(409, f"{uri} is {row.state}: it can no longer be cancelled", field="object")
    other = _other(row, sub.actor)
    sub.activity["object"] = uri
    sub.activity["to"] = [other]
    sub.activity.pop("cc", None)
    await prefetch_addressees(sub, other)
    actor = sub.actor

    async def cancelled(session: AsyncSession) -> None:
        found = await locked_commitment(session, uri)
        assert found is not None
        await cancel(session, found, actor)

    return Posted(sub.activity, effects=cancelled)


@handles("Update", "Commitment")
async def on_update_commitment(ctx: Context) -> None:
    document = object_of(ctx.activity)
    try:
        change = read_change(document)
    except Problem as exc:
        raise Refused(exc.detail) from None
    async with ctx.apply() as session:
        row = await locked_commitment(session, id_of(document))
        if row is None or ctx.actor not in (row.provider, row.receiver):
            raise Refused("an Update of a commitment this instance holds with no such party")
        if ctx.verified_by == "local":
            return  # both parties are here: the sender's side already made the change
        try:
            check_change(row, ctx.actor, change)
            await apply_change(session, row, change)
        except Problem as exc:
            raise Refused(exc.detail) from None


@handles("Delete", "Commitment")
async def on_cancel_commitment(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await locked_commitment(session, id_of(object_of(ctx.activity)))
        if row is None or ctx.actor != row.creator:
            raise Refused("a Delete of a commitment this instance holds from its creator")
        if ctx.verified_by == "local" or row.state == "cancelled":
            return
        try:
            await cancel(session, row, ctx.actor)
        except Problem as exc:
            raise Refused(exc.detail) from None
