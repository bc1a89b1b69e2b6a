from __future__ import annotations

import pytest

from federation.digest import (
    check_body_digests,
    check_content_digest,
    check_digest,
    content_digest_header,
    digest_header,
)
from federation.errors import DigestMismatch
from federation.headers import Headers

# RFC 9530 and RFC 9421 use this body and these values in their examples.
BODY = b'{"hello": "world"}'
SHA256 = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
SHA512 = "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew=="


def test_digest_header_matches_the_rfc_example() -> None:
    assert digest_header(BODY) == f"SHA-256={SHA256}"


def test_content_digest_header_matches_the_rfc_examples() -> None:
    assert content_digest_header(BODY) == f"sha-256=:{SHA256}:"
    assert content_digest_header(BODY, "sha-512") == f"sha-512=:{SHA512}:"


def test_content_digest_header_refuses_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="md5"):
        content_digest_header(BODY, "md5")


@pytest.mark.parametrize(
    "value", [f"SHA-256={SHA256}", f"sha-256={SHA256}", f"MD5=xx, SHA-256={SHA256}"]
)
def test_check_digest_accepts_any_case_and_skips_unknown(value: str) -> None:
    assert check_digest(value, BODY) == "sha-256"


def test_check_digest_detects_a_changed_body() -> None:
    with pytest.raises(DigestMismatch, match="does not match"):
        check_digest(digest_header(BODY), BODY + b" ")


def test_check_digest_refuses_header_without_supported_algorithm() -> None:
    with pytest.raises(DigestMismatch, match="no SHA-256"):
        check_digest("MD5=abc", BODY)


def test_check_digest_refuses_non_base64() -> None:
    with pytest.raises(DigestMismatch, match="not base64"):
        check_digest("SHA-256=***", BODY)


def test_check_content_digest_sha256_and_sha512() -> None:
    assert check_content_digest(f"sha-256=:{SHA256}:", BODY) == "sha-256"
    assert check_content_digest(f"sha-512=:{SHA512}:", BODY) == "sha-512"
    both = f"sha-256=:{SHA256}:, sha-512=:{SHA512}:"
    assert check_content_digest(both, BODY) == "sha-256"


def test_check_content_digest_every_supported_value_must_match() -> None:
    wrong = content_digest_header(b"other", "sha-512")
    with pytest.raises(DigestMismatch, match="sha-512 does not match"):
        check_content_digest(f"sha-256=:{SHA256}:, {wrong}", BODY)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("sha-256=abc", "not a byte sequence"),
        ("not a dictionary!", "not a structured dictionary"),
        ("md5=:AAAA:", "no sha-256"),
    ],
)
def test_check_content_digest_refusals(value: str, why: str) -> None:
    with pytest.raises(DigestMismatch, match=why):
        check_content_digest(value, BODY)


def test_check_body_digests_requires_a_digest_for_a_body() -> None:
    check_body_digests(Headers(), b"")
    check_body_digests(Headers({"Digest": digest_header(BODY)}), BODY)
    with pytest.raises(DigestMismatch, match="neither"):
        check_body_digests(Headers(), BODY)
    with pytest.raises(DigestMismatch):
        check_body_digests(
            Headers({"Digest": digest_header(BODY), "Content-Digest": content_digest_header(b"x")}),
            BODY,
        )
