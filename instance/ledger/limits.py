"""Credit limits of mutual-credit currencies.

A mutual-credit resource specification may say how far below zero an account of its
kind may go (``creditLimit``). Two instances enforce it:

* the sender's own instance, when its agent's account would go beyond the limit
  (:func:`check_account`, called as the ledger moves the account);
* the instance of the currency, when a peer's agent pays one of ours beyond it
  (:func:`check_peer_payer`): it cannot see the payer's account, so it counts what it
  recorded of that payer in this currency (received minus given). Payments the payer
  made to agents on other instances are outside that count; the payer's own instance
  holds the account and refuses those.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.store.models import EconomicEvent, EconomicResource, ResourceSpecification
from vocab import canonical_decimal

__all__ = ["check_account", "check_peer_payer", "credit_limit"]


async def credit_limit(session: AsyncSession, conforms_to: str | None) -> Decimal | None:
    """The credit limit of a mutual-credit kind (None: the kind sets none)."""
    if conforms_to is None:
        return None
    limit: Decimal | None = await session.scalar(
        select(ResourceSpecification.credit_limit).where(
            ResourceSpecification.uri == conforms_to, ResourceSpecification.mutual_credit
        )
    )
    return limit


async def check_account(
    session: AsyncSession, resource: EconomicResource, updated: Decimal
) -> None:
    """Refuse a move that takes a mutual-credit account below its kind's limit."""
    if updated >= 0 or not resource.mutual_credit:
        return
    limit = await credit_limit(session, resource.conforms_to)
    if limit is not None and updated < -limit:
        raise Problem(
            409,
            f"{resource.uri} would go to {canonical_decimal(updated)} {resource.unit}, beyond "
            f"the credit limit of {canonical_decimal(limit)} set by {resource.conforms_to}",
            field="resourceQuantity",
        )


async def check_peer_payer(
    session: AsyncSession, payer: str, conforms_to: str | None, quantity: Decimal | None
) -> None:
    """Refuse a peer agent's payment in a currency of ours that would take what we
    recorded of it beyond the currency's credit limit."""
    if quantity is None or quantity <= 0:
        return
    limit = await credit_limit(session, conforms_to)
    if limit is None:
        return
    rows = await session.execute(
        select(EconomicEvent.provider, EconomicEvent.resource_quantity).where(
            EconomicEvent.resource_conforms_to == conforms_to,
            EconomicEvent.state.in_(("applied", "claimed")),
            or_(EconomicEvent.provider == payer, EconomicEvent.receiver == payer),
        )
    )
    position = Decimal(0)
    for provider, amount in rows:
        if amount is not None:
            position += -amount if provider == payer else amount
    after = position - quantity
    if after < -limit:
        raise Problem(
            409,
            f"{payer} would stand at {canonical_decimal(after)} in {conforms_to}, beyond its "
            f"credit limit of {canonical_decimal(limit)}",
            field="resourceQuantity",
        )
