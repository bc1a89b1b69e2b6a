"""Ed25519 public keys as Multikey strings (FEP-521a `publicKeyMultibase`).

The string is multibase base58btc ("z" prefix) of the multicodec `ed25519-pub` varint
(0xed 0x01) followed by the 32 raw key bytes, e.g. "z6Mk…".
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.errors import KeyFormatError

__all__ = ["b58decode", "b58encode", "decode_ed25519_multikey", "encode_ed25519_multikey"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
_ED25519_PUB = b"\xed\x01"


def encode_ed25519_multikey(key: ed25519.Ed25519PublicKey) -> str:
    """The `publicKeyMultibase` value of an Ed25519 public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(_ED25519_PUB + raw)


def decode_ed25519_multikey(value: str) -> ed25519.Ed25519PublicKey:
    """Parse a `publicKeyMultibase` value; raise KeyFormatError saying what is wrong."""
    if not value.startswith("z"):
        raise KeyFormatError(f"multibase {value[:8]!r}… is not base58btc (must start with 'z')")
    data = b58decode(value[1:])
    if not data.startswith(_ED25519_PUB):
        raise KeyFormatError(f"multikey {value[:8]!r}… is not an Ed25519 public key")
    raw = data[len(_ED25519_PUB) :]
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def b58encode(data: bytes) -> str:
    """Base58btc (Bitcoin alphabet), without the multibase prefix."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_ALPHABET[remainder])
    # Each leading zero byte is written as a leading "1".
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str, limit: int = 128) -> bytes:
    """Decode base58btc (without the multibase prefix); KeyFormatError if malformed."""
    # A key or a signature is a few dozen characters; refusing long input keeps the
    # int math cheap.
    if len(text) > limit:
        raise KeyFormatError("multibase value is too long for a key or signature")
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise KeyFormatError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body
