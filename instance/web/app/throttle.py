"""Failed sign-ins slow down further tries, per account and per client address.

Each key (``account:NAME``, ``address:IP``) counts its failures in a window. Past a
free allowance, every failure locks the key for twice as long as the one before, up to
:data:`MAX_LOCK`; while a key is locked, a sign-in is refused before the password is
even checked. So guessing is bounded (at most a few tries per quarter hour per account
once locked) while the owner waits minutes, not forever. A success clears the
account's count, not the address's (one address may try many accounts). The counts
live in the database, so every web process shares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.db import Database
from instance.store.models import LoginThrottle, utcnow

__all__ = ["MAX_LOCK", "WINDOW", "Limit", "locked_until", "record_failure", "record_success"]

#: Failures older than this are forgotten.
WINDOW = timedelta(hours=1)
#: The longest a key stays locked after one failure.
MAX_LOCK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Limit:
    """How many failures a kind of key gets before each further one locks it."""

    prefix: str
    free: int


ACCOUNT = Limit("account", free=5)
ADDRESS = Limit("address", free=20)


def _keys(username: str | None, address: str) -> list[tuple[Limit, str]]:
    """The keys a try counts against; without a name (a passkey nobody registered),
    only the address."""
    keys = [(ADDRESS, f"{ADDRESS.prefix}:{address[:150]}")]
    if username is not None:
        keys.insert(0, (ACCOUNT, f"{ACCOUNT.prefix}:{username.lower()[:150]}"))
    return keys


async def locked_until(db: Database, username: str | None, address: str) -> datetime | None:
    """The moment the later of the account's and the address's locks ends, if any."""
    now = utcnow()
    latest: datetime | None = None
    async with db.read() as session:
        for _limit, key in _keys(username, address):
            row = await session.get(LoginThrottle, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                latest = max(latest or row.locked_until, row.locked_until)
    return latest


def _lock_for(failures: int, free: int) -> timedelta | None:
    over = failures - free
    if over <= 0:
        return None
    return min(timedelta(seconds=2 ** min(over - 1, 20)), MAX_LOCK)


async def _count(session: AsyncSession, limit: Limit, key: str, now: datetime) -> None:
    row = await session.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        session.add(row)
    elif now - row.window_start > WINDOW:
        row.failures, row.window_start = 0, now
    row.failures += 1
    lock = _lock_for(row.failures, limit.free)
    row.locked_until = now + lock if lock else None


async def record_failure(db: Database, username: str | None, address: str) -> None:
    """Count a failed sign-in against the account and the address."""
    for attempt in range(2):
        try:
            async with db.write() as session:
                now = utcnow()
                for limit, key in _keys(username, address):
                    await _count(session, limit, key, now)
            return
        except IntegrityError:
            # Another request inserted the same key first; its row exists now.
            if attempt:
                raise


async def record_success(db: Database, username: str) -> None:
    async with db.write() as session:
        row = await session.get(LoginThrottle, f"{ACCOUNT.prefix}:{username.lower()[:150]}")
        if row is not None:
            await session.delete(row)
