"""The database: engine, sessions and the two kinds of transaction.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` and foreign
keys on. Its write transactions start with ``BEGIN IMMEDIATE`` so that two writers
never both read and then fight over the upgrade to a write lock; read transactions
stay deferred so readers never wait for writers. PostgreSQL needs none of that: the
same code runs on it, and rows that must not be changed concurrently are locked with
``select(...).with_for_update()`` (SQLite ignores that clause; its immediate write
transactions already serialize writers).

Domain functions take an :class:`~sqlalchemy.ext.asyncio.AsyncSession` and never
commit it; the caller decides the transaction with :meth:`Database.read` or
:meth:`Database.write`.

**One session per task, never held while waiting.** A task that holds a session and
then asks for a second one (directly, or by authenticating, fetching or writing inside
the block) holds a pooled connection while it waits for another: enough such requests
at once take every connection, and then all of them, the inbox processor and the
delivery worker wait for the pool until it times out. So :meth:`Database.read` and
:meth:`Database.write` note the session a task holds in a context variable and refuse
(:class:`NestedSession`) to open another while it is set. The check (a few frame
lookups and a context variable: about 1 µs, where a session costs 100 µs or more) is
on unless ``strict=False`` (the ``OCE_STRICT_SESSIONS`` setting): a
refused nesting is one failed request with an error naming both places, where the
nesting itself would stall the whole instance under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["GROUP", "Database", "NestedSession", "create_engine"]

_WRITE = "oce_write"
#: How long a SQLite writer waits for the write lock before giving up.
BUSY_TIMEOUT_SECONDS = 30


class NestedSession(RuntimeError):
    """A task asked for a database session while it already holds one."""


#: Where the session the current task holds was opened (None: it holds none). Tasks
#: started inside a session block inherit it, and are refused sessions too: the block
#: usually waits for them.
Held = tuple[str, str, int, str]
_HELD: ContextVar[Held | None] = ContextVar("oce_session_held", default=None)
_PASSED_THROUGH = (__file__, contextlib.__file__)


class _Group(Protocol):
    db: Database

    def member(self) -> bool: ...

    def block(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]: ...


#: The write group the current task is a member of (:mod:`instance.store.grouping`):
#: its write blocks are savepoints of the group's shared transaction.
GROUP: ContextVar[_Group | None] = ContextVar("oce_write_group", default=None)


def _caller(kind: str) -> Held:
    """``(kind, file, line, function)`` of the code that asked for a session: the first
    frame outside this module and contextlib. Frame walking only; formatted on refusal."""
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_filename in _PASSED_THROUGH:
        frame = frame.f_back
    return kind, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name


def _where(held: Held) -> str:
    kind, filename, line, function = held
    return f"a {kind} session at {filename}:{line} in {function}"


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's begin event (below) issue BEGIN itself, instead of the driver's
    # implicit deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(database_url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine for ``database_url`` with oce's connection settings applied.

    The pool holds ``pool_size`` connections (twice that on PostgreSQL, counting its
    overflow); a task waits for one at most the pool's timeout (30 s).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=0)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


class Database:
    """The engine plus the two session factories every request and worker uses."""

    def __init__(self, engine: AsyncEngine, *, strict: bool = True) -> None:
        self.engine = engine
        #: Refuse a session to a task that holds one already (see the module docstring).
        self.strict = strict
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._reader = async_sessionmaker(engine, expire_on_commit=False)
        self._writer = async_sessionmaker(
            engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        self._write_turn = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def from_url(cls, database_url: str, *, strict: bool = True, **kwargs: Any) -> Database:
        return cls(create_engine(database_url, **kwargs), strict=strict)

    def _enter(self, kind: str) -> Token[Held | None] | None:
        """Mark the current task as holding a session; refuse it a second one."""
        if not self.strict:
            return None
        asked = _caller(kind)
        if (held := _HELD.get()) is not None:
            raise NestedSession(
                f"{_where(asked)} was asked for while this task holds {_where(held)}: close "
                "one before opening the other (authenticate and fetch before or after it)"
            )
        return _HELD.set(asked)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; rolled back at the end (it should write nothing)."""
        token = self._enter("read")
        try:
            async with self._reader() as session:
                yield session
        finally:
            if token is not None:
                _HELD.reset(token)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on error.

        On SQLite the writers of this process take turns here, before ``BEGIN
        IMMEDIATE``: a writer that finds the file locked by another of our connections
        would otherwise wait in SQLite's busy handler, which sleeps in steps of up to
        100 ms, long after the lock is free. Other processes still meet the busy
        timeout, and waiting here is bounded the same way.
        """
        token = self._enter("write")
        try:
            if (group := GROUP.get()) is not None and group.db is self and group.member():
                async with group.block() as session:
                    yield session
                return
            async with self.write_turn(), self._writer() as session, session.begin():
                yield session
        finally:
            if token is not None:
                _HELD.reset(token)

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """This process's turn to write (SQLite); nothing to wait for on PostgreSQL."""
        if self._write_turn is None:
            yield
            return
        async with asyncio.timeout(BUSY_TIMEOUT_SECONDS):
            await self._write_turn.acquire()
        try:
            yield
        finally:
            self._write_turn.release()

    def threaded_sqlite_engine(self) -> Engine | None:
        """A blocking engine on the same SQLite file, with the same settings, for a
        writer that runs a whole transaction in one worker thread; None when this is
        not a SQLite file."""
        url = self.engine.url
        if not self.is_sqlite or url.database in (None, "", ":memory:"):
            return None
        engine = sqlalchemy.create_engine(
            url.set(drivername="sqlite+pysqlite"),
            pool_size=1,
            max_overflow=0,
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine

    @staticmethod
    def writing(connection: Connection) -> Connection:
        """``connection`` set so that its transactions begin as writes (``IMMEDIATE``)."""
        return connection.execution_options(**{_WRITE: True})

    async def dispose(self) -> None:
        await self.engine.dispose()
