"""An agent's own actor over client-to-server: ``Update{Person|Organization}`` (profile
edits, delivered to followers) and ``Delete`` of the actor (a tombstone, 410).

Importing this package registers the outbox builders (the app does, next to
:mod:`instance.handlers`).
"""

from instance.profiles import actor

__all__ = ["actor"]
