"""Strict bounded JSON: what it refuses, where it says the problem is."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab.errors import JsonError, VocabError
from vocab.jsontext import DEFAULT_LIMITS, JsonLimits, dumps, loads, pointer


def refused(text: str | bytes, limits: JsonLimits = DEFAULT_LIMITS) -> JsonError:
    with pytest.raises(JsonError) as info:
        loads(text, limits)
    return info.value


def test_numbers_are_int_or_decimal_never_float() -> None:
    value = loads(b'{"a": 1, "b": 2.50, "c": -3e2, "d": [0.1]}')
    assert value == {"a": 1, "b": Decimal("2.50"), "c": Decimal("-3e2"), "d": [Decimal("0.1")]}
    assert type(value["a"]) is int
    assert all(type(v) is Decimal for v in (value["b"], value["c"], value["d"][0]))


def test_accepts_str_and_bytes() -> None:
    assert loads('{"x": "é"}') == loads('{"x": "é"}'.encode()) == {"x": "é"}


def test_duplicate_keys_are_refused_with_their_pointer() -> None:
    error = refused('{"object": {"resourceQuantity": {"hasUnit": "one", "hasUnit": "kg"}}}')
    assert error.field == "/object/resourceQuantity/hasUnit"
    assert error.reason == "duplicate key"
    assert str(error) == "/object/resourceQuantity/hasUnit: duplicate key."


def test_duplicate_keys_deep_in_arrays() -> None:
    error = refused('{"a": [1, {"b": [{}, {"c": 1, "c": 2}]}]}')
    assert error.field == "/a/1/b/1/c"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_are_refused(constant: str) -> None:
    error = refused('{"q": {"hasNumericalValue": ' + constant + "}}")
    assert error.field == "/q/hasNumericalValue"
    assert constant.lstrip("-") in error.reason


def test_depth_limit() -> None:
    ok = "[" * 32 + "]" * 32
    assert loads(ok) is not None
    error = refused("[" * 33 + "]" * 33)
    assert "deeper than 32" in error.reason
    assert error.field == "/0" * 32


def test_absurd_nesting_beyond_the_c_parser_is_refused_cleanly() -> None:
    error = refused('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "deeper than 32" in error.reason
    assert error.field.startswith("/a/0/0")


def test_long_strings_and_keys() -> None:
    limits = JsonLimits(max_string_chars=10)
    assert loads('{"k": "0123456789"}', limits)
    assert refused('{"k": ["01234567890"]}', limits).field == "/k/0"
    assert "key longer" in refused('{"01234567890": 1}', limits).reason


def test_too_many_items() -> None:
    limits = JsonLimits(max_items=3)
    assert loads("[1, 2, 3]", limits)
    assert refused('{"a": [1, 2, 3, 4]}', limits).field == "/a"
    assert "more than 3 entries" in refused('{"a":1,"b":2,"c":3,"d":4}', limits).reason


def test_number_digits() -> None:
    assert loads("1" * 40) == int("1" * 40)
    assert refused('{"n": ' + "1" * 41 + "}").field == "/n"
    assert refused('{"n": 1.' + "1" * 40 + "}").field == "/n"
    assert refused('{"n": [-' + "9" * 41 + "]}").field == "/n/0"
    assert "digits" in refused("1" * 5000).reason


def test_pointer_escapes() -> None:
    assert pointer(["a/b", "c~d", 3]) == "/a~1b/c~0d/3"
    assert refused('{"a/b": {"x": 1, "x": 1}}').field == "/a~1b/x"


@pytest.mark.parametrize(
    "text",
    ["", "{", '{"a": }', "[1,]", "{'a': 1}", b"\xff\xfe\x00", '"unterminated'],
)
def test_malformed_text(text: str | bytes) -> None:
    error = refused(text)
    assert isinstance(error, VocabError)
    assert str(error).endswith(".")


def test_error_is_one_sentence() -> None:
    assert str(refused('{"a": 1, "a": 2}')) == "/a: duplicate key."


#: Characters the reader keeps: no NUL, no surrogate (see test_text_no_store_can_keep_*).
storable = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6)
    | st.text(storable, max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(storable, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_dumps_then_loads_is_identity(value: object) -> None:
    assert loads(dumps(value)) == value


def test_dumps_writes_decimals_exactly() -> None:
    assert dumps({"v": Decimal("0.1000000000000000000000000001")}) == (
        '{"v":0.1000000000000000000000000001}'
    )
    with pytest.raises(JsonError):
        dumps({"v": Decimal("NaN")})
    with pytest.raises(JsonError):
        dumps({"v": 1.5})
