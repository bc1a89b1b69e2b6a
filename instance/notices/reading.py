"""Reading and marking an agent's notifications."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import Notification, utcnow

__all__ = ["PAGE", "mark_read", "recent", "unread_count"]

#: Notifications listed on the page, newest first.
PAGE = 100


async def unread_count(session: AsyncSession, agent_id: int) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.agent_id == agent_id, Notification.read_at.is_(None))
    )
    return int(found or 0)


async def recent(session: AsyncSession, agent_id: int, limit: int = PAGE) -> Sequence[Notification]:
    return (
        await session.scalars(
            select(Notification)
            .where(Notification.agent_id == agent_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    ).all()


async def mark_read(session: AsyncSession, agent_id: int, up_to: int | None = None) -> None:
    """Mark the agent's notifications read (those up to id ``up_to``, or all)."""
    where = [Notification.agent_id == agent_id, Notification.read_at.is_(None)]
    if up_to is not None:
        where.append(Notification.id <= up_to)
    await session.execute(update(Notification).where(*where).values(read_at=utcnow()))
