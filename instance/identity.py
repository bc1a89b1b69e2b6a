"""The base URL a database belongs to.

Every id this instance mints (actors, activities, agreements, events) starts with its
base URL, and peers keep those ids for good. Starting the same database under another
URL (``--port 8010`` after months on 8000, a new domain) would silently orphan all of
them, so it is refused unless the operator confirms it. A database that has published
nothing yet (no agent, no object) simply takes the new URL.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from instance.store.db import Database
from instance.store.models import Agent, InstanceIdentity, StoredObject

__all__ = ["BaseUrlChanged", "settle_base_url"]


class BaseUrlChanged(Exception):
    """The database's ids were minted under another base URL. ``str()`` is one line."""

    def __init__(self, recorded: str, requested: str) -> None:
        self.recorded = recorded
        self.requested = requested
        super().__init__(
            f"this database's ids are under {recorded}, not {requested}: peers hold those "
            f"ids for good. Serve it as {recorded} (same --port, or OCE_BASE_URL={recorded}),"
            " or, if the instance really moved, confirm with --accept-new-base-url"
        )


async def settle_base_url(db: Database, base_url: str, *, accept_change: bool = False) -> bool:
    """Record ``base_url`` as the database's, or refuse it. True when the URL changed."""
    async with db.write() as session:
        identity = await session.scalar(select(InstanceIdentity))
        if identity is None:
            session.add(InstanceIdentity(base_url=base_url))
            return False
        if identity.base_url == base_url:
            return False
        published = await session.scalar(
            select(exists(select(Agent.id)) | exists(select(StoredObject.id)))
        )
        if published and not accept_change:
            raise BaseUrlChanged(identity.base_url, base_url)
        identity.base_url = base_url
        return True
