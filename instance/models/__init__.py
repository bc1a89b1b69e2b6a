"""Database tables (SQLAlchemy 2 typed models). Migrations live in ``instance/migrations``."""

from instance.models.agents import Agent, InstanceKey, Token
from instance.models.base import Base, DecimalText, UTCDateTime, utcnow
from instance.models.objects import InboxEntry, StoredObject
from instance.models.queues import Delivery, InboxItem, PeerHost
from instance.models.social import BlockedDomain, Follow, RemoteActor, RemoteKey

__all__ = [
    "Agent",
    "Base",
    "BlockedDomain",
    "DecimalText",
    "Delivery",
    "Follow",
    "InboxEntry",
    "InboxItem",
    "InstanceKey",
    "PeerHost",
    "RemoteActor",
    "RemoteKey",
    "StoredObject",
    "Token",
    "UTCDateTime",
    "utcnow",
]
