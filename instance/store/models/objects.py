"""Stored ActivityStreams documents: our own activities and objects, and what peers sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["InboxEntry", "StoredObject"]


class StoredObject(Base):
    """One document with an id: an activity or an object, local or remote.

    Local rows are what our URLs serve; ``body`` is the exact JSON sent and served.
    The integer ``id`` orders collections (outbox, inbox) and pages them.
    """

    __tablename__ = "objects"
    __table_args__ = (
        Index("ix_objects_outbox", "agent_id", "is_activity", "id"),
        Index("ix_objects_object_uri", "object_uri"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    type: Mapped[str] = mapped_column(String(64))
    is_activity: Mapped[bool] = mapped_column(default=False)
    #: The activity's ``actor`` or the object's ``attributedTo``.
    actor: Mapped[str] = mapped_column(URI, index=True)
    #: The local author; None for documents from other servers.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    #: For an activity, the id of its ``object``; for a post, the post it replies to
    #: (``inReplyTo``), which lists it in its ``replies``.
    object_uri: Mapped[str | None] = mapped_column(URI, default=None)
    public: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class InboxEntry(Base):
    """An activity that reached a local agent's inbox (what its client reads)."""

    __tablename__ = "inbox_entries"
    __table_args__ = (UniqueConstraint("agent_id", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
