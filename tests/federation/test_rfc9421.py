"""RFC 9421 message signatures: the RFC's own test vectors, round trips, refusals."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation import rfc9421
from federation.algorithms import ALGORITHMS
from federation.digest import content_digest_header
from federation.errors import (
    DigestMismatch,
    SignatureCoverage,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMissing,
    SignatureTimeError,
)
from federation.headers import Headers
from federation.keys import PrivateKeyType, PublicKeyType, load_private_key, load_public_key
from federation.request import RequestParts

from .conftest import KEY_ID, NOW

# --- RFC 9421 Appendix B test material ---------------------------------------------------

ED25519_PRIVATE = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
ED25519_PUBLIC = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
RSA_PSS_PUBLIC = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
"""
VECTOR_TIME = datetime.fromtimestamp(1618884473, UTC)
VECTOR_BODY = b'{"hello": "world"}'
VECTOR_HEADERS = [
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    (
        "Content-Digest",
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    ),
    ("Content-Length", "18"),
]
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv"
    "5lIp5WPpBKRCw==:"
)
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B21_INPUT = 'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"'
B21_SIGNATURE = (
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it"
    "++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR"
    "72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb"
    "/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"
)


def vector_request(*extra: tuple[str, str]) -> RequestParts:
    return RequestParts(
        "POST",
        "/foo?param=Value&Pet=dog",
        "example.com",
        Headers([*VECTOR_HEADERS, *extra]),
        VECTOR_BODY,
    )


def test_b26_signature_base_is_byte_exact() -> None:
    request = vector_request(("Signature-Input", B26_INPUT), ("Signature", B26_SIGNATURE))
    params = rfc9421.select_signature(request.headers)
    assert params.label == "sig-b26"
    assert rfc9421.signature_base(params, request) == B26_BASE.encode()
    assert ALGORITHMS["ed25519"].verify(
        load_public_key(ED25519_PUBLIC), B26_BASE.encode(), params.signature
    )


def test_b26_signer_reproduces_the_rfc_headers() -> None:
    added = rfc9421.sign_rfc9421(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        VECTOR_HEADERS,
        VECTOR_BODY,
        "test-key-ed25519",
        load_private_key(ED25519_PRIVATE),
        VECTOR_TIME,
        components=("date", "@method", "@path", "@authority", "content-type", "content-length"),
        label="sig-b26",
        include_alg=False,
    )
    assert f"Signature-Input: {added['Signature-Input']}" == f"Signature-Input: {B26_INPUT}"
    assert added["Signature"] == B26_SIGNATURE
    assert "Content-Digest" not in added


def test_b26_is_refused_by_our_inbox_policy() -> None:
    # It leaves the query and the body digest unsigned: fine for the RFC, not for an inbox.
    request = vector_request(("Signature-Input", B26_INPUT), ("Signature", B26_SIGNATURE))
    params = rfc9421.select_signature(request.headers)
    with pytest.raises(SignatureCoverage, match="@query"):
        rfc9421.verify(
            params, request, load_public_key(ED25519_PUBLIC), VECTOR_TIME, require_digest=False
        )


def test_b21_rsa_pss_minimal_signature_verifies() -> None:
    request = vector_request(("Signature-Input", B21_INPUT), ("Signature", B21_SIGNATURE))
    params = rfc9421.select_signature(request.headers)
    base = rfc9421.signature_base(params, request)
    assert (
        base == b'"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";'
        b'nonce="b3k2pp5k7z-50gnwp.yemd"'
    )
    key = load_public_key(RSA_PSS_PUBLIC)
    assert ALGORITHMS["rsa-pss-sha512"].verify(key, base, params.signature)
    assert not ALGORITHMS["rsa-v1_5-sha256"].verify(key, base, params.signature)
    with pytest.raises(SignatureCoverage, match="@method"):
        rfc9421.verify(params, request, key, VECTOR_TIME, require_digest=False)


# --- round trips -------------------------------------------------------------------------

INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"type":"Follow"}'


class SignOptions(TypedDict, total=False):
    """The keyword arguments of :func:`rfc9421.sign_rfc9421` the tests vary."""

    components: Sequence[str] | None
    label: str
    algorithm: str | None
    include_alg: bool
    expires_in: timedelta | None


