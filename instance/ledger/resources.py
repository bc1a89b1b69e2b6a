"""The ledger: applying an economic event's effects to local resources.

What an event does to quantities is read from the actions table, never decided by
comparing action names: each of the two quantity columns (``accountingEffect``,
``onhandEffect``) names an effect, and :data:`EFFECTS` says which side of the event
(the resource it is inventoried as, or the one it goes to) moves, and which way.

Authority (DESIGN.md): a resource of a local agent decreases only by an event that
agent asserted through its own client or accepted, whatever the sign of the quantity;
a peer may only credit a local agent, and a credit counts once the local side accepts
it. Every check and
every change happens in the caller's one transaction, with the resource rows locked,
so concurrent events can never overspend a resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.ledger.limits import check_account
from instance.problems import Problem
from instance.store.models import Agent, EconomicResource, ResourceSpecification, utcnow
from instance.urls import Urls
from vocab import EXACT, OCE, Action, canonical_decimal
from vocab.quantity import MAX_DIGITS

__all__ = [
    "EFFECTS",
    "MUTUAL_CREDIT",
    "Change",
    "Origin",
    "Side",
    "apply_effects",
    "changes",
    "resource_for",
]

Side = Literal["from", "to"]
Origin = Literal["client", "peer"]

#: A resource specification classified as this may go below zero (a mutual-credit
#: account); every other resource stops at zero.
MUTUAL_CREDIT = f"{OCE}MutualCredit"

#: Effect value -> the moves it makes: (side of the event, sign).
EFFECTS: dict[str, tuple[tuple[Side, int], ...]] = {
    "increment": (("from", 1),),
    "decrement": (("from", -1),),
    "decrementIncrement": (("from", -1), ("to", 1)),
    "incrementTo": (("to", 1),),
    "notApplicable": (),
}
#: The quantity columns of a resource, and the action property that moves each.
QUANTITIES = (("accounting_quantity", "accounting_effect"), ("onhand_quantity", "onhand_effect"))


@dataclass(frozen=True, slots=True)
class Change:
    """One move of one quantity of one side's resource."""

    side: Side
    column: str
    sign: int


def changes(action: Action) -> list[Change]:
    """The quantity moves an event of ``action`` makes, read from the table."""
    found: list[Change] = []
    for column, effect_property in QUANTITIES:
        effect = getattr(action, effect_property)
        if effect not in EFFECTS:
            raise ValueError(f"no ledger rule for {effect_property} {effect!r}")
        found.extend(Change(side, column, sign) for side, sign in EFFECTS[effect])
    return found


@dataclass
class EventFlow:
    """What the ledger needs of an event."""

    action: Action
    provider: str
    receiver: str
    quantity: Decimal | None
    unit: str | None
    conforms_to: str | None
    resource: str | None
    to_resource: str | None


async def _spec_is_mutual_credit(session: AsyncSession, conforms_to: str | None) -> bool:
    if conforms_to is None:
        return False
    spec = await session.scalar(
        select(ResourceSpecification).where(ResourceSpecification.uri == conforms_to)
    )
    return bool(spec and spec.mutual_credit)


async def resource_for(
    session: AsyncSession,
    urls: Urls,
    agent: Agent,
    *,
    conforms_to: str | None,
    unit: str,
    name: str = "",
) -> EconomicResource:
    """The agent's resource of this kind and unit, created (at zero) if it has none.

    This is where credits land when the sender did not name a resource of ours: one
    account per agent, kind and unit.
    """
    found = await _account(session, agent, conforms_to, unit)
    if found is not None:
        return found
    return await _new_account(session, urls, agent, conforms_to, unit, name)


