"""Integrity proofs: the W3C eddsa-jcs-2022 test vector, and every way a proof fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.multikey import b58decode, decode_ed25519_multikey
from federation.proofs import ProofError, add_proof, verify_proof

# The W3C Data Integrity EdDSA Cryptosuites test vector for eddsa-jcs-2022.
SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/examples/v2",
    ],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
METHOD = f"did:key:{PUBLIC}#{PUBLIC}"
EXPECTED = (
    "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
)


def spec_key() -> ed25519.Ed25519PrivateKey:
    raw = b58decode(SECRET[1:])
    assert raw[:2] == b"\x80\x26"  # multicodec ed25519-priv
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw[2:])


def test_the_w3c_test_vector() -> None:
    created = datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)
    signed = add_proof(CREDENTIAL, spec_key(), METHOD, created)
    assert signed["proof"]["proofValue"] == EXPECTED
    assert signed["proof"]["created"] == "2023-02-24T23:36:38Z"
    verified = verify_proof(signed, decode_ed25519_multikey(PUBLIC))
    assert verified.verification_method == METHOD


@pytest.fixture
def signed() -> dict[str, Any]:
    key = spec_key()
    document = {
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": "https://a.test/events/1",
        "type": "EconomicEvent",
        "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "10"},
    }
    return add_proof(document, key, "https://a.test/agents/alice#ed25519-key")


def test_a_changed_document_fails(signed: dict[str, Any]) -> None:
    signed["resourceQuantity"]["hasNumericalValue"] = "100"
    with pytest.raises(ProofError, match="does not match"):
        verify_proof(signed, decode_ed25519_multikey(PUBLIC))


def test_another_key_fails(signed: dict[str, Any]) -> None:
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ProofError, match="does not match"):
        verify_proof(signed, other)


def test_key_order_and_spacing_do_not_matter(signed: dict[str, Any]) -> None:
    reordered = dict(reversed(list(signed.items())))
    assert verify_proof(reordered, decode_ed25519_multikey(PUBLIC))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"proofPurpose": "authentication"}, "purpose"),
        ({"type": "Ed25519Signature2020"}, "type"),
        ({"proofValue": "not-multibase"}, "base58btc"),
        ({"proofValue": "z0OIl"}, "base58btc character"),
    ],
)
def test_malformed_proofs_say_why(
    signed: dict[str, Any], change: dict[str, str], message: str
) -> None:
    signed["proof"] = {**signed["proof"], **change}
    with pytest.raises(ProofError, match=message):
        verify_proof(signed, decode_ed25519_multikey(PUBLIC))


def test_no_proof() -> None:
    with pytest.raises(ProofError, match="no eddsa-jcs-2022 proof"):
        verify_proof({"id": "x"}, decode_ed25519_multikey(PUBLIC))
