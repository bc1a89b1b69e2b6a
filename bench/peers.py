"""Remote peers for benchmarks: key pairs, and actors served from loopback.

RSA-2048 generation costs tens of milliseconds a key, so benchmarks draw from a small
pool and reuse it across many actor ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


@cache
def key_pool(size: int = 8) -> tuple[KeyPair, ...]:
    pairs = []
    for _ in range(size):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        pairs.append(KeyPair(private, public))
    return tuple(pairs)
