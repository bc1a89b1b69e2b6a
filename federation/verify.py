"""The front door for signed requests: which key to look up, verify, and who acts.

The inbox (or a route that demands signed GETs) calls, in this order:

1. `signature_key_id(headers)` to learn which key to look up (raises SignatureMissing);
2. `verify_request(parts, key, now, require_digest=True)` with that key;
   on SignatureInvalid, refresh the key once through the key cache and try again
   (`keycache.verify_signed_request` does 1 and 2 together);
3. `check_actor_matches_signer(activity, verified)` once the body is parsed.

RFC 9421 is used when Signature-Input is present, draft-cavage otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from federation import httpsig, rfc9421
from federation.errors import (
    OriginError,
    SignatureError,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMisdirected,
)
from federation.headers import HeaderInput, Headers
from federation.keys import PublicKey
from federation.request import RequestParts, origin_of, same_authority

__all__ = [
    "Verified",
    "actor_id_of",
    "check_actor_matches_signer",
    "check_same_origin",
    "signature_key_id",
    "signature_scheme",
    "verify_request",
]


@dataclass(frozen=True)
class Verified:
    """Who signed a request and how: stored with each activity as its provenance."""

    key_id: str
    actor_id: str
    scheme: str
    algorithm: str
    signed_at: datetime
    covered: tuple[str, ...]


def signature_scheme(headers: HeaderInput) -> Literal["rfc9421", "cavage"]:
    """ "rfc9421" when a Signature-Input header is present, else "cavage"."""
    view = headers if isinstance(headers, Headers) else Headers(headers)
    return "rfc9421" if "signature-input" in view else "cavage"


def signature_key_id(headers: HeaderInput) -> str:
    """The key id the request's signature names: the one to look up before verifying.

    Raises SignatureMissing when the request is unsigned, SignatureMalformed when the
    signature headers cannot be parsed or name no key.
    """
    view = headers if isinstance(headers, Headers) else Headers(headers)
    if signature_scheme(view) == "rfc9421":
        params = rfc9421.select_signature(view)
        if params.key_id is None:
            raise SignatureMalformed(f"signature {params.label} has no keyid")
        return params.key_id
    return httpsig.parse_signature_header(view).key_id


def verify_request(
    request: RequestParts, key: PublicKey, now: datetime, *, require_digest: bool
) -> Verified:
    """Verify the request's signature with `key` (the one `signature_key_id` named).

    Pure: `key` was looked up by the caller, `now` is the caller's clock. The signed
    host (`host`, `@authority`, `@target-uri`) is checked against `request.host`, this
    server's own authority; a Host header that spells the same authority otherwise
    (case, an explicit default port) is accepted as the sender wrote it. Raises a
    SignatureError subclass whose `reason` says exactly what failed:
    SignatureMisdirected when the request verifies only for the other host its Host
    header names (a request signed for another server, replayed here).
    """
    try:
        return _verify(request, key, now, require_digest=require_digest)
    except SignatureInvalid as invalid:
        addressed = request.headers.get("host")
        if addressed is None or addressed == request.host:
            raise
        try:
            verified = _verify(
                replace(request, host=addressed), key, now, require_digest=require_digest
            )
        except SignatureError:
            raise invalid from None
        if same_authority(addressed, request.host, request.scheme):
            return verified  # our own authority, spelled as the sender wrote it
        raise SignatureMisdirected(
            f"the request was signed for the host {addressed}, not for this server "
            f"({request.host}): a request to another server cannot be replayed here"
        ) from None


def _verify(
    request: RequestParts, key: PublicKey, now: datetime, *, require_digest: bool
) -> Verified:
    result: httpsig.CavageResult | rfc9421.Rfc9421Result
    if signature_scheme(request.headers) == "rfc9421":
        params = rfc9421.select_signature(request.headers)
        _check_key_id(params.key_id, key)
        result = rfc9421.verify(params, request, key.key, now, require_digest=require_digest)
    else:
        cavage = httpsig.parse_signature_header(request.headers)
        _check_key_id(cavage.key_id, key)
        result = httpsig.verify(cavage, request, key.key, now, require_digest=require_digest)
    return Verified(
        key_id=key.key_id,
        actor_id=key.owner,
        scheme=result.scheme,
        algorithm=result.algorithm,
        signed_at=result.signed_at,
        covered=result.covered,
    )


def actor_id_of(activity: Mapping[str, Any]) -> str:
    """The id of the activity's single actor (a string, or an object with an id)."""
    actor = activity.get("actor")
    if isinstance(actor, list):
        if len(actor) != 1:
            raise OriginError(f"activity has {len(actor)} actors; exactly one is accepted")
        actor = actor[0]
    if isinstance(actor, Mapping):
        actor = actor.get("id")
    if not isinstance(actor, str) or not actor:
        raise OriginError("activity has no actor id")
    return actor


def check_actor_matches_signer(activity: Mapping[str, Any], verified: Verified) -> str:
    """Refuse an activity whose actor is not the signer, or whose id is off its origin.

    Returns the actor id. An activity without an id passes the origin check (the caller
    decides whether it accepts transient activities).
    """
    actor = actor_id_of(activity)
    if actor != verified.actor_id:
        raise OriginError(
            f"activity's actor {actor} is not the signer {verified.actor_id} "
            f"(key {verified.key_id})"
        )
    activity_id = activity.get("id")
    if activity_id is not None:
        if not isinstance(activity_id, str):
            raise OriginError("activity id is not a string")
        check_same_origin(activity_id, actor)
    return actor


def check_same_origin(object_id: str, actor_id: str) -> None:
    """Refuse `object_id` unless it has the same scheme, host and port as `actor_id`."""
    object_origin, actor_origin = origin_of(object_id), origin_of(actor_id)
    if not object_origin[1] or object_origin[0] not in ("http", "https"):
        raise OriginError(f"{object_id!r} is not an absolute http(s) URL")
    if object_origin != actor_origin:
        raise OriginError(f"{object_id} is not on the origin of its actor {actor_id}")


def _check_key_id(claimed: str | None, key: PublicKey) -> None:
    if claimed != key.key_id:
        raise SignatureInvalid(f"request is signed with key {claimed}, not {key.key_id}")
