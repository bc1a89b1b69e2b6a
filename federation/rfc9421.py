"""RFC 9421 HTTP Message Signatures for requests, with RFC 9530 Content-Digest. Pure.

Supported covered components: the derived `@method`, `@target-uri`, `@authority`,
`@scheme`, `@request-target`, `@path`, `@query`, and header fields by name. Component
parameters (`;sf`, `;key`, `;bs`, `;req`, `;tr`) and `@query-param` are refused, not
guessed at. The algorithm comes from the key's type; an `alg` parameter may only pick
among the algorithms that type allows (PKCS#1 v1.5 or PSS for RSA).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from http_sfv.dictionary import Dictionary
from http_sfv.item import InnerList, Item
from http_sfv.types import Token

from federation.algorithms import ALGORITHMS, Algorithm, algorithms_for
from federation.clock import check_expires, check_signed_at, from_timestamp, parse_http_date
from federation.digest import (
    check_body_digests,
    content_digest_header,
)
from federation.errors import (
    SignatureCoverage,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
)
from federation.headers import HeaderInput, Headers
from federation.keys import PrivateKeyType, PublicKeyType, key_kind
from federation.request import RequestParts, authority_of, normal_authority, request_target_of

__all__ = [
    "Rfc9421Params",
    "Rfc9421Result",
    "parse_signatures",
    "select_signature",
    "sign_rfc9421",
    "signature_base",
    "verify",
]

_DERIVED = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_TEXT_PARAMS = ("keyid", "alg", "nonce", "tag")
_INT_PARAMS = ("created", "expires")


@dataclass(frozen=True)
class Rfc9421Params:
    """One signature of a request: its Signature-Input entry and its Signature value."""

    label: str
    components: tuple[str, ...]
    signature_params: str
    signature: bytes
    key_id: str | None = None
    alg: str | None = None
    created: int | None = None
    expires: int | None = None
    nonce: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Rfc9421Result:
    """A verified RFC 9421 signature."""

    key_id: str
    label: str
    algorithm: str
    covered: tuple[str, ...]
    signed_at: datetime

    @property
    def scheme(self) -> str:
        """How it was verified, for the record, e.g. "rfc9421-rsa-v1_5-sha256"."""
        return f"rfc9421-{self.algorithm}"


def parse_signatures(headers: HeaderInput) -> tuple[Rfc9421Params, ...]:
    """Every signature in Signature-Input that has a Signature value, in header order.

    Raises SignatureMissing without Signature-Input, SignatureMalformed when unparsable.
    """
    view = headers if isinstance(headers, Headers) else Headers(headers)
    inputs = _dictionary(view, "signature-input")
    values = _dictionary(view, "signature")
    found = []
    for label, member in inputs.items():
        signature = values.get(label)
        if signature is None:
            continue
        if not isinstance(member, InnerList):
            raise SignatureMalformed(f"Signature-Input {label} is not an inner list")
        if not isinstance(signature, Item) or not isinstance(signature.value, bytes):
            raise SignatureMalformed(f"Signature {label} is not a byte sequence")
        found.append(_params(label, member, signature.value))
    if not found:
        raise SignatureMalformed("no Signature-Input label has a matching Signature")
    return tuple(found)


def select_signature(headers: HeaderInput) -> Rfc9421Params:
    """The signature we verify: the first Signature-Input label that has a Signature."""
    return parse_signatures(headers)[0]


def signature_base(params: Rfc9421Params, request: RequestParts) -> bytes:
    """The signature base (RFC 9421 §2.5): one line per component, then the params."""
    lines = [f'"{name}": {_component_value(name, request)}' for name in params.components]
    lines.append(f'"@signature-params": {params.signature_params}')
    text = "\n".join(lines)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def verify(
    params: Rfc9421Params,
    request: RequestParts,
    key: PublicKeyType,
    now: datetime,
    *,
    require_digest: bool,
) -> Rfc9421Result:
    """Verify one parsed signature over `request` with `key`.

    Requires `@method`; the target (`@target-uri`, `@request-target`, or `@path` with
    `@query` when there is one); the authority (`@target-uri`, `@authority` or `host`);
    a `created` parameter or a covered `date`; and `content-digest` when `require_digest`
    or a body is sent. Raises a SignatureError subclass whose `reason` says what failed.
    """
    if params.key_id is None:
        raise SignatureMalformed(f"signature {params.label} has no keyid parameter")
    _check_coverage(params, request, require_digest=require_digest)
    signed_at = _check_time(params, request, now)
    check_body_digests(request.headers, request.body)
    data = signature_base(params, request)
    for algorithm in _candidates(params.alg, key):
        if algorithm.verify(key, data, params.signature):
            return Rfc9421Result(
                key_id=params.key_id,
                label=params.label,
                algorithm=algorithm.name,
                covered=params.components,
                signed_at=signed_at,
            )
    raise SignatureInvalid(
        f"signature {params.label} does not verify with the {key_kind(key)} key "
        f"{params.key_id}: the request was changed after signing or signed with another key"
    )


def sign_rfc9421(
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes | None,
    key_id: str,
    private_key: PrivateKeyType,
    now: datetime,
    *,
    components: Sequence[str] | None = None,
    label: str = "sig1",
    algorithm: str | None = None,
    include_alg: bool = True,
    expires_in: timedelta | None = None,
    nonce: str | None = None,
    tag: str | None = None,
) -> dict[str, str]:
    """The headers that sign a request: Signature-Input, Signature, Content-Digest.

    By default covers `@method @target-uri`, plus `content-digest` when a body is sent.
    Content-Digest (sha-256) is added when covered and not already in `headers`.
    """
    method = method.upper()
    given = Headers(headers)
    if components is None:
        components = ("@method", "@target-uri")
        if body or method in _BODY_METHODS:
            components = (*components, "content-digest")
    added: dict[str, str] = {}
    if "content-digest" in components and "content-digest" not in given:
        added["Content-Digest"] = content_digest_header(body or b"")
    chosen = ALGORITHMS[algorithm] if algorithm else algorithms_for(private_key)[0]
    inner = InnerList(list(components))
    inner.params["created"] = int(now.timestamp())
    if expires_in is not None:
        inner.params["expires"] = int((now + expires_in).timestamp())
    inner.params["keyid"] = key_id
    if include_alg:
        inner.params["alg"] = chosen.name
    if nonce is not None:
        inner.params["nonce"] = nonce
    if tag is not None:
        inner.params["tag"] = tag
    params = _params(label, inner, b"")
    request = RequestParts(
        method=method,
        target=request_target_of(url),
        host=authority_of(url),
        headers=Headers([*given, *added.items()]),
        body=body or b"",
        scheme=url.partition(":")[0].lower(),
    )
    signature = chosen.sign(private_key, signature_base(params, request))
    added["Signature-Input"] = f"{label}={params.signature_params}"
    added["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return added


def _dictionary(view: Headers, name: str) -> Dictionary:
    value = view.get(name)
    if value is None:
        if name == "signature-input":
            raise SignatureMissing("no Signature-Input header")
        raise SignatureMalformed("Signature-Input without a Signature header")
    parsed = Dictionary()
    try:
        parsed.parse(value.encode("latin-1"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureMalformed(f"{name} header is not a structured dictionary") from exc
    return parsed


def _params(label: str, member: InnerList, signature: bytes) -> Rfc9421Params:
    names = []
    for item in member:
        if not isinstance(item.value, str) or isinstance(item.value, Token):
            raise SignatureMalformed(f"signature {label}: component {item} is not a string")
        if item.params:
            raise SignatureMalformed(
                f"signature {label}: component parameters on {item} are not supported"
            )
        name = item.value
        if name != name.lower():
            raise SignatureMalformed(f"signature {label}: component {name!r} is not lower case")
        if name.startswith("@") and name not in _DERIVED:
            raise SignatureMalformed(f"signature {label}: component {name} is not supported")
        if name in names:
            raise SignatureMalformed(f"signature {label}: component {name} is listed twice")
        names.append(name)
    values: dict[str, str | int] = {}
    for pname, pvalue in member.params.items():
        if pname in _INT_PARAMS:
            if type(pvalue) is not int:
                raise SignatureMalformed(f"signature {label}: {pname} is not an integer")
            values[pname] = pvalue
        elif pname in _TEXT_PARAMS:
            if not isinstance(pvalue, str) or isinstance(pvalue, Token):
                raise SignatureMalformed(f"signature {label}: {pname} is not a string")
            values[pname] = str(pvalue)
    return Rfc9421Params(
        label=label,
        components=tuple(names),
        signature_params=str(member),
        signature=signature,
        key_id=_text(values, "keyid"),
        alg=_text(values, "alg"),
        created=_int(values, "created"),
        expires=_int(values, "expires"),
        nonce=_text(values, "nonce"),
        tag=_text(values, "tag"),
    )


def _text(values: dict[str, str | int], name: str) -> str | None:
    value = values.get(name)
    return value if isinstance(value, str) else None


def _int(values: dict[str, str | int], name: str) -> int | None:
    value = values.get(name)
    return value if isinstance(value, int) else None


def _component_value(name: str, request: RequestParts) -> str:
    if name == "@method":
        value = request.method
    elif name == "@target-uri":
        value = request.target_uri
    elif name == "@authority":
        value = _normal_authority(request)
    elif name == "@scheme":
        value = request.scheme.lower()
    elif name == "@request-target":
        value = request.target
    elif name == "@path":
        value = request.path
    elif name == "@query":
        value = "?" + (request.query or "")
    elif name == "host":
        value = request.host
    else:
        found = request.headers.get(name)
        if found is None:
            raise SignatureMalformed(f"signature covers {name!r}, a header the request lacks")
        value = found
    if "\n" in value or "\r" in value:
        raise SignatureMalformed(f"component {name} has a line break")
    return value


def _normal_authority(request: RequestParts) -> str:
    return normal_authority(request.host, request.scheme)


def _check_coverage(params: Rfc9421Params, request: RequestParts, *, require_digest: bool) -> None:
    covered = set(params.components)
    if "@method" not in covered:
        raise SignatureCoverage(f"signature {params.label} does not cover @method")
    if not covered & {"@target-uri", "@request-target", "@path"}:
        raise SignatureCoverage(f"signature {params.label} does not cover the target")
    if (
        request.query is not None
        and not covered & {"@target-uri", "@request-target"}
        and "@query" not in covered
    ):
        raise SignatureCoverage(f"signature {params.label} does not cover @query")
    if not covered & {"@target-uri", "@authority", "host"}:
        raise SignatureCoverage(f"signature {params.label} does not cover the authority")
    if params.created is None and "date" not in covered:
        raise SignatureCoverage(f"signature {params.label} has neither created nor date")
    if (require_digest or request.body) and not covered & {"content-digest", "digest"}:
        raise SignatureCoverage(f"signature {params.label} does not cover content-digest")


def _check_time(params: Rfc9421Params, request: RequestParts, now: datetime) -> datetime:
    signed_at: datetime | None = None
    if "date" in params.components:
        value = request.headers.get("date")
        if value is None:
            raise SignatureMalformed("signature covers date, but the request has no Date header")
        signed_at = parse_http_date(value)
        check_signed_at(signed_at, now, what="Date header")
    if params.created is not None:
        signed_at = from_timestamp(params.created, what="created")
        check_signed_at(signed_at, now, what="signature created")
    if params.expires is not None:
        check_expires(from_timestamp(params.expires, what="expires"), now)
    assert signed_at is not None  # _check_coverage demands created or date
    return signed_at


def _candidates(claim: str | None, key: PublicKeyType) -> tuple[Algorithm, ...]:
    own = algorithms_for(key)
    if claim is None:
        return own
    narrowed = tuple(algorithm for algorithm in own if algorithm.name == claim)
    if not narrowed:
        raise SignatureInvalid(
            f"signature alg {claim!r} is not one a {key_kind(key)} key uses; not trusted"
        )
    return narrowed
