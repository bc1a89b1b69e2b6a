"""draft-cavage signatures: our signer, Mastodon-shaped requests, and every refusal."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation import httpsig
from federation.clock import format_http_date
from federation.digest import digest_header
from federation.errors import (
    DigestMismatch,
    SignatureCoverage,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignatureTimeError,
)
from federation.headers import Headers
from federation.keys import PublicKeyType
from federation.request import RequestParts

from .conftest import KEY_ID, NOW

INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"type":"Create","actor":"https://remote.example/users/alice"}'


def signed_post(
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, body: bytes = BODY, when: datetime = NOW
) -> RequestParts:
    given = {"Content-Type": "application/activity+json"}
    added = httpsig.sign_request("POST", INBOX, given, body, KEY_ID, key, when)
    return RequestParts(
        method="POST",
        target="/users/bob/inbox",
        host="local.example",
        headers=Headers([*given.items(), *added.items()]),
        body=body,
    )


def verify(
    request: RequestParts,
    key: PublicKeyType,
    *,
    now: datetime = NOW,
    require_digest: bool = True,
) -> httpsig.CavageResult:
    params = httpsig.parse_signature_header(request.headers)
    return httpsig.verify(params, request, key, now, require_digest=require_digest)


def replace_header(request: RequestParts, name: str, value: str | None) -> RequestParts:
    pairs = [(n, v) for n, v in request.headers if n.lower() != name.lower()]
    if value is not None:
        pairs.append((name, value))
    return RequestParts(request.method, request.target, request.host, Headers(pairs), request.body)


def test_sign_request_adds_the_expected_headers(rsa_key: rsa.RSAPrivateKey) -> None:
    added = httpsig.sign_request(
        "POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, KEY_ID, rsa_key, NOW
    )
    assert set(added) == {"Host", "Date", "Digest", "Signature"}
    assert added["Host"] == "local.example"
    assert added["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert added["Digest"] == digest_header(BODY)
    params = httpsig.parse_signature_params(added["Signature"])
    assert params.key_id == KEY_ID
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ("(request-target)", "host", "date", "digest", "content-type")


def test_sign_get_covers_accept_and_no_digest(rsa_key: rsa.RSAPrivateKey) -> None:
    added = httpsig.sign_request(
        "GET",
        "https://a.example:8443/o?x=1",
        {"Accept": "application/activity+json"},
        None,
        KEY_ID,
        rsa_key,
        NOW,
    )
    assert "Digest" not in added
    assert added["Host"] == "a.example:8443"
    params = httpsig.parse_signature_params(added["Signature"])
    assert params.headers == ("(request-target)", "host", "date", "accept")


def test_round_trip_post(rsa_key: rsa.RSAPrivateKey) -> None:
    result = verify(signed_post(rsa_key), rsa_key.public_key())
    assert result.scheme == "cavage-rsa-sha256"
    assert result.algorithm == "rsa-v1_5-sha256"
    assert result.signed_at == NOW


def test_round_trip_get_without_digest(rsa_key: rsa.RSAPrivateKey) -> None:
    added = httpsig.sign_request(
        "GET", "https://local.example/users/bob?page=1", {}, None, KEY_ID, rsa_key, NOW
    )
    request = RequestParts("GET", "/users/bob?page=1", "local.example", Headers(added))
    assert verify(request, rsa_key.public_key(), require_digest=False).key_id == KEY_ID


def test_ed25519_key_signs_as_hs2019(ed_key: ed25519.Ed25519PrivateKey) -> None:
    request = signed_post(ed_key)
    assert 'algorithm="hs2019"' in (request.headers.get("signature") or "")
    result = verify(request, ed_key.public_key())
    assert (result.scheme, result.algorithm) == ("cavage-hs2019", "ed25519")


def mastodon_request(key: rsa.RSAPrivateKey, algorithm: str) -> RequestParts:
    """Built by hand the way Mastodon's request.rb does, independent of our signer."""
    date = format_http_date(NOW)
    digest = "SHA-256=" + base64.b64encode(__import__("hashlib").sha256(BODY).digest()).decode()
    content_type = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    signed = (
        "(request-target): post /users/bob/inbox\n"
        "host: local.example\n"
        f"date: {date}\n"
        f"digest: {digest}\n"
        f"content-type: {content_type}"
    )
    signature = base64.b64encode(key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256()))
    header = (
        f'keyId="{KEY_ID}",algorithm="{algorithm}",'
        f'headers="(request-target) host date digest content-type",signature="{signature.decode()}"'
    )
    headers = Headers(
        [
            ("Host", "local.example"),
            ("Date", date),
            ("Digest", digest),
            ("Content-Type", content_type),
            ("Signature", header),
        ]
    )
    return RequestParts("POST", "/users/bob/inbox", "local.example", headers, BODY)


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "hs2019"])
def test_mastodon_shaped_request_verifies(rsa_key: rsa.RSAPrivateKey, algorithm: str) -> None:
    result = verify(mastodon_request(rsa_key, algorithm), rsa_key.public_key())
    assert result.scheme == f"cavage-{algorithm}"


