"""The ledger: resources of local agents, and the economic events that change them.

Resources change only through events, by the effects the actions table gives. Events
are never changed: a mistake is corrected by a new event that ``corrects`` it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["EconomicEvent", "EconomicResource", "ResourceSpecification"]


class ResourceSpecification(Base):
    """A kind of resource (``resourceConformsTo``): ours, or a peer's as we read it.

    ``mutual_credit`` marks an account kind whose balances may go below zero.
    """

    __tablename__ = "resource_specifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(500), default="")
    default_unit: Mapped[str | None] = mapped_column(String(64), default=None)
    mutual_credit: Mapped[bool] = mapped_column(default=False)
    #: For a mutual-credit kind: how far below zero an account may go (None: no limit).
    credit_limit: Mapped[Decimal | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EconomicResource(Base):
    """A resource a local agent is accountable for, with its two quantities."""

    __tablename__ = "economic_resources"
    __table_args__ = (Index("ix_economic_resources_owner_kind", "agent_id", "conforms_to"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    name: Mapped[str] = mapped_column(String(500), default="")
    unit: Mapped[str] = mapped_column(String(64))
    accounting_quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    onhand_quantity: Mapped[Decimal] = mapped_column(default=Decimal(0))
    current_location: Mapped[str | None] = mapped_column(URI, default=None)
    mutual_credit: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EconomicEvent(Base):
    """Something that happened: recorded by us, or claimed by a peer.

    ``state``: ``applied`` (its effects on our resources are in the ledger),
    ``claimed`` (a peer's event crediting a local agent, held until that agent accepts
    it) or ``declined``. ``acknowledged`` records the receiver's ``Accept``.
    """

    __tablename__ = "economic_events"
    __table_args__ = (
        Index("ix_economic_events_provider", "provider", "id"),
        Index("ix_economic_events_receiver", "receiver", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    action: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(URI)
    receiver: Mapped[str] = mapped_column(URI)
    resource_inventoried_as: Mapped[str | None] = mapped_column(URI, default=None)
    to_resource_inventoried_as: Mapped[str | None] = mapped_column(URI, default=None)
    resource_conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    resource_unit: Mapped[str | None] = mapped_column(String(64), default=None)
    resource_quantity: Mapped[Decimal | None] = mapped_column(default=None)
    effort_unit: Mapped[str | None] = mapped_column(String(64), default=None)
    effort_quantity: Mapped[Decimal | None] = mapped_column(default=None)
    fulfills: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    realization_of: Mapped[str | None] = mapped_column(URI, default=None)
    corrects: Mapped[str | None] = mapped_column(URI, default=None)
    #: The process it is an input or output of (planning).
    input_of: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    output_of: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    has_point_in_time: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(16), default="applied")
    acknowledged: Mapped[bool] = mapped_column(default=False)
    #: Who asserted it, and how that was verified (``local``, ``cavage-…``).
    signer: Mapped[str] = mapped_column(URI)
    verified_by: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
