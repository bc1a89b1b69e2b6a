"""Work that waits: inbound activities to process, outbound deliveries to make.

Both queues are tables. A worker claims rows whose ``next_attempt_at`` has come and
whose lease has expired, sets a lease, does the work, and records the outcome; a
worker that dies simply lets its lease run out. On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED`` so several workers share one queue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["Delivery", "InboxItem", "PeerHost"]


class InboxItem(Base):
    """A verified inbound activity, stored exactly as received before we answer 202."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index("ix_inbox_items_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    #: The request headers as a JSON object (what the signature covered and more).
    headers: Mapped[str] = mapped_column(Text)
    signer_key_id: Mapped[str] = mapped_column(URI)
    signer: Mapped[str] = mapped_column(URI)
    #: How the signature was verified, e.g. ``cavage-rsa-sha256`` or ``rfc9421-…``.
    verified_by: Mapped[str] = mapped_column(String(64))
    #: The local agent whose personal inbox received it (None: the shared inbox).
    recipient_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: ``pending`` → ``done`` | ``failed`` (gave up: see ``error``); past retention a
    #: finished item is deleted, or ``kept`` when it backs a ledger record
    #: (:mod:`instance.store.retention`).
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class Delivery(Base):
    """One activity to POST to one inbox; shared inboxes collapse many recipients."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("object_id", "inbox"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    #: Whose key signs it; None signs with the instance actor's key.
    sender_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    inbox: Mapped[str] = mapped_column(URI)
    host: Mapped[str] = mapped_column(String(255), index=True)
    #: ``pending`` → ``done`` | ``failed`` (permanent refusal or attempts exhausted).
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class PeerHost(Base):
    """Delivery health of one remote host; a host that keeps failing is paused."""

    __tablename__ = "peer_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
    probe_interval_seconds: Mapped[int | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
