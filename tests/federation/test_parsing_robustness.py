"""Hostile header text only ever raises our own errors, never a parser's."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from federation.clock import http_date_or_none
from federation.delivery import parse_retry_after
from federation.digest import check_content_digest, check_digest
from federation.errors import FederationError, SignatureError
from federation.httpsig import parse_signature_params
from federation.rfc9421 import select_signature
from federation.verify import signature_key_id

HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    | st.sampled_from("\t\u00e9\u20ac"),
    max_size=120,
)
SFV_ISH = st.lists(
    st.sampled_from(
        [
            "sig1=",
            "(",
            ")",
            '"',
            "@method",
            ";",
            "created=",
            "1",
            "keyid=",
            ":",
            "AAAA",
            ",",
            " ",
            "=",
            "?1",
            "x",
        ]
    ),
    max_size=25,
).map("".join)


#: Pieces of draft-cavage ``Signature`` headers, so examples get past the first check.
CAVAGE_ISH = st.lists(
    st.sampled_from(
        [
            "keyId=",
            "headers=",
            "signature=",
            "algorithm=",
            "created=",
            "expires=",
            '"',
            ",",
            " ",
            "(request-target)",
            "(created)",
            "host",
            "date",
            "digest",
            "AAAA==",
            "rsa-sha256",
            "hs2019",
            "\\",
            "=",
            "1",
            "-1",
            "1e9",
            "x",
            "%",
            "https://peer.test/actor#main-key",
            "\x7f",
            "\u00e9",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=2000)
@given(HEADER_TEXT | CAVAGE_ISH)
def test_cavage_parser_raises_only_signature_errors(text: str) -> None:
    with contextlib.suppress(SignatureError):
        parse_signature_params(text)
    with contextlib.suppress(SignatureError):
        signature_key_id({"Signature": text})


@settings(max_examples=300, deadline=2000)
@given(SFV_ISH | HEADER_TEXT, SFV_ISH | HEADER_TEXT)
def test_rfc9421_parser_raises_only_signature_errors(signature_input: str, signature: str) -> None:
    with contextlib.suppress(SignatureError):
        select_signature({"Signature-Input": signature_input, "Signature": signature})
    with contextlib.suppress(SignatureError):
        signature_key_id({"Signature-Input": signature_input, "Signature": signature})


@settings(max_examples=300, deadline=2000)
@given(SFV_ISH | HEADER_TEXT)
def test_digest_checkers_raise_only_federation_errors(value: str) -> None:
    for check in (check_digest, check_content_digest):
        with contextlib.suppress(FederationError):
            check(value, b"{}")


@settings(max_examples=300, deadline=2000)
@given(HEADER_TEXT)
def test_date_parsers_never_raise(value: str) -> None:
    http_date_or_none(value)
    parse_retry_after(value, datetime(2025, 1, 1, tzinfo=UTC))
