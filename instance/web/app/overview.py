"""What the dashboard shows a signed-in person, read in one session.

Every list is bounded. Quantities are the ledger's Decimals, shown exactly; units by
their OM2 name and symbol, kinds of resource by their specification's name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.ledger.resources import changes
from instance.store.models import (
    Agent,
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Proposal,
    ResourceSpecification,
)
from instance.urls import Urls
from instance.web.app.charts import Chart, Point, step_chart
from vocab import VocabError, canonical_decimal, get_action
from vocab.units import unit_info

__all__ = ["Balance", "Overview", "Quantity", "kind_names", "overview", "quantity"]

#: The most rows of each list on the dashboard.
LIST_LIMIT = 50
#: Events read back to draw one balance's history.
HISTORY_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Quantity:
    """An exact amount with its unit's name and symbol."""

    value: Decimal
    unit: str
    label: str
    symbol: str

    @property
    def number(self) -> str:
        return canonical_decimal(self.value)

    @property
    def text(self) -> str:
        if self.unit == "one":
            return self.number
        return f"{self.number} {self.symbol or self.label}"


def quantity(value: Decimal | None, unit: str | None) -> Quantity | None:
    if value is None or unit is None:
        return None
    try:
        info = unit_info(unit)
        return Quantity(value, unit, info.label, info.symbol)
    except (KeyError, VocabError):
        return Quantity(value, unit, unit, "")


@dataclass(frozen=True, slots=True)
class Balance:
    resource: EconomicResource
    kind: str
    accounting: Quantity
    onhand: Quantity
    chart: Chart | None
    history: tuple[Point, ...]


@dataclass
class Overview:
    """Everything on one person's dashboard."""

    me: str
    balances: list[Balance] = field(default_factory=list)
    i_owe: list[Commitment] = field(default_factory=list)
    owed_to_me: list[Commitment] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    #: Offers of agreements sent to me, and direct commitments asked of me.
    offers_to_answer: list[Agreement] = field(default_factory=list)
    commitments_to_answer: list[Commitment] = field(default_factory=list)
    credits_waiting: list[EconomicEvent] = field(default_factory=list)
    events: list[EconomicEvent] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    #: Open proposals of other agents that reached this instance.
    others: list[Proposal] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    def kind(self, uri: str | None) -> str:
        return kind_label(uri, self.kinds)


def kind_label(uri: str | None, names: dict[str, str]) -> str:
    if not uri:
        return ""
    if names.get(uri):
        return names[uri]
    tail = uri.rstrip("/").rsplit("/", 1)[-1]
    return f"{tail} (Wikidata)" if "wikidata.org" in uri else tail


async def kind_names(session: AsyncSession, uris: Iterable[str | None]) -> dict[str, str]:
    wanted = {uri for uri in uris if uri}
    if not wanted:
        return {}
    rows = await session.execute(
        select(ResourceSpecification.uri, ResourceSpecification.name).where(
            ResourceSpecification.uri.in_(wanted)
        )
    )
    return {uri: name for uri, name in rows if name}


def _delta(event: EconomicEvent, resource_uri: str, column: str) -> Decimal:
    if event.resource_quantity is None:
        return Decimal(0)
    try:
        moves = changes(get_action(event.action))
    except (VocabError, ValueError):
        return Decimal(0)
    total = Decimal(0)
    for move in moves:
        named = (
            event.resource_inventoried_as
            if move.side == "from"
            else event.to_resource_inventoried_as
        )
        if move.column == column and named == resource_uri:
            total += move.sign * event.resource_quantity
    return total