def signed(
    key: PrivateKeyType,
    body: bytes | None = BODY,
    method: str = "POST",
    url: str = INBOX,
    now: datetime = NOW,
    **kw: Unpack[SignOptions],
) -> RequestParts:
    added = rfc9421.sign_rfc9421(
        method, url, {"Content-Type": "application/activity+json"}, body, KEY_ID, key, now, **kw
    )
    target = url.split("local.example", 1)[1]
    headers = Headers([("Content-Type", "application/activity+json"), *added.items()])
    return RequestParts(method, target, "local.example", headers, body or b"")


def verify(
    request: RequestParts,
    key: PublicKeyType,
    *,
    now: datetime = NOW,
    require_digest: bool = True,
) -> rfc9421.Rfc9421Result:
    params = rfc9421.select_signature(request.headers)
    return rfc9421.verify(params, request, key, now, require_digest=require_digest)


@pytest.mark.parametrize("kind", ["rsa", "ed", "p256", "p384", "rsa-pss"])
def test_round_trip_each_key_type(
    kind: str,
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    p256_key: ec.EllipticCurvePrivateKey,
) -> None:
    cases: dict[str, tuple[PrivateKeyType, str | None]] = {
        "rsa": (rsa_key, None),
        "rsa-pss": (rsa_key, "rsa-pss-sha512"),
        "ed": (ed_key, None),
        "p256": (p256_key, None),
        "p384": (ec.generate_private_key(ec.SECP384R1()), None),
    }
    private, alg = cases[kind]
    request = signed(private, algorithm=alg)
    result = verify(request, private.public_key())
    assert result.key_id == KEY_ID
    assert result.scheme == f"rfc9421-{result.algorithm}"
    assert result.signed_at == NOW


def test_mastodon_shaped_rfc9421_request(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed(rsa_key)
    assert request.headers.get("signature-input") == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW.timestamp())};'
        f'keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert request.headers.get("content-digest") == content_digest_header(BODY)
    assert verify(request, rsa_key.public_key()).algorithm == "rsa-v1_5-sha256"


