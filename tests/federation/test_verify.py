"""The inbox's front door: key id, scheme choice, verification, signer and origins."""

from __future__ import annotations

import base64
from typing import Any, Protocol

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation import httpsig, rfc9421
from federation.clock import format_http_date
from federation.digest import digest_header
from federation.errors import (
    OriginError,
    SignatureInvalid,
    SignatureMalformed,
    SignatureMisdirected,
    SignatureMissing,
)
from federation.headers import Headers
from federation.keys import PublicKey
from federation.request import RequestParts, origin_of
from federation.verify import (
    Verified,
    actor_id_of,
    check_actor_matches_signer,
    check_same_origin,
    signature_key_id,
    signature_scheme,
    verify_request,
)

from .conftest import ACTOR, KEY_ID, NOW

INBOX = "https://local.example/users/bob/inbox"
BODY = b'{"id":"https://remote.example/activities/1","type":"Follow"}'


def parts(added: dict[str, str], body: bytes = BODY) -> RequestParts:
    return RequestParts("POST", "/users/bob/inbox", "local.example", Headers(added), body)


class Signer(Protocol):
    """Signs the test request with ``key``, naming ``key_id``: one of the two schemes."""

    def __call__(self, key: rsa.RSAPrivateKey, key_id: str = KEY_ID) -> RequestParts: ...


def cavage(key: rsa.RSAPrivateKey, key_id: str = KEY_ID) -> RequestParts:
    return parts(httpsig.sign_request("POST", INBOX, {}, BODY, key_id, key, NOW))


def rfc(key: rsa.RSAPrivateKey, key_id: str = KEY_ID) -> RequestParts:
    return parts(rfc9421.sign_rfc9421("POST", INBOX, {}, BODY, key_id, key, NOW))


def test_key_id_and_scheme_for_each_signature_form(rsa_key: rsa.RSAPrivateKey) -> None:
    assert signature_key_id(cavage(rsa_key).headers) == KEY_ID
    assert signature_scheme(cavage(rsa_key).headers) == "cavage"
    assert signature_key_id(rfc(rsa_key).headers) == KEY_ID
    assert signature_scheme(rfc(rsa_key).headers) == "rfc9421"
    assert signature_key_id(list(rfc(rsa_key).headers)) == KEY_ID


def test_unsigned_request_is_missing() -> None:
    with pytest.raises(SignatureMissing):
        signature_key_id({"Content-Type": "application/activity+json"})


def test_rfc9421_without_keyid_is_malformed() -> None:
    with pytest.raises(SignatureMalformed, match="no keyid"):
        signature_key_id(
            {"Signature-Input": 'sig1=("@method");created=1', "Signature": "sig1=:AAAA:"}
        )


@pytest.mark.parametrize("sign", [cavage, rfc])
def test_verify_request_reports_provenance(
    sign: Signer, rsa_key: rsa.RSAPrivateKey, alice_key: PublicKey
) -> None:
    verified = verify_request(sign(rsa_key), alice_key, NOW, require_digest=True)
    assert verified.key_id == KEY_ID
    assert verified.actor_id == ACTOR
    assert verified.scheme in ("cavage-rsa-sha256", "rfc9421-rsa-v1_5-sha256")
    assert verified.algorithm == "rsa-v1_5-sha256"
    assert verified.signed_at == NOW


@pytest.mark.parametrize("sign", [cavage, rfc])
def test_key_must_be_the_one_named(
    sign: Signer, rsa_key: rsa.RSAPrivateKey, alice_key: PublicKey
) -> None:
    request = sign(rsa_key, "https://remote.example/users/mallory#main-key")
    with pytest.raises(
        SignatureInvalid, match=r"signed with key https://remote\.example/users/mallory"
    ):
        verify_request(request, alice_key, NOW, require_digest=True)


@pytest.mark.parametrize("sign", [cavage, rfc])
def test_wrong_key_material(
    sign: Signer, other_rsa_key: rsa.RSAPrivateKey, alice_key: PublicKey
) -> None:
    with pytest.raises(SignatureInvalid):
        verify_request(sign(other_rsa_key), alice_key, NOW, require_digest=True)


def verified(actor: str = ACTOR) -> Verified:
    return Verified(f"{actor}#main-key", actor, "cavage-rsa-sha256", "rsa-v1_5-sha256", NOW, ())


@pytest.mark.parametrize(
    "actor", [ACTOR, {"id": ACTOR, "type": "Person"}, [ACTOR]], ids=["string", "object", "list"]
)
def test_actor_matches_signer(actor: object) -> None:
    activity = {"id": "https://remote.example/activities/1", "actor": actor}
    assert check_actor_matches_signer(activity, verified()) == ACTOR


