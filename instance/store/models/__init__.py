"""Database tables (SQLAlchemy 2 typed models). Migrations live in ``instance/store/migrations``."""

from instance.store.models.agents import Agent, InstanceKey, Token
from instance.store.models.base import Base, DecimalText, UTCDateTime, utcnow
from instance.store.models.exchange import Agreement, Commitment, Intent, Proposal
from instance.store.models.interactions import ActorBlock, AgentMove, FeaturedItem, Reaction
from instance.store.models.ledger import EconomicEvent, EconomicResource, ResourceSpecification
from instance.store.models.objects import InboxEntry, StoredObject
from instance.store.models.queues import Delivery, InboxItem, PeerHost
from instance.store.models.servers import RemoteServer
from instance.store.models.social import BlockedDomain, Follow, RemoteActor, RemoteKey

__all__ = [
    "ActorBlock",
    "Agent",
    "AgentMove",
    "Agreement",
    "Base",
    "BlockedDomain",
    "Commitment",
    "DecimalText",
    "Delivery",
    "EconomicEvent",
    "EconomicResource",
    "FeaturedItem",
    "Follow",
    "InboxEntry",
    "InboxItem",
    "InstanceKey",
    "Intent",
    "PeerHost",
    "Proposal",
    "Reaction",
    "RemoteActor",
    "RemoteKey",
    "RemoteServer",
    "ResourceSpecification",
    "StoredObject",
    "Token",
    "UTCDateTime",
    "utcnow",
]
