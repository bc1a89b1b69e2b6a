"""Backing out an event whose receiver declined it.

A credit a peer's instance holds as ``claimed`` counts only once its receiver accepts
it. When the receiver declines it instead (``Reject`` of the event), nothing changed
on the receiver's side; the sender's instance then reverts what the event did to its
own agent's resources and to the commitment it fulfilled, and records the event as
``declined``. The event's record stays (events never change); only its state says it
no longer counts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.ledger.resources import changes
from instance.store.models import Commitment, EconomicEvent, EconomicResource, utcnow
from vocab import get_action

__all__ = ["revert_declined"]


async def revert_declined(session: AsyncSession, row: EconomicEvent) -> bool:
    """Revert a declined event of ours (in the caller's transaction); False when it
    no longer counted anyway."""
    if row.state != "applied":
        return False
    quantity = row.resource_quantity
    if quantity is not None:
        for move in changes(get_action(row.action)):
            uri = row.resource_inventoried_as if move.side == "from" else None
            if uri is None:
                continue  # the receiving side is the other instance's
            resource = await session.scalar(
                select(EconomicResource).where(EconomicResource.uri == uri).with_for_update()
            )
            if resource is None:
                continue
            setattr(resource, move.column, getattr(resource, move.column) - move.sign * quantity)
            resource.updated_at = utcnow()
    if row.fulfills is not None:
        commitment = await session.scalar(
            select(Commitment).where(Commitment.uri == row.fulfills).with_for_update()
        )
        amount = row.effort_quantity if commitment and commitment.effort else quantity
        if commitment is not None and amount is not None:
            commitment.fulfilled -= amount
            if commitment.state == "finished" and commitment.fulfilled < commitment.quantity:
                commitment.state, commitment.finished_at = "accepted", None
    row.state = "declined"
    return True
