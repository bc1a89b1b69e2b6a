"""Exact decimals, their bounds, OM2 units and measures."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vocab.errors import InvalidObject, QuantityError, UnitError, UnitMismatch, VocabError
from vocab.quantity import MAX_DIGITS, MAX_PLACES, Measure, canonical_decimal, parse_decimal
from vocab.units import is_unit, normalize_unit, unit_from_object, unit_iri, unit_label

from .conftest import shared_reference


@pytest.mark.parametrize(
    ("given_value", "canonical"),
    [
        ("5", "5"),
        (5, "5"),
        ("0.5", "0.5"),
        ("1200", "1200"),
        ("1.2e3", "1200"),
        (Decimal("1.50"), "1.5"),
        ("-0", "0"),
        ("0.000", "0"),
        (" 7 ", "7"),
        ("+3.25", "3.25"),
        ("0.000000000001", "0.000000000001"),
        ("9" * 30, "9" * 30),
        ("123456789012345678.901234567890", "123456789012345678.90123456789"),
    ],
)
def test_parse_and_canonical_form(given_value: str | int | Decimal, canonical: str) -> None:
    assert canonical_decimal(parse_decimal(given_value, "q")) == canonical


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (1.5, "float is not an exact decimal"),
        (True, "bool is not an exact decimal"),
        ("NaN", "not a decimal number"),
        ("Infinity", "not a decimal number"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        ("1" * 31, f"more than {MAX_DIGITS} digits"),
        ("1e30", f"more than {MAX_DIGITS} digits"),
        ("0.0000000000001", f"more than {MAX_PLACES} decimal places"),
        ("1,5", "not a decimal number"),
        ("0x10", "not a decimal number"),
        ("٣", "not a decimal number"),
        ("", "not a decimal number"),
        (None, "must be a string or number"),
    ],
)
def test_out_of_bound_and_malformed_numbers(bad: object, words: str) -> None:
    with pytest.raises(QuantityError, match=words) as info:
        parse_decimal(bad, "/resourceQuantity/hasNumericalValue")  # type: ignore[arg-type]
    assert info.value.field == "/resourceQuantity/hasNumericalValue"


@given(
    st.decimals(
        allow_nan=False,
        allow_infinity=False,
        places=MAX_PLACES,
        min_value=Decimal(-(10**17)),
        max_value=Decimal(10**17),
    )
)
def test_canonical_text_reads_back_to_the_same_value(value: Decimal) -> None:
    parsed = parse_decimal(value, "q")
    text = canonical_decimal(parsed)
    assert "e" not in text.lower()
    assert parse_decimal(text, "q") == parsed == value
    assert not ("." in text and text.endswith("0"))


def test_units_accept_ids_prefixed_names_and_iris() -> None:
    assert normalize_unit("kilogram") == "kilogram"
    assert normalize_unit("om2:kilogram") == "kilogram"
    om2 = "http://www.ontology-of-units-of-measure.org/resource/om-2/"
    assert normalize_unit(om2 + "kilogram") == "kilogram"
    assert normalize_unit(om2.replace("http:", "https:") + "hour") == "hour"
    assert unit_iri("one") == om2 + "one"
    assert normalize_unit("pound") == "poundAvoirdupois"


@pytest.mark.parametrize(
    ("written", "unit"),
    [
        ("kg", "kilogram"),  # OM2 symbols
        ("km", "kilometre"),
        ("h", "hour"),  # also hour-HourAngle's symbol: the unqualified unit wins
        ("m", "metre"),  # also minute-HourAngle's
        ("hr", "hour"),  # FEP-d767
        ("hrs", "hour"),
        ("s", "second-Time"),
        ("lb", "poundAvoirdupois"),
        ("fathom (US survey)", "fathom-USSurvey"),  # a label only one unit has
    ],
)
def test_units_accept_symbols_abbreviations_and_labels(written: str, unit: str) -> None:
    assert normalize_unit(written) == unit
    assert Measure.parse({"hasUnit": written, "hasNumericalValue": "2"}, "q").unit == unit


@pytest.mark.parametrize("written", ["a", "ft", "pt", "KG", "hours", "kilo"])
def test_ambiguous_or_unknown_spellings_are_refused(written: str) -> None:
    with pytest.raises(UnitError, match=repr(written)):
        normalize_unit(written)


def test_unit_objects_name_their_unit_by_id_symbol_or_label() -> None:
    bonfire = {"id": "https://kawen.space/pub/objects/01FM", "label": "kilo", "symbol": "kg"}
    assert unit_from_object(bonfire) == "kilogram"
    assert unit_from_object({"id": "om2:hour", "symbol": "kg"}) == "hour"
    assert unit_from_object({"label": "litre"}) == "litre"
    with pytest.raises(UnitError, match="label 'kilo'"):
        unit_from_object({"id": "https://kawen.space/u/1", "label": "kilo"})


def test_a_measure_may_carry_its_own_id_and_om2_type() -> None:
    measure = {"id": "https://k.example/m/1", "type": "om2:Measure"}
    parsed = Measure.parse({**measure, "hasUnit": "kg", "hasNumericalValue": Decimal("0.1")}, "q")
    assert parsed == Measure(Decimal("0.1"), "kilogram")
    with pytest.raises(InvalidObject, match="Measure"):
        Measure.parse({"type": "Note", "hasUnit": "kg", "hasNumericalValue": "1"}, "q")


def test_unknown_unit_error_names_the_unit() -> None:
    with pytest.raises(UnitError, match="'furlongs'"):
        normalize_unit("furlongs")
    assert not is_unit("furlongs")
    assert not is_unit(3)
    assert is_unit("om2:hour")


def test_labels_for_posts() -> None:
    assert unit_label("kilogram") == "kilogram"
    assert unit_label("hour") == "hour"
    assert unit_label("one") == "one"
    assert unit_label("gallon-US") == "gallon (US)"


def test_packaged_unit_list_is_the_shared_reference() -> None:
    packaged = resources.files("vocab").joinpath("data/om2-units-en.csv").read_bytes()
    assert packaged == shared_reference("om2-units-en.csv").read_bytes()
    with shared_reference("om2-units-en.csv").open(encoding="utf-8") as handle:
        ids = {row[1] for row in csv.reader(handle)}
    assert all(is_unit(i) for i in ids)


def test_measure_parse_and_write() -> None:
    measure = Measure.parse({"hasUnit": "om2:kilogram", "hasNumericalValue": 2}, "/q")
    assert measure == Measure(Decimal(2), "kilogram")
    assert measure.to_json() == {"hasUnit": "kilogram", "hasNumericalValue": "2"}
    assert Measure.parse(measure.to_json(), "/q") == measure
    assert Measure.of("0", "one").is_zero


@pytest.mark.parametrize(
    ("obj", "field", "error"),
    [
        ({"hasUnit": "one"}, "/q/hasNumericalValue", InvalidObject),
        ({"hasNumericalValue": "1"}, "/q/hasUnit", InvalidObject),
        ({"hasUnit": "parsec-ish", "hasNumericalValue": "1"}, "/q/hasUnit", UnitError),
        ({"hasUnit": "one", "hasNumericalValue": 1.5}, "/q/hasNumericalValue", QuantityError),
        ({"hasUnit": "one", "hasNumericalValue": "1", "x": 1}, "/q/x", InvalidObject),
        ({"hasUnit": ["one", "hour"], "hasNumericalValue": "1"}, "/q/hasUnit", InvalidObject),
        ("1 kg", "/q", InvalidObject),
    ],
)
def test_measure_refusals(obj: object, field: str, error: type[VocabError]) -> None:
    with pytest.raises(error) as info:
        Measure.parse(obj, "/q")  # type: ignore[arg-type]
    assert info.value.field == field


def test_arithmetic_within_one_unit_is_exact() -> None:
    a = Measure.of("0.1", "kilogram")
    b = Measure.of("0.2", "om2:kilogram")
    assert a + b == Measure.of("0.3", "kilogram")
    assert b - a == a
    assert a < b
    assert b >= a
    assert -a == Measure.of("-0.1", "kilogram")
    big = Measure.of("9" * 29, "one")
    # The default 28-digit context would round this sum; Measure's does not.
    assert (big + big).value == Decimal("1" + "9" * 28 + "8")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_units_never_mix(operation: Callable[[Measure, Measure], object]) -> None:
    a = Measure.of(1, "kilogram")
    b = Measure.of(1, "hour")
    with pytest.raises(UnitMismatch, match="different units are never added or compared"):
        operation(a, b)
    assert a != b


def test_sum_out_of_bounds_is_refused() -> None:
    big = Measure.of("9" * 30, "one")
    with pytest.raises(QuantityError):
        big + big
