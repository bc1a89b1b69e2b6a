"""Activity handlers (inbound) and outbox builders (client-to-server), by area.

Importing this package registers them all.
"""

from instance.handlers import (
    commitments,
    events,
    exchange,
    lifecycle,
    notes,
    planning,
    proposals,
    recipes,
    social,
)

__all__ = [
    "commitments",
    "events",
    "exchange",
    "lifecycle",
    "notes",
    "planning",
    "proposals",
    "recipes",
    "social",
]
