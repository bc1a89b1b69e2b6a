"""The social side of ActivityPub beyond following: posts of every type a client may
create and delete, likes and boosts, blocks, featured posts, and moving an agent.

Importing this package registers its inbound handlers and outbox builders; ``routes``
are the collections it serves.
"""

from instance.social import blocks, featured, moves, posts, reactions
from instance.social.routes import routes

__all__ = ["blocks", "featured", "moves", "posts", "reactions", "routes"]
