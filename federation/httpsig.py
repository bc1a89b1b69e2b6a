"""draft-cavage-http-signatures-12, as the Fediverse speaks it. Pure: no I/O.

We sign with rsa-sha256 (RSASSA-PKCS1-v1_5 over SHA-256) covering
`(request-target) host date` plus `digest content-type` on requests with a body and
`accept` on GETs that send one. We verify any header list that covers what we require,
with the algorithm the key's type dictates: the `algorithm` parameter may only narrow the
choice ("rsa-sha256" on an RSA key) or defer to the key ("hs2019"); any other claim is
refused rather than believed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from federation.algorithms import Algorithm, algorithms_for
from federation.clock import (
    check_expires,
    check_signed_at,
    format_http_date,
    from_timestamp,
    parse_http_date,
)
from federation.digest import check_body_digests, digest_header
from federation.errors import (
    SignatureCoverage,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
)
from federation.headers import HeaderInput, Headers
from federation.keys import PrivateKeyType, PublicKeyType, key_kind
from federation.request import RequestParts, authority_of, request_target_of

__all__ = [
    "CavageParams",
    "CavageResult",
    "parse_signature_header",
    "parse_signature_params",
    "sign_request",
    "signing_string",
    "verify",
]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^",\s]*))[ \t]*'
)
# What an `algorithm` parameter may say, and to which algorithms it narrows the key's.
_CLAIMS: dict[str, frozenset[str] | None] = {
    "hs2019": None,  # "derive from the key"
    "rsa-sha256": frozenset({"rsa-v1_5-sha256"}),
    "ed25519": frozenset({"ed25519"}),
}


@dataclass(frozen=True)
class CavageParams:
    """The parameters of a draft-cavage `Signature` header."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None


@dataclass(frozen=True)
class CavageResult:
    """A verified draft-cavage signature."""

    key_id: str
    claimed_algorithm: str
    algorithm: str
    covered: tuple[str, ...]
    signed_at: datetime

    @property
    def scheme(self) -> str:
        """How it was verified, for the record: "cavage-rsa-sha256", "cavage-hs2019"…"""
        return f"cavage-{self.claimed_algorithm}"


def parse_signature_header(headers: HeaderInput) -> CavageParams:
    """Find and parse the `Signature` header (or `Authorization: Signature …`).

    Raises SignatureMissing when neither is present, SignatureMalformed when unparsable.
    """
    view = headers if isinstance(headers, Headers) else Headers(headers)
    value = view.get("signature")
    if value is None:
        authorization = view.get("authorization") or ""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "signature":
            raise SignatureMissing("no Signature header")
        value = rest
    return parse_signature_params(value)


