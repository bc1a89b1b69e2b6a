"""Passwords, stored as Argon2id hashes (``argon2-cffi``, RFC 9106 parameters).

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a worker thread:
the event loop keeps serving meanwhile, and no database session is open while it runs.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.store.models import Agent, Password, utcnow

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "check_password_text",
    "hash_password",
    "set_password",
    "stored_hash",
    "verify_password",
]

MIN_LENGTH = 10
#: Long enough for any passphrase; bounded so nobody makes us hash a megabyte.
MAX_LENGTH = 1024

#: argon2-cffi's defaults are RFC 9106's low-memory profile (Argon2id, t=3, 64 MiB, p=4).
_HASHER = PasswordHasher()


@cache
def _dummy() -> str:
    """Checked when the account does not exist or has no password, so that an unknown
    name costs as long as a wrong password and the timing says nothing. Made on first
    use: hashing at import added a quarter of a second to every ``oce`` command."""
    return _HASHER.hash("not anybody's password")


def check_password_text(password: str) -> str:
    """The password if it may be set; a 400 naming the rule otherwise."""
    if len(password) < MIN_LENGTH:
        raise Problem(400, f"a password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise Problem(400, f"a password has at most {MAX_LENGTH} characters", field="password")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, check_password_text(password))


async def set_password(session: AsyncSession, agent: Agent, hashed: str) -> None:
    """Store ``hashed`` (from :func:`hash_password`) as the agent's password."""
    row = await session.get(Password, agent.id, with_for_update=True)
    if row is None:
        session.add(Password(agent_id=agent.id, hash=hashed))
    else:
        row.hash = hashed
        row.updated_at = utcnow()
    await session.flush()


async def stored_hash(session: AsyncSession, agent_id: int) -> str | None:
    row = await session.get(Password, agent_id)
    return row.hash if row else None


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(hashed or _dummy(), password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(hashed: str | None, password: str) -> bool:
    """Whether ``password`` matches ``hashed``; False (after the same work) without one."""
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, hashed, password)
