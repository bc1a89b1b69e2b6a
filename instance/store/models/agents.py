"""Local agents, the instance actor, and client tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = ["Agent", "InstanceIdentity", "InstanceKey", "Token"]


class Agent(Base):
    """A person or organization of this collective, published as an ActivityPub actor."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``Person`` or ``Organization`` (the actor's ActivityStreams type).
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    manually_approves_followers: Mapped[bool] = mapped_column(default=False)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    #: The Ed25519 key that signs the agent's economic records (FEP-8b32 proofs),
    #: published as a Multikey in the actor's ``assertionMethod`` (FEP-521a).
    proof_private_pem: Mapped[str | None] = mapped_column(Text, default=None)
    proof_public_pem: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceKey(Base):
    """The key pair of the instance actor (``/actor``), which signs our own fetches.

    A single row, created on first start.
    """

    __tablename__ = "instance_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstanceIdentity(Base):
    """The base URL this database's ids were minted under. A single row.

    Every actor, activity and record id starts with it, and peers keep those ids for
    good, so serving the same database under another URL is refused unless the
    operator confirms it (``oce serve --accept-new-base-url``).
    """

    __tablename__ = "instance_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    base_url: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """A bearer token for an agent's client. Only its SHA-256 digest is stored.

    A revoked token keeps its row (so its owner can still see it was revoked); an
    expired one too. OAuth clients (to come) get tokens of their own here, marked
    with their ``client_id``.
    """

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    #: What it may do, OAuth-style: space-separated scopes (``read write``).
    scope: Mapped[str] = mapped_column(String(100), default="read write")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    #: None: it never expires.
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The application it was issued to (None: made by ``oce token create``).
    client_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    #: SHA-256 of the OAuth refresh token that renews this token (None: not renewable).
    #: Refreshing rotates both secrets in this same row: one row per grant.
    refresh_digest: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    #: The person's actor on another instance that holds this token to link the two
    #: accounts (published in ``alsoKnownAs`` while the token is live).
    linked_actor: Mapped[str | None] = mapped_column(String(2048), default=None)