@lru_cache(maxsize=512)
def parse_signature_params(value: str) -> CavageParams:
    """Parse `keyId="…",algorithm="…",headers="…",signature="…"` strictly.

    Pure, and asked several times per request (for the key id, then to verify): the
    last few hundred results are kept. Errors are raised again each time.
    """
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _PARAM.match(value, position)
        if match is None:
            raise SignatureMalformed(f"Signature header is malformed at {value[position:][:20]!r}")
        name = match.group(1).lower()
        quoted = match.group(2)
        text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
        if name in params:
            raise SignatureMalformed(f"Signature header repeats the parameter {name!r}")
        params[name] = text
        position = match.end()
        if position < len(value):
            if value[position] != ",":
                raise SignatureMalformed(f"Signature header: expected ',' after {name!r}")
            position += 1
    key_id = params.get("keyid")
    if not key_id:
        raise SignatureMalformed("Signature header has no keyId")
    encoded = params.get("signature")
    if not encoded:
        raise SignatureMalformed("Signature header has no signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMalformed("Signature header's signature is not base64") from exc
    # Without a headers parameter the draft and Mastodon both mean "date" alone.
    covered = tuple(params.get("headers", "date").lower().split())
    if not covered:
        raise SignatureMalformed("Signature header has an empty headers list")
    algorithm = params.get("algorithm")
    return CavageParams(
        key_id=key_id,
        algorithm=algorithm.lower() if algorithm else None,
        headers=covered,
        signature=signature,
        created=_timestamp(params, "created"),
        expires=_timestamp(params, "expires"),
    )


def signing_string(params: CavageParams, request: RequestParts) -> str:
    """The string the signature is computed over, one `name: value` line per header."""
    lines = []
    for name in params.headers:
        if name == "(request-target)":
            value = f"{request.method.lower()} {request.target}"
        elif name in ("(created)", "(expires)"):
            stamp = params.created if name == "(created)" else params.expires
            if stamp is None:
                raise SignatureMalformed(f"signature covers {name} but has no such parameter")
            value = str(stamp)
        elif name == "host":
            value = request.host
        else:
            found = request.headers.get(name)
            if found is None:
                raise SignatureMalformed(f"signature covers {name!r}, a header the request lacks")
            value = found
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def verify(
    params: CavageParams,
    request: RequestParts,
    key: PublicKeyType,
    now: datetime,
    *,
    require_digest: bool,
) -> CavageResult:
    """Verify a parsed draft-cavage signature over `request` with `key`.

    Checks, in order: coverage of `(request-target)`, `host`, `date` or `(created)`, and
    `digest` when `require_digest` (or whenever a body is sent); the signature time
    window; the digest recomputed over the raw body; the signature itself. Raises a
    SignatureError subclass whose `reason` names what failed.
    """
    covered = set(params.headers)
    for name in ("(request-target)", "host"):
        if name not in covered:
            raise SignatureCoverage(f"signature does not cover {name}")
    if not covered & {"date", "(created)"}:
        raise SignatureCoverage("signature covers neither date nor (created)")
    if (require_digest or request.body) and not covered & {"digest", "content-digest"}:
        raise SignatureCoverage("signature does not cover the body digest")

    signed_at = _check_time(params, request, now)
    check_body_digests(request.headers, request.body)
    candidates = _candidates(params.algorithm, key)
    data = _encode(signing_string(params, request))
    for algorithm in candidates:
        if algorithm.verify(key, data, params.signature):
            return CavageResult(
                key_id=params.key_id,
                claimed_algorithm=params.algorithm or "hs2019",
                algorithm=algorithm.name,
                covered=params.headers,
                signed_at=signed_at,
            )
    raise SignatureInvalid(
        f"signature does not verify with the {key_kind(key)} key {params.key_id}: "
        "the request was changed after signing or signed with another key"
    )


def sign_request(
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes | None,
    key_id: str,
    private_key: PrivateKeyType,
    now: datetime,
) -> dict[str, str]:
    """The headers to add to sign a request: Host, Date, Digest (with a body), Signature.

    Covers `(request-target) host date`, then `digest content-type` when a body is sent
    and `accept` when a GET carries one. RSA keys sign as "rsa-sha256", others "hs2019".
    """
    if '"' in key_id or "\\" in key_id:
        raise ValueError(f"key id {key_id!r} cannot be quoted in a Signature header")
    method = method.upper()
    added = {"Host": authority_of(url), "Date": format_http_date(now)}
    covered = ["(request-target)", "host", "date"]
    given = Headers(headers)
    if body or method in _BODY_METHODS:
        added["Digest"] = digest_header(body or b"")
        covered.append("digest")
        if "content-type" in given:
            covered.append("content-type")
    elif "accept" in given:
        covered.append("accept")
    request = RequestParts(
        method=method,
        target=request_target_of(url),
        host=added["Host"],
        headers=Headers([*given, *added.items()]),
    )
    algorithm = algorithms_for(private_key)[0]
    claimed = "rsa-sha256" if algorithm.name == "rsa-v1_5-sha256" else "hs2019"
    params = CavageParams(key_id, claimed, tuple(covered), b"")
    signature = algorithm.sign(private_key, _encode(signing_string(params, request)))
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="{claimed}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


def _check_time(params: CavageParams, request: RequestParts, now: datetime) -> datetime:
    signed_at: datetime | None = None
    if "(created)" in params.headers and params.created is not None:
        signed_at = from_timestamp(params.created, what="created")
        check_signed_at(signed_at, now, what="signature created")
    if "date" in params.headers:
        value = request.headers.get("date")
        if value is None:
            raise SignatureMalformed("signature covers date, but the request has no Date header")
        signed_at = parse_http_date(value)
        check_signed_at(signed_at, now, what="Date header")
    if params.expires is not None:
        check_expires(from_timestamp(params.expires, what="expires"), now)
    if signed_at is None:
        raise SignatureMalformed("signature covers (created) without a created parameter")
    return signed_at


def _candidates(claim: str | None, key: PublicKeyType) -> tuple[Algorithm, ...]:
    own = algorithms_for(key)
    if claim is not None and claim not in _CLAIMS:
        raise SignatureInvalid(
            f"Signature algorithm {claim!r} is not accepted (the key is {key_kind(key)})"
        )
    allowed = _CLAIMS.get(claim or "hs2019")
    if allowed is None:
        return own
    narrowed = tuple(algorithm for algorithm in own if algorithm.name in allowed)
    if not narrowed:
        raise SignatureInvalid(
            f"Signature claims algorithm {claim!r}, but the key is {key_kind(key)}"
        )
    return narrowed


def _timestamp(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise SignatureMalformed(f"Signature parameter {name}={text!r} is not an integer")
    return int(text)


def _encode(text: str) -> bytes:
    # Header values arrive latin-1 decoded (ASGI); encoding back gives the raw bytes.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
