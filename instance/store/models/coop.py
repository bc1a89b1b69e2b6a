"""Cooperatives: organizations' settings, memberships, validated contributions, value
equations, distributions and the claims they create (docs/cooperatives.md).

Membership and contribution rows exist on both sides: the organization's instance holds
the authoritative ones; a member's instance keeps its own copy of what it was told.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = [
    "CoopAct",
    "CoopClaim",
    "CoopContribution",
    "CoopDistribution",
    "CoopEquation",
    "CoopMembership",
    "CoopPayment",
    "CoopSettings",
    "CoopValidation",
]

URI = String(2048)
_AGENT = "agents.id"


class CoopSettings(Base):
    """How a local organization runs: joining style, who sees its members, validation."""

    __tablename__ = "coop_settings"

    agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"), primary_key=True)
    #: ``open``, ``moderated`` or ``shares``.
    joining: Mapped[str] = mapped_column(String(16), default="moderated")
    members_public: Mapped[bool] = mapped_column(default=True)
    validators_required: Mapped[int] = mapped_column(default=1)
    #: Decimal places of the currency distributions pay in.
    precision: Mapped[int] = mapped_column(default=2)
    #: For ``shares``: what buying the membership share costs, in which currency.
    share_conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    share_price: Mapped[Decimal | None] = mapped_column(default=None)


class CoopMembership(Base):
    """One person's membership of one organization (either may be remote).

    ``state``: ``pending`` (a coordinator decides), ``awaiting-shares`` (until the share
    is paid), ``invited``, ``accepted``, ``rejected``, ``left``. ``roles``: space-separated
    ``member``, ``coordinator``, ``validator``.
    """

    __tablename__ = "coop_memberships"
    __table_args__ = (UniqueConstraint("organization", "member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(URI)
    organization_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey(_AGENT, ondelete="CASCADE"), default=None, index=True
    )
    member: Mapped[str] = mapped_column(URI)
    member_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey(_AGENT, ondelete="CASCADE"), default=None, index=True
    )
    state: Mapped[str] = mapped_column(String(20), default="pending")
    roles: Mapped[str] = mapped_column(String(100), default="member")
    #: The Join (or Invite) this membership answers.
    activity_uri: Mapped[str | None] = mapped_column(URI, default=None, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopAct(Base):
    """An activity a coordinator published as the organization: who really did it."""

    __tablename__ = "coop_acts"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    organization_agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"))
    person_agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopContribution(Base):
    """A contribution (an event with ``requestDistribution``) and its validation state:
    ``pending``, ``approved`` or ``rejected``."""

    __tablename__ = "coop_contributions"
    __table_args__ = (Index("ix_coop_contributions_org_state", "organization", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_uri: Mapped[str] = mapped_column(URI, unique=True)
    organization: Mapped[str] = mapped_column(URI)
    contributor: Mapped[str] = mapped_column(URI)
    action: Mapped[str] = mapped_column(String(40))
    hours: Mapped[Decimal | None] = mapped_column(default=None)
    quantity: Mapped[Decimal | None] = mapped_column(default=None)
    conforms_to: Mapped[str | None] = mapped_column(URI, default=None)
    process: Mapped[str | None] = mapped_column(URI, default=None)
    plan: Mapped[str | None] = mapped_column(URI, default=None)
    happened_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopValidation(Base):
    """One validator's verdict on one contribution."""

    __tablename__ = "coop_validations"
    __table_args__ = (UniqueConstraint("contribution_id", "validator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("coop_contributions.id", ondelete="CASCADE")
    )
    validator: Mapped[str] = mapped_column(URI)
    verdict: Mapped[str] = mapped_column(String(10))  # accept | reject
    reason: Mapped[str] = mapped_column(Text, default="")
    activity_uri: Mapped[str | None] = mapped_column(URI, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopEquation(Base):
    """A value equation of a local organization (its document as posted, checked)."""

    __tablename__ = "coop_equations"
    __table_args__ = (UniqueConstraint("organization_agent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    organization_agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopDistribution(Base):
    """An income shared by an equation: at most one per income event, ever.

    ``state``: ``paying`` (payments recorded one by one, each in its own transaction)
    then ``done``.
    """

    __tablename__ = "coop_distributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    organization_agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"))
    income_event: Mapped[str] = mapped_column(URI, unique=True)
    equation: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(64))
    conforms_to: Mapped[str] = mapped_column(URI)
    state: Mapped[str] = mapped_column(String(16), default="paying")
    #: The preview as confirmed (JSON), kept for the record.
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(URI)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoopPayment(Base):
    """One recipient's payment of a distribution; ``event_uri`` is minted up front, so a
    restarted distribution records each payment once."""

    __tablename__ = "coop_payments"
    __table_args__ = (UniqueConstraint("distribution_id", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("coop_distributions.id", ondelete="CASCADE")
    )
    recipient: Mapped[str] = mapped_column(URI)
    amount: Mapped[Decimal]
    event_uri: Mapped[str] = mapped_column(URI, unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | paid
    #: The claims this payment settles (JSON list of their ids).
    settles: Mapped[str] = mapped_column(Text, default="[]")


class CoopClaim(Base):
    """What a contribution is owed by a bucket's rule (VF ``Claim``): ``value`` and what
    distributions have ``paid`` of it, ``times`` it was part of one."""

    __tablename__ = "coop_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of (equation, bucket, event): one claim per contribution and bucket.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    organization_agent_id: Mapped[int] = mapped_column(ForeignKey(_AGENT, ondelete="CASCADE"))
    claimant: Mapped[str] = mapped_column(URI)
    event_uri: Mapped[str] = mapped_column(URI)
    claim_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[Decimal]
    paid: Mapped[Decimal] = mapped_column(default=Decimal(0))
    times: Mapped[int] = mapped_column(default=0)
