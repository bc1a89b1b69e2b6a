"""Plans, processes and recipes (ValueFlows planning), and the tombstones of agents.

A plan groups processes and commitments; a process changes inputs into outputs. Rows
hold this instance's record of each: ours (``agent_id`` set), or a peer's plan as we
recorded it because one of our agents is asked to commit to part of it. Commitments and
events name their process in ``input_of``/``output_of`` (columns of their own tables).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow
from instance.store.models.social import URI

__all__ = ["AgentTombstone", "Plan", "Process", "Recipe"]


class Plan(Base):
    """A body of planned work (VF Plan): processes and the commitments around them."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    #: The local author; None for a peer's plan we recorded.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    author: Mapped[str] = mapped_column(URI, index=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    due: Mapped[datetime | None] = mapped_column(default=None)
    #: The recipe it was made from, if any.
    based_on: Mapped[str | None] = mapped_column(URI, default=None)
    finished: Mapped[bool] = mapped_column(default=False)
    #: The plan as published (ids minted), canonical JSON.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Process(Base):
    """An activity that changes inputs into outputs (VF Process), within a plan."""

    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), index=True, default=None
    )
    author: Mapped[str] = mapped_column(URI)
    name: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str | None] = mapped_column(Text, default=None)
    has_beginning: Mapped[datetime | None] = mapped_column(default=None)
    has_end: Mapped[datetime | None] = mapped_column(default=None)
    based_on: Mapped[str | None] = mapped_column(URI, default=None)
    finished: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recipe(Base):
    """How to make a kind of resource (VF Recipe): recipe processes and exchanges with
    their flows, kept as published (canonical JSON) and served publicly."""

    __tablename__ = "recipes"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(URI, unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    #: The resource specification it makes (``primaryOutput``).
    primary_output: Mapped[str] = mapped_column(URI, index=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentTombstone(Base):
    """A local agent that was deleted: its actor answers 410 with a Tombstone, its
    tokens stop working; the records others hold keep naming its id."""

    __tablename__ = "agent_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), unique=True)
    former_type: Mapped[str] = mapped_column(String(20))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