def test_key_of_another_actor_is_refused() -> None:
    activity = {"id": "https://remote.example/activities/1", "actor": ACTOR}
    with pytest.raises(
        OriginError, match=r"is not the signer https://remote\.example/users/mallory"
    ):
        check_actor_matches_signer(activity, verified("https://remote.example/users/mallory"))


def test_activity_id_on_another_origin_is_refused() -> None:
    activity = {"id": "https://local.example/activities/forged", "actor": ACTOR}
    with pytest.raises(OriginError, match="not on the origin"):
        check_actor_matches_signer(activity, verified())


@pytest.mark.parametrize(
    ("activity", "why"),
    [
        ({}, "no actor"),
        ({"actor": [ACTOR, ACTOR]}, "2 actors"),
        ({"actor": {"type": "Person"}}, "no actor"),
        ({"actor": ACTOR, "id": 7}, "not a string"),
    ],
)
def test_actor_shapes_refused(activity: dict[str, object], why: str) -> None:
    with pytest.raises(OriginError, match=why):
        check_actor_matches_signer(activity, verified())


def test_transient_activity_without_id_passes() -> None:
    assert actor_id_of({"actor": ACTOR}) == ACTOR
    assert check_actor_matches_signer({"actor": ACTOR}, verified()) == ACTOR


@pytest.mark.parametrize(
    ("object_id", "ok"),
    [
        ("https://remote.example/notes/1", True),
        ("https://REMOTE.example:443/notes/1", True),
        ("http://remote.example/notes/1", False),
        ("https://remote.example:8443/notes/1", False),
        ("https://sub.remote.example/notes/1", False),
        ("https://remote.example.evil/notes/1", False),
        ("urn:uuid:1234", False),
        ("/notes/1", False),
    ],
)
def test_check_same_origin(object_id: str, ok: bool) -> None:
    if ok:
        check_same_origin(object_id, ACTOR)
    else:
        with pytest.raises(OriginError):
            check_same_origin(object_id, ACTOR)


def test_origin_of_normalizes_default_ports() -> None:
    assert origin_of("https://A.example/x") == ("https", "a.example", 443)
    assert origin_of("http://a.example:8080/") == ("http", "a.example", 8080)


@pytest.mark.parametrize(
    "signer", [httpsig.sign_request, rfc9421.sign_rfc9421], ids=["cavage", "rfc9421"]
)
def test_a_request_signed_for_another_server_is_misdirected_here(
    signer: Any, rsa_key: rsa.RSAPrivateKey, alice_key: PublicKey
) -> None:
    """Signed for other.example and replayed to local.example with other.example's Host
    (what the Host header says does not matter: we check against our own host)."""
    added = signer("POST", "https://other.example/users/bob/inbox", {}, BODY, KEY_ID, rsa_key, NOW)
    added.setdefault("Host", "other.example")
    replayed = parts(added)
    assert replayed.headers.get("host") == "other.example"
    with pytest.raises(SignatureMisdirected, match=r"signed for the host other\.example"):
        verify_request(replayed, alice_key, NOW, require_digest=True)
    # With our Host header instead, it is simply a signature that does not verify here.
    rehosted = RequestParts(
        "POST",
        "/users/bob/inbox",
        "local.example",
        Headers([(k, "local.example" if k.lower() == "host" else v) for k, v in added.items()]),
        BODY,
    )
    with pytest.raises(SignatureInvalid):
        verify_request(rehosted, alice_key, NOW, require_digest=True)


def test_our_authority_spelled_otherwise_or_rewritten_by_a_proxy_verifies(
    rsa_key: rsa.RSAPrivateKey, alice_key: PublicKey
) -> None:
    # Signed over the Host the sender wrote (upper case, explicit default port).
    date = format_http_date(NOW)
    sent = {"Host": "LOCAL.Example:443", "Date": date, "Digest": digest_header(BODY)}
    covered = ("(request-target)", "host", "date", "digest")
    params = httpsig.CavageParams(KEY_ID, "rsa-sha256", covered, b"")
    as_sent = RequestParts("POST", "/users/bob/inbox", "LOCAL.Example:443", Headers(sent), BODY)
    text = httpsig.signing_string(params, as_sent)
    signature = rsa_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    sent["Signature"] = (
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    assert verify_request(parts(sent), alice_key, NOW, require_digest=True).actor_id == ACTOR
    # Signed for local.example, passed on by a proxy that rewrote Host to its upstream.
    rewritten = {**httpsig.sign_request("POST", INBOX, {}, BODY, KEY_ID, rsa_key, NOW)}
    rewritten["Host"] = "127.0.0.1:8000"
    assert verify_request(parts(rewritten), alice_key, NOW, require_digest=True).key_id == KEY_ID
