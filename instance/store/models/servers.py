"""What we know of other servers' software: whether they speak ValueFlows.

One row per host we deliver to. It decides which rendering of a proposal the host gets:
the ``Proposal`` itself, or a ``Note`` that ordinary Fediverse software can show
(docs/mastodon.md says how the answer is found).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = ["RemoteServer"]


class RemoteServer(Base):
    """A server we deliver to, as its NodeInfo (or its actors' documents) describe it."""

    __tablename__ = "remote_servers"

    #: The authority we deliver to (``mastodon.example``, ``127.0.0.1:8001``).
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: Its NodeInfo ``software.name`` ("" when it published none).
    software: Mapped[str] = mapped_column(String(64), default="")
    #: True when it reads ValueFlows objects: it gets Proposals, never their Notes.
    valueflows: Mapped[bool] = mapped_column(default=False)
    #: Whether the last look found its NodeInfo (a failed look is retried sooner).
    nodeinfo_found: Mapped[bool] = mapped_column(default=False)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
