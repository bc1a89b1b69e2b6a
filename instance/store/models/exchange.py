"""Proposals and their intents, agreements and commitments: what agents promise.

Rows hold the current state of each object, ours or a peer's as we recorded it; the
JSON served at an object's id is written from them. Quantities are exact decimals with
their OM2 unit; a flow counts either the resource (``effort`` false) or effort.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["Agreement", "Commitment", "Intent", "Proposal"]


class Proposal(Base):
    """An offer or a request (FEP-0837), ours or one a peer published."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    #: The local proposer; None for a peer's proposal we recorded.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    proposer: Mapped[str] = mapped_column(URI, index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    unit_based: Mapped[bool] = mapped_column(default=False)
    #: ``open``, or ``withdrawn`` (deleted by its proposer).
    state: Mapped[str] = mapped_column(String(16), default="open")
    public: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    #: The proposal as published (without live quantities), canonical JSON.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Intent(Base):
    """One intent a proposal publishes (primary) or asks in return (reciprocal)."""

    __tablename__ = "intents"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    reciprocal: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(32))
    resource_conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    effort: Mapped[bool] = mapped_column(default=False)
    unit: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal]
    #: What is still available (lowered by each agreement); None: no limit stated.
    available: Mapped[Decimal | None] = mapped_column(default=None)


class Agreement(Base):
    """An agreement: offered (``offered``), then ``agreed`` or ``rejected``, then
    ``finished`` once every commitment is fulfilled.

    ``offer_uri`` is the ``Offer`` activity that proposed it; ``uri`` is minted by the
    proposer when it accepts. ``proposer`` finalizes it, ``counterparty`` offered it.
    """

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str | None] = mapped_column(URI, unique=True, default=None)
    offer_uri: Mapped[str | None] = mapped_column(URI, unique=True, default=None)
    proposal_uri: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    proposer: Mapped[str] = mapped_column(URI, index=True)
    counterparty: Mapped[str] = mapped_column(URI, index=True)
    state: Mapped[str] = mapped_column(String(16), default="offered")
    #: Why it was rejected, as the rejecting side said.
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The agreement as offered (before ids) or as finalized, canonical JSON.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agreed_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Commitment(Base):
    """A promised flow from ``provider`` to ``receiver``, and how much of it happened.

    States: ``proposed`` (a direct commitment awaiting its counterparty's answer, again
    after its creator changed it), ``accepted``, ``rejected``, ``finished`` (fully
    fulfilled, or marked finished by a party), ``cancelled``.
    """

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_provider_state", "provider", "state"),
        Index("ix_commitments_receiver_state", "receiver", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True, default=None
    )
    reciprocal: Mapped[bool] = mapped_column(default=False)
    #: Who created it (the agent that sent ``Create{Commitment}``, or the proposer).
    creator: Mapped[str] = mapped_column(URI)
    action: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(URI)
    receiver: Mapped[str] = mapped_column(URI)
    resource_conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    satisfies: Mapped[str | None] = mapped_column(URI, default=None)
    effort: Mapped[bool] = mapped_column(default=False)
    unit: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal]
    fulfilled: Mapped[Decimal] = mapped_column(default=Decimal(0))
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    due: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    #: The process it is an input or output of, and the plan it is part of (planning).
    input_of: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    output_of: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    planned_within: Mapped[str | None] = mapped_column(URI, index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
