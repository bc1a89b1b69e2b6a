"""Planning tests run two in-process instances (a.test, b.test), as the exchange tests do."""

from tests.exchange.conftest import pair, peer, postgres_or_sqlite_second

__all__ = ["pair", "peer", "postgres_or_sqlite_second"]
