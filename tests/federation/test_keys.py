from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation.algorithms import ALGORITHMS, algorithms_for
from federation.errors import KeyFormatError
from federation.keys import (
    PrivateKeyType,
    PublicKey,
    RemoteKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    key_kind,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
)
from federation.multikey import decode_ed25519_multikey, encode_ed25519_multikey


def test_generate_rsa_keypair_gives_matching_2048_bit_pems() -> None:
    pair = generate_rsa_keypair()
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private = load_private_key(pair.private_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert public_key_pem(private.public_key()) == pair.public_pem


def test_generate_rsa_refuses_small_keys() -> None:
    with pytest.raises(KeyFormatError, match="at least 2048"):
        generate_rsa_keypair(1024)


def test_ed25519_keypair_round_trips_through_pem() -> None:
    pair = generate_ed25519_keypair()
    private = load_private_key(pair.private_pem)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert private_key_pem(private) == pair.private_pem
    assert key_kind(load_public_key(pair.public_pem)) == "ed25519"


def test_load_public_key_refuses_garbage_with_reason() -> None:
    with pytest.raises(KeyFormatError, match="not a usable public key PEM"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_load_private_key_refuses_a_public_key() -> None:
    with pytest.raises(KeyFormatError):
        load_private_key(generate_rsa_keypair().public_pem)


def test_key_kind_for_each_supported_type(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    p256_key: ec.EllipticCurvePrivateKey,
) -> None:
    assert key_kind(rsa_key) == key_kind(rsa_key.public_key()) == "rsa"
    assert key_kind(ed_key.public_key()) == "ed25519"
    assert key_kind(p256_key.public_key()) == "ecdsa-p256"
    assert key_kind(ec.generate_private_key(ec.SECP384R1())) == "ecdsa-p384"


def test_key_kind_refuses_other_curves_and_small_rsa() -> None:
    with pytest.raises(KeyFormatError, match="secp256k1"):
        key_kind(ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(KeyFormatError, match="1024 bits"):
        key_kind(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_algorithm_is_derived_from_the_key(
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    p256_key: ec.EllipticCurvePrivateKey,
) -> None:
    assert [a.name for a in algorithms_for(rsa_key)] == ["rsa-v1_5-sha256", "rsa-pss-sha512"]
    assert [a.name for a in algorithms_for(ed_key)] == ["ed25519"]
    assert [a.name for a in algorithms_for(p256_key)] == ["ecdsa-p256-sha256"]


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_signs_and_verifies(name: str) -> None:
    algorithm = ALGORITHMS[name]
    generators: dict[str, Callable[[], PrivateKeyType]] = {
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ecdsa-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    }
    private = generators[algorithm.key_kind]()
    signature = algorithm.sign(private, b"data")
    assert algorithm.verify(private.public_key(), b"data", signature)
    assert not algorithm.verify(private.public_key(), b"other", signature)
    assert not algorithm.verify(private.public_key(), b"data", signature[:-1])


def test_algorithm_refuses_a_key_of_another_kind(ed_key: ed25519.Ed25519PrivateKey) -> None:
    with pytest.raises(KeyFormatError, match="needs a rsa key"):
        ALGORITHMS["rsa-v1_5-sha256"].sign(ed_key, b"x")


def test_public_key_value_publishes_activitystreams_shape(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = public_key_pem(rsa_key.public_key())
    key = PublicKey.from_pem("https://a.example/u#main-key", "https://a.example/u", pem)
    assert key.kind == "rsa"
    assert key.as_activitystreams() == {
        "id": "https://a.example/u#main-key",
        "owner": "https://a.example/u",
        "publicKeyPem": pem,
    }
    remote = RemoteKey(key.key_id, key.owner, key.key)
    assert remote.fetched_at is None
    assert isinstance(remote, PublicKey)


def test_multikey_round_trip_and_prefix(ed_key: ed25519.Ed25519PrivateKey) -> None:
    encoded = encode_ed25519_multikey(ed_key.public_key())
    # Every Ed25519 multikey starts with "z6Mk": base58 of the 0xed01 prefix.
    assert encoded.startswith("z6Mk")
    assert len(encoded) == 48
    decoded = decode_ed25519_multikey(encoded)
    assert public_key_pem(decoded) == public_key_pem(ed_key.public_key())


def test_multikey_known_vector() -> None:
    # RFC 8032 test 1 public key, and its multikey as the did:key spec examples encode it.
    raw = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
    encoded = encode_ed25519_multikey(key)
    assert decode_ed25519_multikey(encoded).public_bytes_raw() == raw
    assert encoded.startswith("z6Mk")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("m6Mk", "not base58btc"),
        ("z0OIl", "not a base58btc character"),
        ("z" + "2" * 10, "not an Ed25519"),
        ("z" + "1" * 200, "too long"),
    ],
)
def test_multikey_decode_refusals(value: str, why: str) -> None:
    with pytest.raises(KeyFormatError, match=why):
        decode_ed25519_multikey(value)


def test_multikey_with_wrong_length_is_refused() -> None:
    from federation.multikey import b58encode

    with pytest.raises(KeyFormatError, match="32 bytes"):
        decode_ed25519_multikey("z" + b58encode(b"\xed\x01" + b"\x01" * 31))
