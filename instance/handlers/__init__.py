"""Activity handlers (inbound) and outbox builders (client-to-server), by area.

Importing this package registers them all.
"""

from instance.handlers import exchange, ledger, notes, social

__all__ = ["exchange", "ledger", "notes", "social"]
