"""What a person is told about (notifications) and the picture they show (avatar)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["AgentAvatar", "Notification"]


class Notification(Base):
    """Something that happened to a local agent: a response to their offer, an
    acceptance, a payment or credit, a mention, a new offer from an agent they follow.

    Derived from the inbound activities as they are filed into the agent's inbox, so
    one activity gives at most one notification per agent.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("agent_id", "activity_uri"),
        Index("ix_notifications_agent_id_read_at", "agent_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    #: ``response``, ``accepted``, ``rejected``, ``payment``, ``mention`` or ``offer``.
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(URI)
    activity_uri: Mapped[str] = mapped_column(URI)
    #: What it is about (the proposal, offer, event or post), to link to.
    object_uri: Mapped[str | None] = mapped_column(URI, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


class AgentAvatar(Base):
    """A local agent's picture, uploaded through the app and served by the instance
    (no page loads an image from another origin)."""

    __tablename__ = "agent_avatars"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    media_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 of ``body``: the URL carries it, so a new picture is a new URL.
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
