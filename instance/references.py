"""What a bare id refers to: activities name their objects by id alone more often than not
(``Accept`` of an offer, ``Delete`` of a proposal), and the handler depends on the type.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import (
    Agreement,
    Commitment,
    EconomicEvent,
    Proposal,
    StoredObject,
)

__all__ = ["reference_type"]

# Tables whose rows an id may name, with the type to dispatch on: ledger records first
# (their type is certain), then any stored document.
_LOOKUPS = (
    (Commitment.uri, "Commitment"),
    (EconomicEvent.uri, "EconomicEvent"),
    (Proposal.uri, "Proposal"),
    (Agreement.offer_uri, "Offer"),
    (Agreement.uri, "Agreement"),
)


async def reference_type(session: AsyncSession, uri: str) -> str | None:
    """The type of the object ``uri`` names, as recorded here; None when unknown."""
    for column, kind in _LOOKUPS:
        if await session.scalar(select(column).where(column == uri).limit(1)) is not None:
            return kind
    stored: str | None = await session.scalar(
        select(StoredObject.type).where(StoredObject.uri == uri)
    )
    return stored
