"""Object integrity proofs (FEP-8b32), cryptosuite ``eddsa-jcs-2022``. Pure: no I/O.

A proof makes a document verifiable on its own, away from the HTTP request that
carried it: years later, anyone with the signer's public key (published as a FEP-521a
Multikey in the actor's ``assertionMethod``) can check that the document is exactly
what its author signed.

The algorithm (W3C Data Integrity EdDSA Cryptosuites, eddsa-jcs-2022):

1. the proof configuration is the proof without ``proofValue``, carrying the
   document's ``@context`` when it has one; the document is taken without ``proof``;
2. both are canonicalized with JCS (RFC 8785) and hashed with SHA-256;
3. the Ed25519 signature over ``hash(proof config) || hash(document)`` is the
   ``proofValue``, as multibase base58btc.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.errors import FederationError, KeyFormatError
from federation.multikey import b58decode, b58encode

__all__ = ["CRYPTOSUITE", "ProofError", "VerifiedProof", "add_proof", "proof_of", "verify_proof"]

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"


class ProofError(FederationError):
    """A document's integrity proof is missing, malformed or does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """Who signed a document (the verification method, i.e. the key id) and when."""

    verification_method: str
    created: str | None


def _canonical(value: Any) -> bytes:
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ProofError(f"the document cannot be canonicalized (JCS): {exc}") from None


def _hash_data(document: Mapping[str, Any], config: Mapping[str, Any]) -> bytes:
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in config.items() if key != "proofValue"}
    if "@context" in document:
        options["@context"] = document["@context"]
    return (
        hashlib.sha256(_canonical(options)).digest()
        + hashlib.sha256(_canonical(unsecured)).digest()
    )


def add_proof(
    document: Mapping[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """``document`` with an ``assertionMethod`` proof by ``verification_method``."""
    moment = (created or datetime.now(UTC)).astimezone(UTC)
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
        "created": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    signature = private_key.sign(_hash_data(document, config))
    return {**document, "proof": {**config, "proofValue": "z" + b58encode(signature)}}


def proof_of(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The document's eddsa-jcs-2022 proof, if it carries one."""
    proofs = document.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, Mapping) and proof.get("cryptosuite") == CRYPTOSUITE:
            return proof
    return None


def verify_proof(document: Mapping[str, Any], public_key: object) -> VerifiedProof:
    """Check ``document``'s eddsa-jcs-2022 proof with ``public_key``.

    The caller found ``public_key`` from the proof's ``verificationMethod`` (and checked
    that the key belongs to whoever the document says is its author). Raises
    :class:`ProofError` saying what is wrong.
    """
    proof = proof_of(document)
    if proof is None:
        raise ProofError(f"no {CRYPTOSUITE} proof on the document")
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ProofError(
            f"{proof.get('verificationMethod')} is not an Ed25519 key: it cannot make "
            f"{CRYPTOSUITE} proofs"
        )
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type {proof.get('type')!r} is not {PROOF_TYPE}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError(f"proof purpose {proof.get('proofPurpose')!r} is not assertionMethod")
    method, value = proof.get("verificationMethod"), proof.get("proofValue")
    if not isinstance(method, str) or not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("the proof needs a verificationMethod and a base58btc proofValue")
    try:
        signature = b58decode(value[1:])
    except KeyFormatError as exc:
        raise ProofError(f"proofValue: {exc}") from None
    config = dict(proof)
    # Only the one proof being checked is signed over, not its siblings.
    without = {key: val for key, val in document.items() if key != "proof"}
    try:
        public_key.verify(signature, _hash_data(without, config))
    except InvalidSignature:
        raise ProofError(
            f"the proof by {method} does not match the document: it was changed, or signed "
            "with another key"
        ) from None
    created = proof.get("created")
    return VerifiedProof(method, created if isinstance(created, str) else None)
