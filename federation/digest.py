"""Body digests: the legacy `Digest` header (RFC 3230) and `Content-Digest` (RFC 9530).

Checkers recompute the hash over the exact raw bytes received, never over a re-encoded
body. A header may list several algorithms: every one we support must match, and at
least one supported algorithm must be present.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from http_sfv.dictionary import Dictionary
from http_sfv.item import Item

from federation.errors import DigestMismatch
from federation.headers import Headers

__all__ = [
    "check_body_digests",
    "check_content_digest",
    "check_digest",
    "content_digest_header",
    "digest_header",
]

# Lower-cased algorithm name -> hashlib name. SHA-1 and MD5 are not trusted.
_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}


def digest_header(body: bytes) -> str:
    """The `Digest` header value for `body`: "SHA-256=<base64>"."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """The `Content-Digest` header value for `body`, e.g. "sha-256=:<base64>:"."""
    name = _ALGORITHMS.get(algorithm.lower())
    if name is None:
        raise ValueError(f"Content-Digest algorithm {algorithm!r} is not supported")
    encoded = base64.b64encode(hashlib.new(name, body).digest()).decode("ascii")
    return f"{algorithm.lower()}=:{encoded}:"


def check_digest(value: str, body: bytes) -> str:
    """Check a `Digest` header against `body`; return the algorithm that matched.

    Raises DigestMismatch when no supported algorithm is listed or one does not match.
    """
    checked: list[str] = []
    for member in value.split(","):
        algorithm, sep, encoded = member.strip().partition("=")
        algorithm = algorithm.strip().lower()
        if not sep or algorithm not in _ALGORITHMS:
            continue
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DigestMismatch(f"Digest {algorithm} value is not base64") from exc
        _compare(algorithm, expected, body, "Digest")
        checked.append(algorithm)
    if not checked:
        raise DigestMismatch(f"Digest header {value!r} has no SHA-256 or SHA-512 value")
    return checked[0]


def check_content_digest(value: str, body: bytes) -> str:
    """Check a `Content-Digest` header against `body`; return the algorithm that matched.

    Raises DigestMismatch when the header is malformed, lists no supported algorithm, or
    one does not match.
    """
    parsed = Dictionary()
    try:
        parsed.parse(value.encode("latin-1"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise DigestMismatch(f"Content-Digest {value!r} is not a structured dictionary") from exc
    checked: list[str] = []
    for algorithm, member in parsed.items():
        if algorithm not in _ALGORITHMS:
            continue
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestMismatch(f"Content-Digest {algorithm} value is not a byte sequence")
        _compare(algorithm, member.value, body, "Content-Digest")
        checked.append(algorithm)
    if not checked:
        raise DigestMismatch(f"Content-Digest {value!r} has no sha-256 or sha-512 value")
    return checked[0]


def _compare(algorithm: str, expected: bytes, body: bytes, header: str) -> None:
    actual = hashlib.new(_ALGORITHMS[algorithm], body).digest()
    if not hmac.compare_digest(actual, expected):
        raise DigestMismatch(f"{header} {algorithm} does not match the body received")


def check_body_digests(headers: Headers, body: bytes) -> None:
    """Check every digest header present (Digest, Content-Digest) against `body`.

    Each one is checked whether the signature covers it or not: a mismatch means the body
    is not what the sender sent. A non-empty body with neither header is refused.
    """
    digest = headers.get("digest")
    content_digest = headers.get("content-digest")
    if digest is not None:
        check_digest(digest, body)
    if content_digest is not None:
        check_content_digest(content_digest, body)
    if digest is None and content_digest is None and body:
        raise DigestMismatch("request has a body but neither Digest nor Content-Digest")
