"""Which database errors mean "not now" (503, try again) rather than a fault of ours."""

from __future__ import annotations

import errno

import sqlalchemy.exc

from instance.problems import database_unavailable


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def wrapped(orig: BaseException, kind: type[sqlalchemy.exc.DBAPIError]) -> BaseException:
    return kind("INSERT …", {}, orig)


def test_a_database_that_is_down_restarting_or_full_is_unavailable() -> None:
    # SQLite's full disk, PostgreSQL shutting down or starting (57P0x), out of disk
    # (53100), a connection refused or dropped.
    assert database_unavailable(
        wrapped(Exception("database or disk is full"), sqlalchemy.exc.OperationalError)
    )
    assert database_unavailable(wrapped(DriverError("57P03"), sqlalchemy.exc.DBAPIError))
    assert database_unavailable(wrapped(DriverError("53100"), sqlalchemy.exc.DBAPIError))
    assert database_unavailable(ConnectionRefusedError())
    assert database_unavailable(OSError(errno.ENOSPC, "No space left on device"))
    assert database_unavailable(sqlalchemy.exc.TimeoutError("QueuePool limit"))


def test_a_wrong_request_or_a_bug_is_not() -> None:
    assert not database_unavailable(wrapped(DriverError("23505"), sqlalchemy.exc.IntegrityError))
    assert not database_unavailable(wrapped(DriverError("42P01"), sqlalchemy.exc.DBAPIError))
    assert not database_unavailable(ValueError("bad"))
    assert not database_unavailable(OSError(errno.EACCES, "Permission denied"))
