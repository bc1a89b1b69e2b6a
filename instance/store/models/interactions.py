"""What actors do to each other's posts and to each other besides following: likes and
boosts, blocks, featured posts, and an agent's move to another instance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["ActorBlock", "AgentMove", "FeaturedItem", "Reaction"]


class Reaction(Base):
    """A ``Like`` or an ``Announce`` (boost) of an object, by any actor, until undone."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("kind", "actor", "object_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``Like`` or ``Announce``.
    kind: Mapped[str] = mapped_column(String(16))
    #: The id of the activity (what an ``Undo`` names).
    activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    actor: Mapped[str] = mapped_column(URI)
    object_uri: Mapped[str] = mapped_column(URI, index=True)
    #: The local agent that reacted; None for remote actors.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActorBlock(Base):
    """An actor a local agent blocks: its activities to the agent are refused and the
    agent delivers nothing to it."""

    __tablename__ = "actor_blocks"
    __table_args__ = (UniqueConstraint("agent_id", "blocked"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    blocked: Mapped[str] = mapped_column(URI, index=True)
    #: The id of the ``Block`` activity (what an ``Undo`` names).
    activity_uri: Mapped[str] = mapped_column(URI, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeaturedItem(Base):
    """A post an agent features (pins) in its ``featured`` collection."""

    __tablename__ = "featured_items"
    __table_args__ = (UniqueConstraint("agent_id", "object_uri"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    object_uri: Mapped[str] = mapped_column(URI)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentMove(Base):
    """Where a local agent's identity continues: its other actors (``alsoKnownAs``) and,
    once it has moved away, the actor it moved to (``movedTo``)."""

    __tablename__ = "agent_moves"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    #: JSON list of actor ids.
    also_known_as: Mapped[str] = mapped_column(Text, default="[]")
    moved_to: Mapped[str | None] = mapped_column(URI, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
