"""Blocked domains: their requests get 403 and nothing is delivered to them.

Every process keeps the blocked set in memory and re-reads it from the database when
it is older than :data:`REFRESH_SECONDS`, so a block made by ``oce domain block`` (or
by another process, on any machine) takes effect in every process within that time,
without a query per request: one small read per process and second, however busy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.store.db import Database
from instance.store.models import BlockedDomain

__all__ = ["Blocklist", "block_domain", "blocked_domains", "normalize_domain", "unblock_domain"]

REFRESH_SECONDS = 1.0


def normalize_domain(domain: str) -> str:
    """A bare lower-case host name; refuses what is not one."""
    text = domain.strip().lower().rstrip(".")
    if "://" in text:
        text = urlsplit(text).hostname or ""
    if not text or len(text) > 253 or any(c in text for c in "/@ :?#"):
        raise Problem(400, f"{domain!r} is not a domain name", field="domain")
    return text


def _covered(host: str, blocked: frozenset[str]) -> bool:
    """Whether ``host`` or any parent domain of it is blocked."""
    parts = host.split(".")
    return any(".".join(parts[i:]) in blocked for i in range(len(parts)))


async def block_domain(session: AsyncSession, domain: str) -> str:
    name = normalize_domain(domain)
    if await session.get(BlockedDomain, name) is None:
        session.add(BlockedDomain(domain=name))
    return name


async def unblock_domain(session: AsyncSession, domain: str) -> bool:
    name = normalize_domain(domain)
    result = await session.execute(delete(BlockedDomain).where(BlockedDomain.domain == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def blocked_domains(session: AsyncSession) -> Sequence[str]:
    return (
        await session.scalars(select(BlockedDomain.domain).order_by(BlockedDomain.domain))
    ).all()


class Blocklist:
    """The blocked set, cached for :data:`REFRESH_SECONDS`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._domains: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")
        self._loading = asyncio.Lock()

    async def _current(self) -> frozenset[str]:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            # One read for all the requests that find the set stale at the same moment.
            async with self._loading:
                if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
                    started = time.monotonic()
                    async with self.db.read() as session:
                        self._domains = frozenset(await blocked_domains(session))
                    # From when the read began: a block committed during it is seen at
                    # the next refresh, still within REFRESH_SECONDS of its commit.
                    self._loaded_at = started
        return self._domains

    async def is_blocked(self, url_or_host: str) -> bool:
        """Whether the host of ``url_or_host`` (or a parent domain) is blocked."""
        domains = await self._current()
        if not domains:
            return False
        host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host
        return _covered((host or "").lower().split(":")[0], domains)