def test_authorization_signature_form_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed_post(rsa_key)
    value = request.headers.get("signature")
    moved = replace_header(
        replace_header(request, "Signature", None), "Authorization", f"Signature {value}"
    )
    assert verify(moved, rsa_key.public_key()).key_id == KEY_ID


def test_any_header_order_and_extra_headers_are_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    base = signed_post(rsa_key)
    covered = "date digest host (request-target) content-type user-agent"
    headers = [*base.headers, ("User-Agent", "test/1.0")]
    lines = []
    for name in covered.split():
        value = {"(request-target)": "post /users/bob/inbox", "host": "local.example"}.get(name)
        lines.append(f"{name}: {value if value else Headers(headers).get(name)}")
    sig = base64.b64encode(
        rsa_key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    )
    header = f'keyId="{KEY_ID}",headers="{covered}",signature="{sig.decode()}"'
    request = replace_header(
        RequestParts("POST", base.target, base.host, Headers(headers), base.body),
        "Signature",
        header,
    )
    assert verify(request, rsa_key.public_key()).scheme == "cavage-hs2019"


# --- refusals -------------------------------------------------------------------------


def test_unsigned_request_is_missing() -> None:
    with pytest.raises(SignatureMissing):
        httpsig.parse_signature_header({"Authorization": "Bearer x"})


def test_wrong_key_is_invalid(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(SignatureInvalid, match="does not verify with the rsa key"):
        verify(signed_post(rsa_key), other_rsa_key.public_key())


def test_body_changed_after_signing_with_digest_recomputed(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed_post(rsa_key)
    tampered = RequestParts(
        request.method, request.target, request.host, request.headers, BODY + b" "
    )
    with pytest.raises(DigestMismatch, match="does not match"):
        verify(tampered, rsa_key.public_key())
    # An attacker who also fixes the Digest header breaks the signature instead.
    fixed = replace_header(tampered, "Digest", digest_header(tampered.body))
    with pytest.raises(SignatureInvalid):
        verify(fixed, rsa_key.public_key())


def test_other_target_or_host_breaks_the_signature(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed_post(rsa_key)
    for changed in (
        RequestParts("POST", "/inbox", request.host, request.headers, request.body),
        RequestParts("POST", request.target, "evil.example", request.headers, request.body),
    ):
        with pytest.raises(SignatureInvalid):
            verify(changed, rsa_key.public_key())


@pytest.mark.parametrize(
    ("offset", "why"),
    [(timedelta(hours=1, minutes=1), "in the future"), (-timedelta(hours=12, minutes=1), "old")],
)
def test_date_outside_the_window_is_refused(
    rsa_key: rsa.RSAPrivateKey, offset: timedelta, why: str
) -> None:
    with pytest.raises(SignatureTimeError, match=why):
        verify(signed_post(rsa_key, when=NOW + offset), rsa_key.public_key())


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=59), -timedelta(hours=11, minutes=59), timedelta(0)]
)
def test_date_inside_the_window_is_accepted(rsa_key: rsa.RSAPrivateKey, offset: timedelta) -> None:
    verify(signed_post(rsa_key, when=NOW + offset), rsa_key.public_key())


def _resign(
    key: rsa.RSAPrivateKey, request: RequestParts, covered: str, extra: str = ""
) -> RequestParts:
    params = httpsig.CavageParams(KEY_ID, None, tuple(covered.split()), b"")
    text = httpsig.signing_string(params, request)
    sig = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    header = f'keyId="{KEY_ID}",headers="{covered}",signature="{sig}"{extra}'
    return replace_header(request, "Signature", header)


@pytest.mark.parametrize(
    ("covered", "why"),
    [
        ("host date digest", "(request-target)"),
        ("(request-target) date digest", "host"),
        ("(request-target) host digest", "neither date nor"),
        ("(request-target) host date", "digest"),
    ],
)
def test_header_list_missing_a_required_header(
    rsa_key: rsa.RSAPrivateKey, covered: str, why: str
) -> None:
    request = _resign(rsa_key, signed_post(rsa_key), covered)
    with pytest.raises(SignatureCoverage, match=why):
        verify(request, rsa_key.public_key())


