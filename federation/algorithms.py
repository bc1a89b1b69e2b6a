"""Signature algorithms, as a table keyed by name, each bound to one kind of key.

The verifier asks `algorithms_for(key)` which algorithms a key may use; a request can at
most choose among those (RSA keys sign with PKCS#1 v1.5 or PSS), never leave them. Names
are those of the RFC 9421 registry; draft-cavage's "rsa-sha256" is "rsa-v1_5-sha256".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from federation.errors import KeyFormatError
from federation.keys import PrivateKeyType, PublicKeyType, key_kind

__all__ = ["ALGORITHMS", "Algorithm", "algorithms_for"]


@dataclass(frozen=True)
class Algorithm:
    """One signature algorithm: which key kind it needs, and how to sign and verify."""

    name: str
    key_kind: str
    _sign: Callable[[PrivateKeyType, bytes], bytes]
    _verify: Callable[[PublicKeyType, bytes, bytes], None]

    def sign(self, key: PrivateKeyType, data: bytes) -> bytes:
        """Sign `data`; raise KeyFormatError if the key is of another kind."""
        self._check_kind(key)
        return self._sign(key, data)

    def verify(self, key: PublicKeyType, data: bytes, signature: bytes) -> bool:
        """True when `signature` over `data` verifies with `key`."""
        self._check_kind(key)
        try:
            self._verify(key, data, signature)
        except (InvalidSignature, ValueError):
            return False
        return True

    def _check_kind(self, key: PublicKeyType | PrivateKeyType) -> None:
        kind = key_kind(key)
        if kind != self.key_kind:
            raise KeyFormatError(f"algorithm {self.name} needs a {self.key_kind} key, not {kind}")


def _rsa_private(key: PrivateKeyType) -> rsa.RSAPrivateKey:
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _rsa_public(key: PublicKeyType) -> rsa.RSAPublicKey:
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _pss() -> padding.PSS:
    # RFC 9421 §3.3.1: MGF1 with SHA-512 and a 64-byte salt.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


def _ed_private(key: PrivateKeyType) -> ed25519.Ed25519PrivateKey:
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


def _ed_public(key: PublicKeyType) -> ed25519.Ed25519PublicKey:
    assert isinstance(key, ed25519.Ed25519PublicKey)
    return key


def _ecdsa(
    hash_algorithm: type[hashes.SHA256] | type[hashes.SHA384], size: int
) -> tuple[Callable[[PrivateKeyType, bytes], bytes], Callable[[PublicKeyType, bytes, bytes], None]]:
    # RFC 9421 carries ECDSA signatures as the fixed-size concatenation r || s, not DER.
    def sign(key: PrivateKeyType, data: bytes) -> bytes:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_algorithm())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(key: PublicKeyType, data: bytes, signature: bytes) -> None:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        if len(signature) != 2 * size:
            raise InvalidSignature
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_algorithm()))

    return sign, verify


_P256 = _ecdsa(hashes.SHA256, 32)
_P384 = _ecdsa(hashes.SHA384, 48)

ALGORITHMS: dict[str, Algorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm(
            "rsa-v1_5-sha256",
            "rsa",
            lambda k, d: _rsa_private(k).sign(d, padding.PKCS1v15(), hashes.SHA256()),
            lambda k, d, s: _rsa_public(k).verify(s, d, padding.PKCS1v15(), hashes.SHA256()),
        ),
        Algorithm(
            "rsa-pss-sha512",
            "rsa",
            lambda k, d: _rsa_private(k).sign(d, _pss(), hashes.SHA512()),
            lambda k, d, s: _rsa_public(k).verify(s, d, _pss(), hashes.SHA512()),
        ),
        Algorithm(
            "ed25519",
            "ed25519",
            lambda k, d: _ed_private(k).sign(d),
            lambda k, d, s: _ed_public(k).verify(s, d),
        ),
        Algorithm("ecdsa-p256-sha256", "ecdsa-p256", *_P256),
        Algorithm("ecdsa-p384-sha384", "ecdsa-p384", *_P384),
    )
}


def algorithms_for(key: PublicKeyType | PrivateKeyType) -> tuple[Algorithm, ...]:
    """The algorithms this key may use, the usual one first."""
    kind = key_kind(key)
    return tuple(algorithm for algorithm in ALGORITHMS.values() if algorithm.key_kind == kind)
