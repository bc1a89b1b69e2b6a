"""Key pairs for actors: generation, PEM loading and saving, and key value types.

An actor's key is RSA-2048 (what every Fediverse server can verify); Ed25519 keys are
made for object integrity proofs (FEP-521a). Which signature algorithm a key uses is
always derived from the key's type (see `federation.algorithms`), never from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation.errors import KeyFormatError

__all__ = [
    "KeyPair",
    "PrivateKeyType",
    "PublicKey",
    "PublicKeyType",
    "RemoteKey",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "key_kind",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
]

PrivateKeyType = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKeyType = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

# Smaller RSA keys are refused: 2048 bits is the floor every current server meets.
MIN_RSA_BITS = 2048
_CURVES = {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}


@dataclass(frozen=True)
class KeyPair:
    """A freshly generated key pair, both halves PEM-encoded (PKCS#8 and SPKI)."""

    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class PublicKey:
    """A public key with its id and the actor that owns it."""

    key_id: str
    owner: str
    key: PublicKeyType

    @classmethod
    def from_pem(cls, key_id: str, owner: str, pem: str | bytes) -> PublicKey:
        """Build from a `publicKeyPem` value; raise KeyFormatError if it is unusable."""
        return cls(key_id=key_id, owner=owner, key=load_public_key(pem))

    @property
    def kind(self) -> str:
        """ "rsa", "ed25519", "ecdsa-p256" or "ecdsa-p384"."""
        return key_kind(self.key)

    @property
    def pem(self) -> str:
        """The key as an SPKI PEM string."""
        return public_key_pem(self.key)

    def as_activitystreams(self) -> dict[str, Any]:
        """The `publicKey` object an actor document publishes."""
        return {"id": self.key_id, "owner": self.owner, "publicKeyPem": self.pem}


@dataclass(frozen=True)
class RemoteKey(PublicKey):
    """A public key learned from another server's actor or key document."""

    fetched_at: datetime | None = None


def generate_rsa_keypair(bits: int = 2048) -> KeyPair:
    """A new RSA key pair (public exponent 65537) as PEMs."""
    if bits < MIN_RSA_BITS:
        raise KeyFormatError(f"RSA keys must have at least {MIN_RSA_BITS} bits, not {bits}")
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return KeyPair(private_key_pem(private), public_key_pem(private.public_key()))


def generate_ed25519_keypair() -> KeyPair:
    """A new Ed25519 key pair as PEMs."""
    private = ed25519.Ed25519PrivateKey.generate()
    return KeyPair(private_key_pem(private), public_key_pem(private.public_key()))


def load_private_key(pem: str | bytes) -> PrivateKeyType:
    """Load an unencrypted PKCS#8 (or PKCS#1 RSA) private key PEM."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a usable private key PEM: {exc}") from exc
    if not isinstance(
        key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    ):
        raise KeyFormatError(f"private keys of type {type(key).__name__} are not supported")
    key_kind(key)
    return key


def load_public_key(pem: str | bytes) -> PublicKeyType:
    """Load an SPKI ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY") PEM."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a usable public key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise KeyFormatError(f"public keys of type {type(key).__name__} are not supported")
    key_kind(key)
    return key


def private_key_pem(key: PrivateKeyType) -> str:
    """A private key as an unencrypted PKCS#8 PEM string."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: PublicKeyType) -> str:
    """A public key as an SPKI PEM string."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_kind(key: PublicKeyType | PrivateKeyType) -> str:
    """The family a key belongs to: "rsa", "ed25519", "ecdsa-p256" or "ecdsa-p384".

    Raises KeyFormatError for RSA keys under 2048 bits and for other curves.
    """
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyFormatError(f"RSA key of {key.key_size} bits is too small")
        return "rsa"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    kind = _CURVES.get(key.curve.name)
    if kind is None:
        raise KeyFormatError(f"elliptic curve {key.curve.name} is not supported")
    return kind
