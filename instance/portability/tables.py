"""Which rows belong to an agent, table by table, and how a row travels as JSON.

An export is a faithful copy of the agent's rows: every column, the stored documents
byte for byte (so their integrity proofs still verify), quantities as exact decimal
text. Surrogate keys travel too (``id``), only so that rows naming each other (an intent
and its proposal, a commitment and its agreement) can be joined up again on import,
where every row gets a fresh key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, DateTime, LargeBinary, Numeric, Select, and_, or_, select
from sqlalchemy.orm import DeclarativeBase

from instance.store.models import (
    ActorBlock,
    Agent,
    AgentMove,
    Agreement,
    Commitment,
    CoopClaim,
    CoopContribution,
    CoopDistribution,
    CoopEquation,
    CoopMembership,
    CoopPayment,
    CoopSettings,
    CoopValidation,
    DecimalText,
    EconomicEvent,
    EconomicResource,
    FeaturedItem,
    Follow,
    InboxEntry,
    Intent,
    Plan,
    Process,
    Proposal,
    Reaction,
    Recipe,
    RemoteActor,
    ResourceSpecification,
    StoredObject,
)

__all__ = ["AGENT_COLUMNS", "TABLES", "Table", "decode_row", "encode_row", "encode_values"]

#: Columns of the agent itself that travel; the private keys only when asked for.
AGENT_COLUMNS = ("username", "kind", "name", "summary", "manually_approves_followers", "created_at")
PRIVATE_COLUMNS = ("private_key_pem", "proof_private_pem")
PUBLIC_KEY_COLUMNS = ("public_key_pem", "proof_public_pem")

#: Foreign keys to other exported rows: column -> table whose ids it names.
REFERENCES = {
    "proposal_id": "proposals",
    "agreement_id": "agreements",
    "object_id": "objects",
    "plan_id": "plans",
    "contribution_id": "coop_contributions",
    "distribution_id": "coop_distributions",
}
#: Columns naming the agent itself (or, for follows and memberships, possibly another
#: local agent, which is remote from the instance the export goes to).
AGENT_REFERENCES = (
    "agent_id",
    "follower_agent_id",
    "followee_agent_id",
    "sender_agent_id",
    "organization_agent_id",
    "member_agent_id",
)


@dataclass(frozen=True)
class Table:
    """One table's share of an agent: ``rows(agent id, its actor ids)`` selects them
    (an imported agent is also its old actor, whose id its old records name)."""

    name: str
    model: type[DeclarativeBase]
    rows: Callable[[int, list[str]], Select[Any]]
    #: A natural key: a row already here with the same value is the same record.
    natural: str | None = None
    #: Whether an existing row with that key is fine (a shared cache, a remote post).
    shared: bool = False


def _mine(model: Any) -> Callable[[int, list[str]], Select[Any]]:
    return lambda agent_id, _actor: select(model).where(model.agent_id == agent_id)


def _objects(agent_id: int, _actors: list[str]) -> Select[Any]:
    received = select(InboxEntry.object_id).where(InboxEntry.agent_id == agent_id)
    return select(StoredObject).where(
        or_(StoredObject.agent_id == agent_id, StoredObject.id.in_(received))
    )


def _parties(*columns: Any) -> Callable[[list[str]], ColumnElement[bool]]:
    return lambda actors: or_(*(column.in_(actors) for column in columns))


_agreement_party = _parties(Agreement.proposer, Agreement.counterparty)


def _agreements(_agent_id: int, actors: list[str]) -> Select[Any]:
    return select(Agreement).where(_agreement_party(actors))


def _commitments(_agent_id: int, actors: list[str]) -> Select[Any]:
    agreements = select(Agreement.id).where(_agreement_party(actors))
    return select(Commitment).where(
        or_(
            Commitment.agreement_id.in_(agreements),
            _parties(Commitment.provider, Commitment.receiver, Commitment.creator)(actors),
        )
    )


def _events(_agent_id: int, actors: list[str]) -> Select[Any]:
    return select(EconomicEvent).where(
        _parties(EconomicEvent.provider, EconomicEvent.receiver)(actors)
    )


def _intents(agent_id: int, _actors: list[str]) -> Select[Any]:
    proposals = select(Proposal.id).where(Proposal.agent_id == agent_id)
    return select(Intent).where(Intent.proposal_id.in_(proposals))


def _follows(agent_id: int, _actors: list[str]) -> Select[Any]:
    return select(Follow).where(
        or_(Follow.follower_agent_id == agent_id, Follow.followee_agent_id == agent_id)
    )


def _remote_actors(agent_id: int, _actors: list[str]) -> Select[Any]:
    mine = or_(Follow.follower_agent_id == agent_id, Follow.followee_agent_id == agent_id)
    known = select(Follow.follower).where(mine).union(select(Follow.followee).where(mine))
    return select(RemoteActor).where(RemoteActor.uri.in_(known))


def _reactions(agent_id: int, _actors: list[str]) -> Select[Any]:
    posts = select(StoredObject.uri).where(StoredObject.agent_id == agent_id)
    return select(Reaction).where(
        or_(Reaction.agent_id == agent_id, Reaction.object_uri.in_(posts))
    )


def _plans(agent_id: int, actors: list[str]) -> Select[Any]:
    # Its own plans, and the peers' plans it was asked to commit to.
    asked = select(Commitment.planned_within).where(
        _parties(Commitment.provider, Commitment.receiver)(actors)
    )
    return select(Plan).where(or_(Plan.agent_id == agent_id, Plan.uri.in_(asked)))


def _processes(agent_id: int, actors: list[str]) -> Select[Any]:
    plans = _plans(agent_id, actors).with_only_columns(Plan.id)
    return select(Process).where(
        or_(
            Process.plan_id.in_(plans),
            and_(Process.plan_id.is_(None), Process.author.in_(actors)),
        )
    )


def _memberships(agent_id: int, actors: list[str]) -> Select[Any]:
    return select(CoopMembership).where(
        or_(
            CoopMembership.organization_agent_id == agent_id,
            CoopMembership.member_agent_id == agent_id,
            _parties(CoopMembership.organization, CoopMembership.member)(actors),
        )
    )


def _contributions(_agent_id: int, actors: list[str]) -> Select[Any]:
    return select(CoopContribution).where(
        _parties(CoopContribution.organization, CoopContribution.contributor)(actors)
    )


def _validations(agent_id: int, actors: list[str]) -> Select[Any]:
    contributions = _contributions(agent_id, actors).with_only_columns(CoopContribution.id)
    return select(CoopValidation).where(CoopValidation.contribution_id.in_(contributions))


def _organization(model: Any) -> Callable[[int, list[str]], Select[Any]]:
    return lambda agent_id, _actors: select(model).where(model.organization_agent_id == agent_id)


def _payments(agent_id: int, _actors: list[str]) -> Select[Any]:
    distributions = select(CoopDistribution.id).where(
        CoopDistribution.organization_agent_id == agent_id
    )
    return select(CoopPayment).where(CoopPayment.distribution_id.in_(distributions))


#: In the order they are written and read back: rows come after those they name.
TABLES = (
    Table("resource_specifications", ResourceSpecification, _mine(ResourceSpecification), "uri"),
    Table("economic_resources", EconomicResource, _mine(EconomicResource), "uri"),
    Table("proposals", Proposal, _mine(Proposal), "uri"),
    Table("intents", Intent, _intents, "uri"),
    Table("agreements", Agreement, _agreements, "offer_uri"),
    Table("commitments", Commitment, _commitments, "uri"),
    Table("economic_events", EconomicEvent, _events, "uri"),
    Table("objects", StoredObject, _objects, "uri", shared=True),
    Table("inbox_entries", InboxEntry, _mine(InboxEntry)),
    Table("remote_actors", RemoteActor, _remote_actors, "uri", shared=True),
    Table("follows", Follow, _follows, "activity_uri"),
    Table("reactions", Reaction, _reactions, "activity_uri"),
    Table("actor_blocks", ActorBlock, _mine(ActorBlock), "activity_uri"),
    Table("featured_items", FeaturedItem, _mine(FeaturedItem)),
    Table("agent_moves", AgentMove, _mine(AgentMove)),
    Table("plans", Plan, _plans, "uri"),
    Table("processes", Process, _processes, "uri"),
    Table("recipes", Recipe, _mine(Recipe), "uri"),
    Table("coop_settings", CoopSettings, _mine(CoopSettings)),
    Table("coop_memberships", CoopMembership, _memberships),
    Table("coop_contributions", CoopContribution, _contributions, "event_uri"),
    Table("coop_validations", CoopValidation, _validations),
    Table("coop_equations", CoopEquation, _organization(CoopEquation), "uri"),
    Table("coop_distributions", CoopDistribution, _organization(CoopDistribution), "uri"),
    Table("coop_payments", CoopPayment, _payments, "event_uri"),
    Table("coop_claims", CoopClaim, _organization(CoopClaim), "uri"),
)


def _kind(column_type: Any) -> str:
    if isinstance(column_type, DecimalText | Numeric):
        return "decimal"
    if isinstance(column_type, DateTime) or isinstance(
        getattr(column_type, "impl", None), DateTime
    ):
        return "datetime"
    if isinstance(column_type, LargeBinary):
        return "bytes"
    return "plain"


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def encode_values(values: Mapping[Any, Any]) -> dict[str, Any]:
    """A row's columns (by name) as JSON values (decimals and times as exact text)."""
    return {str(getattr(key, "key", key)): _encode(value) for key, value in values.items()}


def encode_row(model: type[DeclarativeBase], row: Any) -> dict[str, Any]:
    """Every column of ``row`` as JSON values (decimals and times as exact text)."""
    return {column.key: _encode(getattr(row, column.key)) for column in model.__table__.columns}


def decode_row(model: type[DeclarativeBase], values: dict[str, Any]) -> dict[str, Any]:
    """The column values of an exported row, typed again; unknown columns are refused."""
    columns = {column.key: column for column in model.__table__.columns}
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        column = columns.get(key)
        if column is None:
            raise ValueError(f"{model.__tablename__} has no column {key!r}")
        kind = _kind(column.type)
        if value is None or kind == "plain":
            decoded[key] = value
        elif kind == "decimal":
            decoded[key] = Decimal(str(value))
        elif kind == "datetime":
            decoded[key] = datetime.fromisoformat(value)
        else:
            decoded[key] = base64.b64decode(value)
    return decoded


def agent_row(agent: Agent, *, with_keys: bool) -> dict[str, Any]:
    names = ("id", *AGENT_COLUMNS, *PUBLIC_KEY_COLUMNS, *(PRIVATE_COLUMNS if with_keys else ()))
    return {name: _encode(getattr(agent, name)) for name in names}
