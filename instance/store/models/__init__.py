"""Database tables (SQLAlchemy 2 typed models). Migrations live in ``instance/store/migrations``."""

from instance.store.models.agents import Agent, InstanceIdentity, InstanceKey, Token
from instance.store.models.base import Base, DecimalText, UTCDateTime, utcnow
from instance.store.models.coop import (
    CoopAct,
    CoopClaim,
    CoopContribution,
    CoopDistribution,
    CoopEquation,
    CoopMembership,
    CoopPayment,
    CoopSettings,
    CoopValidation,
)
from instance.store.models.exchange import Agreement, Commitment, Intent, Proposal
from instance.store.models.interactions import ActorBlock, AgentMove, FeaturedItem, Reaction
from instance.store.models.ledger import EconomicEvent, EconomicResource, ResourceSpecification
from instance.store.models.notices import AgentAvatar, Notification
from instance.store.models.oauth import AccountLink, OAuthClient, OAuthCode
from instance.store.models.objects import InboxEntry, StoredObject
from instance.store.models.planning import AgentTombstone, Plan, Process, Recipe
from instance.store.models.queues import Delivery, InboxItem, PeerHost
from instance.store.models.servers import RemoteServer
from instance.store.models.social import BlockedDomain, Follow, RemoteActor, RemoteKey
from instance.store.models.web import (
    LoginThrottle,
    Passkey,
    PasskeyChallenge,
    Password,
    WebSession,
)

__all__ = [
    "AccountLink",
    "ActorBlock",
    "Agent",
    "AgentAvatar",
    "AgentMove",
    "AgentTombstone",
    "Agreement",
    "Base",
    "BlockedDomain",
    "Commitment",
    "CoopAct",
    "CoopClaim",
    "CoopContribution",
    "CoopDistribution",
    "CoopEquation",
    "CoopMembership",
    "CoopPayment",
    "CoopSettings",
    "CoopValidation",
    "DecimalText",
    "Delivery",
    "EconomicEvent",
    "EconomicResource",
    "FeaturedItem",
    "Follow",
    "InboxEntry",
    "InboxItem",
    "InstanceIdentity",
    "InstanceKey",
    "Intent",
    "LoginThrottle",
    "Notification",
    "OAuthClient",
    "OAuthCode",
    "Passkey",
    "PasskeyChallenge",
    "Password",
    "PeerHost",
    "Plan",
    "Process",
    "Proposal",
    "Reaction",
    "Recipe",
    "RemoteActor",
    "RemoteKey",
    "RemoteServer",
    "ResourceSpecification",
    "StoredObject",
    "Token",
    "UTCDateTime",
    "WebSession",
    "utcnow",
]
