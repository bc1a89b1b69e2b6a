"""Passkeys (WebAuthn): the rules, with the ``webauthn`` library doing the parsing and
the cryptographic checks.

The relying party id is the host of the instance's base URL and the only origin
accepted is the base URL's. A challenge is 32 random bytes kept server-side as its
SHA-256 digest; it is good once (deleted when answered, whether or not the answer is
right) and for :data:`CHALLENGE_LIFETIME`. A registration challenge belongs to the
person who asked for it. Sign-in uses discoverable credentials (the browser offers the
passkeys it holds for this site); user verification is preferred, not required.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent, Passkey, PasskeyChallenge, utcnow

__all__ = [
    "CHALLENGE_LIFETIME",
    "MAX_BODY",
    "MAX_PASSKEYS",
    "authentication_options",
    "finish_registration",
    "finish_sign_in",
    "registration_options",
]

CHALLENGE_LIFETIME = timedelta(minutes=2)
MAX_BODY = 16_384
MAX_PASSKEYS = 10


def rp_id(svc: Services) -> str:
    return urlsplit(svc.urls.base).hostname or ""


def origin(svc: Services) -> str:
    parts = urlsplit(svc.urls.base)
    return f"{parts.scheme}://{parts.netloc}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str, field: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise Problem(400, f"{field} is not base64url", field=field) from None


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def user_handle(agent: Agent) -> bytes:
    return f"oce-agent-{agent.id}".encode()


async def _new_challenge(svc: Services, purpose: str, agent_id: int | None) -> bytes:
    challenge = secrets.token_bytes(32)
    now = utcnow()
    async with svc.db.write() as session:
        await session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
        session.add(
            PasskeyChallenge(
                digest=_digest(challenge),
                purpose=purpose,
                agent_id=agent_id,
                expires_at=now + CHALLENGE_LIFETIME,
            )
        )
    return challenge


def _credential(body: Any) -> dict[str, Any]:
    """The credential of a posted body, its shape checked before the library reads it."""
    cred = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(cred, dict):
        raise Problem(400, "credential is missing or not an object", field="credential")
    response = cred.get("response")
    if not isinstance(cred.get("id"), str) or not isinstance(response, dict):
        raise Problem(400, "credential needs an id and a response", field="credential")
    if not isinstance(response.get("clientDataJSON"), str):
        raise Problem(400, "credential.response.clientDataJSON is missing", field="credential")
    return cred


async def _take_challenge(
    svc: Services, cred: dict[str, Any], purpose: str
) -> tuple[bytes, int | None]:
    """The challenge the browser answered, removed so it cannot be answered again."""
    raw = _unb64(cred["response"]["clientDataJSON"], "credential")
    try:
        client_data = json.loads(raw)
        challenge = _unb64(str(client_data["challenge"]), "credential")
    except (ValueError, KeyError, TypeError):
        raise Problem(400, "clientDataJSON could not be read", field="credential") from None
    async with svc.db.write() as session:
        row = await session.scalar(
            select(PasskeyChallenge).where(
                PasskeyChallenge.digest == _digest(challenge),
                PasskeyChallenge.purpose == purpose,
            )
        )
        if row is not None:
            gone = await session.execute(
                delete(PasskeyChallenge).where(PasskeyChallenge.id == row.id)
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                row = None
    if row is None or row.expires_at < utcnow():
        raise Problem(
            400,
            "this passkey request has expired or was already used: try again",
            field="challenge",
        )
    return challenge, row.agent_id


async def registration_options(svc: Services, agent: Agent) -> str:
    async with svc.db.read() as session:
        mine = list(await session.scalars(select(Passkey).where(Passkey.agent_id == agent.id)))
    if len(mine) >= MAX_PASSKEYS:
        raise Problem(409, f"a person has at most {MAX_PASSKEYS} passkeys", field="name")
    challenge = await _new_challenge(svc, "register", agent.id)
    options = generate_registration_options(
        rp_id=rp_id(svc),
        rp_name=svc.settings.instance_name or rp_id(svc),
        user_name=agent.username,
        user_id=user_handle(agent),
        user_display_name=agent.name or agent.username,
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_unb64(row.credential_id, "id")) for row in mine
        ],
    )
    return options_to_json(options)


async def finish_registration(svc: Services, agent: Agent, body: Any) -> Passkey:
    cred = _credential(body)
    name = body.get("name", "") if isinstance(body, dict) else ""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 64:
        raise Problem(400, "name it (1 to 64 characters)", field="name")
    challenge, owner = await _take_challenge(svc, cred, "register")
    if owner != agent.id:
        raise Problem(400, "this passkey request was for someone else", field="challenge")
    try:
        verified = verify_registration_response(
            credential=cred,
            expected_challenge=challenge,
            expected_rp_id=rp_id(svc),
            expected_origin=origin(svc),
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise Problem(400, f"the passkey was refused: {exc}"[:300], field="credential") from None
    row = Passkey(
        agent_id=agent.id,
        credential_id=_b64(verified.credential_id),
        public_key=_b64(verified.credential_public_key),
        sign_count=verified.sign_count,
        name=name.strip(),
    )
    async with svc.db.write() as session:
        taken = await session.scalar(
            select(func.count())
            .select_from(Passkey)
            .where(Passkey.credential_id == row.credential_id)
        )
        if taken:
            raise Problem(409, "this passkey is registered already", field="credential")
        session.add(row)
    return row


async def authentication_options(svc: Services) -> str:
    challenge = await _new_challenge(svc, "signin", None)
    options = generate_authentication_options(
        rp_id=rp_id(svc),
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


class SignInRefused(Problem):
    """A refused passkey sign-in; ``username`` is whose passkey it was, when known."""

    username: str | None = None


async def finish_sign_in(svc: Services, body: Any) -> Agent:
    """The agent whose passkey answered the challenge; :class:`Problem` otherwise."""
    cred = _credential(body)
    challenge, _owner = await _take_challenge(svc, cred, "signin")
    async with svc.db.read() as session:
        found = (
            await session.execute(
                select(Passkey, Agent)
                .join(Agent, Agent.id == Passkey.agent_id)
                .where(Passkey.credential_id == cred["id"][:1400])
            )
        ).first()
    if found is None:
        raise Problem(401, "this passkey is not registered here", field="credential")
    key, agent = found
    handle = cred["response"].get("userHandle")
    if handle and _unb64(str(handle), "credential") != user_handle(agent):
        raise Problem(401, "this passkey is not registered here", field="credential")
    try:
        verified = verify_authentication_response(
            credential=cred,
            expected_challenge=challenge,
            expected_rp_id=rp_id(svc),
            expected_origin=origin(svc),
            credential_public_key=_unb64(key.public_key, "public_key"),
            credential_current_sign_count=key.sign_count,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        refused = SignInRefused(401, f"the passkey was refused: {exc}"[:300], field="credential")
        refused.username = agent.username
        raise refused from None
    async with svc.db.write() as session:
        row = await session.get(Passkey, key.id)
        if row is not None:
            row.sign_count = verified.new_sign_count
            row.last_used_at = utcnow()
    return agent
