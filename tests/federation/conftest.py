"""Shared keys and a fixed clock for the federation tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation.keys import PublicKey

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
ACTOR = "https://remote.example/users/alice"
KEY_ID = f"{ACTOR}#main-key"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def alice_key(rsa_key: rsa.RSAPrivateKey) -> PublicKey:
    return PublicKey(KEY_ID, ACTOR, rsa_key.public_key())
