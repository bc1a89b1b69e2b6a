"""Database tables (SQLAlchemy 2 typed models). Migrations live in ``instance/migrations``."""

from instance.models.agents import Agent, InstanceKey, Token
from instance.models.base import Base, DecimalText, UTCDateTime, utcnow
from instance.models.exchange import Agreement, Commitment, Intent, Proposal
from instance.models.ledger import EconomicEvent, EconomicResource, ResourceSpecification
from instance.models.objects import InboxEntry, StoredObject
from instance.models.queues import Delivery, InboxItem, PeerHost
from instance.models.servers import RemoteServer
from instance.models.social import BlockedDomain, Follow, RemoteActor, RemoteKey

__all__ = [
    "Agent",
    "Agreement",
    "Base",
    "BlockedDomain",
    "Commitment",
    "DecimalText",
    "Delivery",
    "EconomicEvent",
    "EconomicResource",
    "Follow",
    "InboxEntry",
    "InboxItem",
    "InstanceKey",
    "Intent",
    "PeerHost",
    "Proposal",
    "RemoteActor",
    "RemoteKey",
    "RemoteServer",
    "ResourceSpecification",
    "StoredObject",
    "Token",
    "UTCDateTime",
    "utcnow",
]
