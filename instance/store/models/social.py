"""What we know of other actors: remote actors and keys, follows, blocked domains."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = ["BlockedDomain", "Follow", "RemoteActor", "RemoteKey"]

URI = String(2048)


class RemoteActor(Base):
    """An actor on another server, as last fetched (or as its ``Update`` told us)."""

    __tablename__ = "remote_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(40), default="Person")
    username: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(500), default="")
    inbox: Mapped[str] = mapped_column(URI)
    shared_inbox: Mapped[str | None] = mapped_column(URI, default=None)
    url: Mapped[str | None] = mapped_column(URI, default=None)
    followers: Mapped[str | None] = mapped_column(URI, default=None)
    document: Mapped[str] = mapped_column(Text, default="{}")
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemoteKey(Base):
    """A public key of a remote actor, used to verify its signatures.

    Stored in the database (not only in process memory) so every web process and
    worker agrees on the current key after a rotation.
    """

    __tablename__ = "remote_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(URI, unique=True)
    owner: Mapped[str] = mapped_column(URI, index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follow(Base):
    """A follow relation between two actors, at least one of them local."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower", "followee"),
        Index("ix_follows_followee_state", "followee", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The id of the ``Follow`` activity, which the ``Accept``/``Reject`` refers to.
    activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    follower: Mapped[str] = mapped_column(URI, index=True)
    followee: Mapped[str] = mapped_column(URI)
    follower_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    followee_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    #: ``pending`` until accepted, then ``accepted``; a rejected follow is deleted.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlockedDomain(Base):
    """A domain whose requests we refuse and to which we deliver nothing."""

    __tablename__ = "blocked_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
