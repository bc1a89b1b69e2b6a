"""OAuth 2.0: the client applications registered here and the authorization codes
handed to them. The tokens they get are ordinary rows of ``tokens`` (marked with the
client's id), so the API checks them exactly as it checks any other token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = ["AccountLink", "OAuthClient", "OAuthCode"]


class OAuthClient(Base):
    """An application registered by RFC 7591 dynamic registration."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 of the client secret; None for a public client (a browser or native app
    #: that cannot keep a secret: PKCE is its proof).
    secret_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    name: Mapped[str] = mapped_column(String(100))
    #: The redirect URIs, one per line, compared exactly.
    redirect_uris: Mapped[str] = mapped_column(Text)
    #: The scopes it may ask for (space-separated).
    scope: Mapped[str] = mapped_column(String(100), default="read write")
    #: The registered metadata as it was answered (JSON).
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    """An authorization code: single use, short-lived, bound to the client, the
    redirect URI, the person who consented, the scopes and the PKCE challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(100))
    #: The S256 code challenge (BASE64URL(SHA-256(verifier))).
    challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The token the code was exchanged for (revoked if the code is presented again).
    token_id: Mapped[int | None] = mapped_column(default=None)


class AccountLink(Base):
    """This instance acting as an OAuth client of another oce instance, for a person
    who is an agent on both: their actor there, the tokens it granted us, and the last
    overview read with them. ``pending`` rows wait for the person's consent there."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    #: The other instance's issuer (its base URL) and endpoints, from its metadata.
    issuer: Mapped[str] = mapped_column(String(255))
    endpoints_json: Mapped[str] = mapped_column(Text)
    #: Our registration there (a confidential client: the secret is ours to use).
    client_id: Mapped[str] = mapped_column(String(64))
    client_secret: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(64), unique=True)
    verifier: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    #: The person's actor on the other instance (set once linked).
    remote_actor: Mapped[str | None] = mapped_column(String(2048), default=None)
    access_token: Mapped[str | None] = mapped_column(String(100), default=None)
    refresh_token: Mapped[str | None] = mapped_column(String(100), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The other instance's overview as last read (JSON), and when.
    cache_json: Mapped[str] = mapped_column(Text, default="")
    cached_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
