"""Writing then reading gives back the same object, for every class (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocab import normalize, read, to_json, write
from vocab.expansion import _expand_with_pyld, expand
from vocab.jsontext import dumps, loads

from .strategies import ALL, any_object

BASE = "https://oce.example"


@pytest.mark.parametrize("kind", sorted(ALL))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_read_write_roundtrip(kind: str, data: st.DataObject) -> None:
    obj = data.draw(ALL[kind])
    written = write(obj, BASE)
    assert read(written) == obj
    # Through the wire too: bytes, the strict parser, and back.
    assert read(loads(dumps(written))) == obj


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(any_object)
def test_normalize_of_written_form_is_the_canonical_form(obj: Any) -> None:
    assert normalize(write(obj, BASE)) == to_json(obj)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_object, st.sampled_from([BASE, "https://elsewhere.example"]))
def test_fast_expansion_matches_pyld_on_written_documents(obj: Any, base: str) -> None:
    document = write(obj, base)
    assert expand(document) == _expand_with_pyld(document)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_object)
def test_fully_expanded_written_documents_read_the_same(obj: Any) -> None:
    (expanded,) = _expand_with_pyld(write(obj, BASE))
    assert normalize(expanded) == to_json(obj)
    assert read(expanded) == obj