async def history(
    session: AsyncSession, resource: EconomicResource, column: str = "accounting_quantity"
) -> list[Point]:
    """The balance after each applied event touching ``resource``, oldest first.

    Worked backwards from today's balance, so the line always ends where the ledger
    stands even when older events fall outside the bound.
    """
    rows = (
        await session.scalars(
            select(EconomicEvent)
            .where(
                EconomicEvent.state == "applied",
                or_(
                    EconomicEvent.resource_inventoried_as == resource.uri,
                    EconomicEvent.to_resource_inventoried_as == resource.uri,
                ),
            )
            .order_by(EconomicEvent.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    balance: Decimal = getattr(resource, column)
    points = [Point(resource.updated_at, balance)]
    for event in rows:
        at: datetime = event.has_point_in_time or event.created_at
        points.append(Point(at, balance))
        balance -= _delta(event, resource.uri, column)
    points.append(Point(rows[-1].created_at if rows else resource.created_at, balance))
    points.reverse()
    # Events carry their own times; keep the line moving forward.
    ordered: list[Point] = []
    for point in points:
        if ordered and point.at < ordered[-1].at:
            point = Point(ordered[-1].at, point.balance)
        ordered.append(point)
    return ordered


async def balances(session: AsyncSession, agent: Agent) -> list[Balance]:
    rows = (
        await session.scalars(
            select(EconomicResource)
            .where(EconomicResource.agent_id == agent.id)
            .order_by(EconomicResource.id)
            .limit(LIST_LIMIT)
        )
    ).all()
    names = await kind_names(session, (row.conforms_to for row in rows))
    found = []
    for row in rows:
        points = await history(session, row)
        accounting = quantity(row.accounting_quantity, row.unit)
        onhand = quantity(row.onhand_quantity, row.unit)
        assert accounting is not None
        assert onhand is not None
        found.append(
            Balance(
                row,
                row.name or kind_label(row.conforms_to, names),
                accounting,
                onhand,
                step_chart(points),
                tuple(points),
            )
        )
    return found


async def overview(session: AsyncSession, urls: Urls, agent: Agent) -> Overview:
    me = urls.actor(agent.username)
    seen = Overview(me)
    seen.balances = await balances(session, agent)
    open_states = ("proposed", "accepted")
    commitments = (
        await session.scalars(
            select(Commitment)
            .where(
                or_(Commitment.provider == me, Commitment.receiver == me),
                Commitment.state.in_(open_states),
            )
            .order_by(Commitment.due.is_(None), Commitment.due, Commitment.id.desc())
            .limit(LIST_LIMIT * 2)
        )
    ).all()
    for row in commitments:
        if row.state == "proposed" and row.creator != me and row.agreement_id is None:
            seen.commitments_to_answer.append(row)
        elif row.provider == me:
            seen.i_owe.append(row)
        else:
            seen.owed_to_me.append(row)
    agreements = (
        await session.scalars(
            select(Agreement)
            .where(or_(Agreement.proposer == me, Agreement.counterparty == me))
            .order_by(Agreement.id.desc())
            .limit(LIST_LIMIT)
        )
    ).all()
    for agreement in agreements:
        if agreement.state == "offered" and agreement.proposer == me:
            seen.offers_to_answer.append(agreement)
        else:
            seen.agreements.append(agreement)
    seen.credits_waiting = list(
        (
            await session.scalars(
                select(EconomicEvent)
                .where(EconomicEvent.receiver == me, EconomicEvent.state == "claimed")
                .order_by(EconomicEvent.id.desc())
                .limit(LIST_LIMIT)
            )
        ).all()
    )
    seen.events = list(
        (
            await session.scalars(
                select(EconomicEvent)
                .where(or_(EconomicEvent.provider == me, EconomicEvent.receiver == me))
                .order_by(EconomicEvent.id.desc())
                .limit(20)
            )
        ).all()
    )
    seen.proposals = list(
        (
            await session.scalars(
                select(Proposal)
                .where(Proposal.agent_id == agent.id, Proposal.state == "open")
                .order_by(Proposal.id.desc())
                .limit(LIST_LIMIT)
            )
        ).all()
    )
    seen.others = list(
        (
            await session.scalars(
                select(Proposal)
                .where(Proposal.proposer != me, Proposal.state == "open", Proposal.public)
                .order_by(Proposal.id.desc())
                .limit(20)
            )
        ).all()
    )
    kinds: list[str | None] = [c.resource_conforms_to for c in commitments]
    kinds += [e.resource_conforms_to for e in seen.events + seen.credits_waiting]
    seen.kinds = await kind_names(session, kinds)
    return seen


def agreement_terms(row: Agreement) -> list[dict[str, Any]]:
    """The commitments an agreement's body stipulates (primary first), as JSON."""
    try:
        body = json.loads(row.body)
    except ValueError:
        return []
    found = []
    for key in ("stipulates", "stipulatesReciprocal"):
        value = body.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found.append(item)
    return found


def names_of(rows: Sequence[Commitment]) -> set[str]:
    return {row.provider for row in rows} | {row.receiver for row in rows}
