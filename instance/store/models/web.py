"""What the Agent app (the pages people sign in to) keeps: passwords, sessions, and the
failed sign-ins that slow guessing down."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from instance.store.models.base import Base, utcnow

__all__ = ["LoginThrottle", "Passkey", "PasskeyChallenge", "Password", "WebSession"]


class Password(Base):
    """An agent's password, as an Argon2id hash (the PHC string carries its parameters)."""

    __tablename__ = "passwords"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random secret; only its SHA-256 digest
    is stored, so a leaked table signs nobody in. Revoking keeps the row (it shows
    when and why the session ended)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token every form of this session carries (synchronizer-token CSRF defence).
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The client address and browser it was opened from, for the person's own list.
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginThrottle(Base):
    """Failed sign-ins for one key (``account:NAME`` or ``address:IP``) in the current
    window, and until when further tries are refused without being checked."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class Passkey(Base):
    """A WebAuthn credential a person registered to sign in without a password."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    #: The credential id, base64url (at most 1023 bytes raw by the spec).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    #: The COSE public key, base64url.
    public_key: Mapped[str] = mapped_column(String(2000))
    sign_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class PasskeyChallenge(Base):
    """A challenge handed to a browser, good once, for a short while. ``agent_id`` is
    set for a registration (only that person may answer it), empty for a sign-in."""

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    expires_at: Mapped[datetime]