def test_created_parameter_may_replace_date(rsa_key: rsa.RSAPrivateKey) -> None:
    stamp = int(NOW.timestamp())
    base = signed_post(rsa_key)
    params = httpsig.CavageParams(
        KEY_ID, "hs2019", ("(request-target)", "(created)", "host", "digest"), b"", stamp
    )
    text = httpsig.signing_string(params, base)
    assert f"(created): {stamp}" in text
    sig = base64.b64encode(
        rsa_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    header = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={stamp},'
        f'headers="(request-target) (created) host digest",signature="{sig}"'
    )
    request = replace_header(replace_header(base, "Signature", header), "Date", None)
    assert verify(request, rsa_key.public_key()).signed_at == NOW
    with pytest.raises(SignatureTimeError):
        verify(request, rsa_key.public_key(), now=NOW + timedelta(hours=13))


def test_expired_signature_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    stamp = int((NOW - timedelta(minutes=5)).timestamp())
    request = _resign(
        rsa_key, signed_post(rsa_key), "(request-target) host date digest", f",expires={stamp}"
    )
    with pytest.raises(SignatureTimeError, match="expired"):
        verify(request, rsa_key.public_key())


@pytest.mark.parametrize("claim", ["hmac-sha256", "rsa-sha512", "ecdsa-sha256", "made-up"])
def test_unknown_algorithm_claims_are_not_trusted(rsa_key: rsa.RSAPrivateKey, claim: str) -> None:
    request = _resign(
        rsa_key, signed_post(rsa_key), "(request-target) host date digest", f',algorithm="{claim}"'
    )
    with pytest.raises(SignatureInvalid, match="not accepted"):
        verify(request, rsa_key.public_key())


def test_algorithm_claim_must_fit_the_key(
    ed_key: ed25519.Ed25519PrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    request = signed_post(ed_key)
    header = (request.headers.get("signature") or "").replace("hs2019", "rsa-sha256")
    with pytest.raises(SignatureInvalid, match="but the key is ed25519"):
        verify(replace_header(request, "Signature", header), ed_key.public_key())


def test_rsa_sha256_claim_cannot_be_verified_as_pss(rsa_key: rsa.RSAPrivateKey) -> None:
    base = signed_post(rsa_key)
    params = httpsig.CavageParams(KEY_ID, None, ("(request-target)", "host", "date", "digest"), b"")
    text = httpsig.signing_string(params, base).encode()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    sig = base64.b64encode(rsa_key.sign(text, pss, hashes.SHA512())).decode()
    covered = "(request-target) host date digest"
    as_hs2019 = replace_header(
        base,
        "Signature",
        f'keyId="{KEY_ID}",algorithm="hs2019",headers="{covered}",signature="{sig}"',
    )
    assert verify(as_hs2019, rsa_key.public_key()).algorithm == "rsa-pss-sha512"
    as_rsa = replace_header(
        base,
        "Signature",
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{covered}",signature="{sig}"',
    )
    with pytest.raises(SignatureInvalid):
        verify(as_rsa, rsa_key.public_key())


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('algorithm="rsa-sha256",signature="AAAA"', "no keyId"),
        ('keyId="k",headers="date"', "no signature"),
        ('keyId="k",signature="not base64!"', "not base64"),
        ('keyId="k",keyId="j",signature="AAAA"', "repeats"),
        ('keyId="k" signature="AAAA"', "expected ','"),
        ('keyId="k",signature="AAAA",created=soon', "not an integer"),
        ('keyId="k",headers="",signature="AAAA"', "empty headers"),
        ("=broken", "malformed"),
    ],
)
def test_malformed_signature_headers(value: str, why: str) -> None:
    with pytest.raises(SignatureMalformed, match=why):
        httpsig.parse_signature_params(value)


def test_parse_handles_escapes_and_commas_in_quotes() -> None:
    params = httpsig.parse_signature_params(
        r'keyId="a,b\"c", signature="AAAA" ,headers="Date HOST"'
    )
    assert params.key_id == 'a,b"c'
    assert params.headers == ("date", "host")


def test_covered_header_absent_from_request(rsa_key: rsa.RSAPrivateKey) -> None:
    request = replace_header(signed_post(rsa_key), "Content-Type", None)
    with pytest.raises(SignatureMalformed, match="content-type"):
        verify(request, rsa_key.public_key())


def test_unparsable_date_is_malformed(rsa_key: rsa.RSAPrivateKey) -> None:
    request = replace_header(signed_post(rsa_key), "Date", "yesterday")
    with pytest.raises(SignatureMalformed, match="not an HTTP-date"):
        verify(request, rsa_key.public_key())


def test_sign_request_refuses_unquotable_key_id(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="cannot be quoted"):
        httpsig.sign_request("GET", INBOX, {}, None, 'a"b', rsa_key, NOW)