async def _new_account(
    session: AsyncSession,
    urls: Urls,
    agent: Agent,
    conforms_to: str | None,
    unit: str,
    name: str,
) -> EconomicResource:
    """Open the agent's account of a kind it had none of, unless another transaction
    just did: two workers crediting the agent at once would otherwise open one each.
    The agent's row lock (PostgreSQL; SQLite's writers are serial) makes the second wait
    and then find the first one's account. It is ``FOR NO KEY UPDATE``, which rows
    referring to the agent (inserted earlier in the same transactions) do not conflict
    with: a plain ``FOR UPDATE`` would deadlock two such transactions."""
    await session.execute(
        select(Agent.id).where(Agent.id == agent.id).with_for_update(key_share=True)
    )
    found = await _account(session, agent, conforms_to, unit)
    if found is not None:
        return found
    return await _new_resource(session, urls, agent, conforms_to, unit, name)


async def _account(
    session: AsyncSession, agent: Agent, conforms_to: str | None, unit: str
) -> EconomicResource | None:
    """The agent's first resource of this kind and unit (locked), if any."""
    kind = (
        EconomicResource.conforms_to.is_(None)
        if conforms_to is None
        else EconomicResource.conforms_to == conforms_to
    )
    found: EconomicResource | None = await session.scalar(
        select(EconomicResource)
        .where(EconomicResource.agent_id == agent.id, kind, EconomicResource.unit == unit)
        .order_by(EconomicResource.id)
        .limit(1)
        .with_for_update()
    )
    return found


async def _new_resource(
    session: AsyncSession,
    urls: Urls,
    agent: Agent,
    conforms_to: str | None,
    unit: str,
    name: str,
) -> EconomicResource:
    resource = EconomicResource(
        uri=f"{urls.base}/resources/{uuid.uuid4()}",
        agent_id=agent.id,
        conforms_to=conforms_to,
        name=name,
        unit=unit,
        accounting_quantity=Decimal(0),
        onhand_quantity=Decimal(0),
        mutual_credit=await _spec_is_mutual_credit(session, conforms_to),
    )
    session.add(resource)
    await session.flush()
    return resource


async def _local_agent(session: AsyncSession, urls: Urls, uri: str) -> Agent | None:
    username = urls.username_of(uri)
    if username is None:
        return None
    return await session.scalar(select(Agent).where(Agent.username == username))


async def _locked(session: AsyncSession, uri: str) -> EconomicResource | None:
    return await session.scalar(
        select(EconomicResource).where(EconomicResource.uri == uri).with_for_update()
    )


async def apply_effects(
    session: AsyncSession,
    urls: Urls,
    flow: EventFlow,
    consent: Collection[str],
) -> dict[Side, EconomicResource]:
    """Apply an event's quantity effects to the local resources it touches.

    ``consent`` names the agents whose resources the event may lower (its asserter
    when that is a local client, its receiver once accepted): a move that lowers any
    other agent's resource, whatever the sign of the quantity, is refused.

    Returns the local resource of each side it touched (for the event to record). Raises
    a 409/403/422 :class:`Problem` naming the rule when the event may not take effect;
    the caller's transaction is then rolled back, so nothing changes.
    """
    moves = changes(flow.action)
    touched: dict[Side, EconomicResource] = {}
    if not moves:
        return touched
    assert flow.quantity is not None
    assert flow.unit is not None
    for side in sorted({move.side for move in moves}):  # "from" first, then "to"
        resource = await _side_resource(session, urls, flow, side)
        if resource is not None:
            touched[side] = resource
            # What leaves a resource of a kind arrives as that kind.
            flow.conforms_to = flow.conforms_to or resource.conforms_to
    for move in moves:
        resource = touched.get(move.side)
        if resource is None:
            continue
        amount = EXACT.multiply(move.sign, flow.quantity)
        owner = flow.provider if move.side == "from" else flow.receiver
        if amount < 0 and owner not in consent:
            raise Problem(
                403,
                f"{resource.uri} may decrease only with the consent of {owner}, "
                "by its own client or its Accept",
                field="resourceInventoriedAs" if move.side == "from" else "resourceQuantity",
            )
        current: Decimal = getattr(resource, move.column)
        updated = EXACT.add(current, amount)
        if not updated.is_zero() and updated.adjusted() >= MAX_DIGITS:
            # Every quantity column holds 30 digits before the point (NUMERIC(42, 12)
            # on PostgreSQL); a balance past that would fail to store there.
            raise Problem(
                422,
                f"{resource.uri} would hold {canonical_decimal(updated)} {resource.unit}, "
                f"more than {MAX_DIGITS} digits",
                field="resourceQuantity",
            )
        if updated < 0 and not resource.mutual_credit:
            label = "accounting" if move.column.startswith("accounting") else "onhand"
            raise Problem(
                409,
                f"{resource.uri} holds {canonical_decimal(current)} {resource.unit} "
                f"({label}); {canonical_decimal(-amount)} less would take it below zero",
                field="resourceQuantity",
            )
        await check_account(session, resource, updated)
        setattr(resource, move.column, updated)
        resource.updated_at = utcnow()
    return touched