def test_rsa_without_alg_tries_pss_too(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed(rsa_key, algorithm="rsa-pss-sha512", include_alg=False)
    assert verify(request, rsa_key.public_key()).algorithm == "rsa-pss-sha512"


def test_get_with_query_and_expires(rsa_key: rsa.RSAPrivateKey) -> None:
    request = signed(
        rsa_key,
        body=None,
        method="GET",
        url="https://local.example/o?page=2",
        expires_in=timedelta(minutes=5),
    )
    assert verify(request, rsa_key.public_key(), require_digest=False).covered == (
        "@method",
        "@target-uri",
    )
    with pytest.raises(SignatureTimeError, match="expired"):
        verify(request, rsa_key.public_key(), now=NOW + timedelta(minutes=6), require_digest=False)


def test_path_authority_and_query_components(rsa_key: rsa.RSAPrivateKey) -> None:
    components = ("@method", "@path", "@query", "@authority", "@scheme", "@request-target", "date")
    headers = [("Date", "Sat, 01 Mar 2025 12:00:00 GMT")]
    added = rfc9421.sign_rfc9421(
        "GET",
        "https://local.example/o?page=2",
        headers,
        None,
        KEY_ID,
        rsa_key,
        NOW,
        components=components,
    )
    request = RequestParts("GET", "/o?page=2", "local.example", Headers([*headers, *added.items()]))
    params = rfc9421.select_signature(request.headers)
    base = rfc9421.signature_base(params, request).decode()
    assert '"@query": ?page=2' in base
    assert '"@authority": local.example' in base
    assert '"@request-target": /o?page=2' in base
    assert verify(request, rsa_key.public_key(), require_digest=False).signed_at == NOW


# --- refusals ----------------------------------------------------------------------------


def test_unsigned_is_missing() -> None:
    with pytest.raises(SignatureMissing):
        rfc9421.select_signature({"Signature": "sig1=:AAAA:"})


def test_wrong_key_and_changed_body(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    request = signed(rsa_key)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify(request, other_rsa_key.public_key())
    changed = RequestParts(
        request.method, request.target, request.host, request.headers, BODY + b"!"
    )
    with pytest.raises(DigestMismatch):
        verify(changed, rsa_key.public_key())


@pytest.mark.parametrize("alg", ["hmac-sha256", "ed25519", "rsa-sha256", "none"])
def test_alg_parameter_cannot_leave_the_key_type(rsa_key: rsa.RSAPrivateKey, alg: str) -> None:
    request = signed(rsa_key)
    value = (request.headers.get("signature-input") or "").replace("rsa-v1_5-sha256", alg)
    pairs = [(n, value if n == "Signature-Input" else v) for n, v in request.headers]
    with pytest.raises(SignatureInvalid, match="not trusted"):
        verify(
            RequestParts(
                request.method, request.target, request.host, Headers(pairs), request.body
            ),
            rsa_key.public_key(),
        )


@pytest.mark.parametrize(
    ("components", "why"),
    [
        (("@target-uri", "content-digest"), "@method"),
        (("@method", "@authority", "content-digest"), "target"),
        (("@method", "@path", "content-digest"), "authority"),
        (("@method", "@target-uri"), "content-digest"),
    ],
)
def test_required_components(
    rsa_key: rsa.RSAPrivateKey, components: tuple[str, ...], why: str
) -> None:
    request = signed(rsa_key, components=components)
    if "content-digest" not in components:
        request = RequestParts(
            request.method,
            request.target,
            request.host,
            Headers([*request.headers, ("Content-Digest", content_digest_header(BODY))]),
            request.body,
        )
    with pytest.raises(SignatureCoverage, match=why):
        verify(request, rsa_key.public_key())


@pytest.mark.parametrize(
    ("offset", "why"), [(timedelta(hours=2), "future"), (-timedelta(hours=13), "old")]
)
def test_created_outside_the_window(
    rsa_key: rsa.RSAPrivateKey, offset: timedelta, why: str
) -> None:
    with pytest.raises(SignatureTimeError, match=why):
        verify(signed(rsa_key, now=NOW + offset), rsa_key.public_key())


@pytest.mark.parametrize(
    ("signature_input", "why"),
    [
        ('sig1=("@method";req);created=1;keyid="k"', "component parameters"),
        ('sig1=("@query-param";name="x");created=1;keyid="k"', "parameters|not supported"),
        ('sig1=("@status");created=1;keyid="k"', "not supported"),
        ('sig1=("Date");created=1;keyid="k"', "not lower case"),
        ('sig1=("date" "date");created=1;keyid="k"', "twice"),
        ('sig1=(date);created=1;keyid="k"', "not a string"),
        ('sig1=("date");created="1";keyid="k"', "not an integer"),
        ('sig1=("date");created=1;keyid=1', "not a string"),
        ('sig1="date"', "not an inner list"),
        ("sig1=(", "not a structured dictionary"),
        ('other=("date")', "no Signature-Input label"),
    ],
)
def test_malformed_signature_input(signature_input: str, why: str) -> None:
    with pytest.raises(SignatureMalformed, match=why):
        rfc9421.select_signature({"Signature-Input": signature_input, "Signature": "sig1=:AAAA:"})


def test_signature_value_must_be_bytes() -> None:
    with pytest.raises(SignatureMalformed, match="byte sequence"):
        rfc9421.select_signature({"Signature-Input": 'sig1=("date")', "Signature": 'sig1="AAAA"'})


def test_signature_input_without_signature() -> None:
    with pytest.raises(SignatureMalformed, match="without a Signature"):
        rfc9421.select_signature({"Signature-Input": 'sig1=("date")'})


def test_missing_keyid_is_malformed(ed_key: ed25519.Ed25519PrivateKey) -> None:
    params = rfc9421.select_signature(
        {"Signature-Input": 'sig1=("@method");created=1', "Signature": "sig1=:AAAA:"}
    )
    request = RequestParts("GET", "/", "local.example", Headers())
    with pytest.raises(SignatureMalformed, match="no keyid"):
        rfc9421.verify(params, request, ed_key.public_key(), NOW, require_digest=False)


def test_first_label_with_a_signature_is_selected(ed_key: ed25519.Ed25519PrivateKey) -> None:
    first = signed(ed_key, label="a")
    sig = base64.b64encode(b"x").decode()
    headers = Headers(
        [
            (
                "Signature-Input",
                f'zzz=("@method");created=1;keyid="other", {first.headers.get("signature-input")}',
            ),
            ("Signature", f"{first.headers.get('signature')}, nomatch=:{sig}:"),
        ]
    )
    assert rfc9421.select_signature(headers).label == "a"