async def _side_resource(
    session: AsyncSession, urls: Urls, flow: EventFlow, side: Side
) -> EconomicResource | None:
    """The local resource on one side of the event (None: that side is not ours).

    A named resource must be ours and belong to that side's agent. Unnamed, the
    receiving side lands in the agent's account of that kind (made if need be), and the
    providing side is a new resource only when the action creates one (``raise``,
    ``produce``); otherwise the event must say which resource it draws on.
    """
    owner_uri = flow.provider if side == "from" else flow.receiver
    named = flow.resource if side == "from" else flow.to_resource
    field = "resourceInventoriedAs" if side == "from" else "toResourceInventoriedAs"
    owner = await _local_agent(session, urls, owner_uri)
    unit = flow.unit or "one"
    if named is not None:
        if not urls.is_local(named):
            if owner is None:
                return None  # the other instance keeps that side's books
            # A resource an imported agent brought along keeps the id it had.
            resource = await _locked(session, named)
            if resource is None or resource.agent_id != owner.id:
                raise Problem(422, f"{named} is not a resource of this instance", field=field)
            return resource
        resource = await _locked(session, named)
        if resource is None:
            raise Problem(422, f"{named} is not a resource of this instance", field=field)
        if owner is None or resource.agent_id != owner.id:
            raise Problem(403, f"{named} is not a resource of {owner_uri}", field=field)
    elif owner is None:
        return None
    elif side == "to":
        resource = await resource_for(session, urls, owner, conforms_to=flow.conforms_to, unit=unit)
    elif _may_create(flow.action, side):
        resource = await _new_resource(session, urls, owner, flow.conforms_to, unit, "")
    else:
        found = await _account(session, owner, flow.conforms_to, unit)
        if found is None and await _spec_is_mutual_credit(session, flow.conforms_to):
            found = await _new_account(session, urls, owner, flow.conforms_to, unit, "")
        if found is None:
            raise Problem(
                422,
                f"{owner_uri} has no {flow.conforms_to or 'resource'} in {unit} to draw on; "
                "name it in resourceInventoriedAs",
                field=field,
            )
        resource = found
    if resource.unit != flow.unit:
        raise Problem(
            422,
            f"{resource.uri} is counted in {resource.unit}, the event in {flow.unit}: "
            "different units are never added",
            field="resourceQuantity",
        )
    if flow.conforms_to is not None and resource.conforms_to not in (None, flow.conforms_to):
        raise Problem(
            422,
            f"{resource.uri} conforms to {resource.conforms_to}, not {flow.conforms_to}",
            field="resourceConformsTo",
        )
    return resource


def _may_create(action: Action, side: Side) -> bool:
    """Whether the action's createResource lets the event bring this side's resource
    into being (``optional`` for the resource, ``optionalTo`` for the to-resource)."""
    return action.create_resource == ("optional" if side == "from" else "optionalTo")
