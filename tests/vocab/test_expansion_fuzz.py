"""Generated JSON-LD: the fast expander and pyld agree, or both refuse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vocab import VocabError
from vocab.expansion import _expand_with_pyld, expand

AS = "https://www.w3.org/ns/activitystreams"
EX = "https://example.org/ns#"

# Names oce does not guard, so documents are not refused for poisoning.
names = st.sampled_from(["alpha", "beta", "gamma", "delta", "ex", "Thing", "Kind"])
iris = st.sampled_from([EX + "a", EX + "b", "https://example.org/other/c", "ex:d", "as:name"])
definitions = st.one_of(
    iris,
    st.none(),
    st.sampled_from(["@id", "@type", EX, "https://example.org/slash/"]),
    st.just({"@id": EX, "@prefix": True}),
    st.fixed_dictionaries(
        {"@id": iris},
        optional={
            "@type": st.sampled_from(["@id", "@vocab", "xsd:integer", EX + "Type"]),
            "@container": st.sampled_from(["@list", "@set"]),
        },
    ),
)
context_settings: list[dict[str, object]] = [
    {},
    {"@vocab": EX},
    {"@vocab": None},
    {"@version": 1.1},
]


def inline_context(pair: tuple[Mapping[str, object], Mapping[str, object]]) -> dict[str, object]:
    terms, setting = pair
    return {"ex": EX, **{k: v for k, v in terms.items() if k != "ex"}, **setting}


inline_contexts = st.tuples(
    st.dictionaries(names | st.just("ex:omega"), definitions, max_size=5),
    st.sampled_from(context_settings),
).map(inline_context)
keys = st.sampled_from(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "ex:zeta",
        "ex:omega",
        EX + "eta",
        "undefined",
        "name",
        "to",
        "tag",
    ]
)
scalars = st.one_of(
    st.sampled_from(["Thing", "ex:x", EX + "y", "relative", "as:Public", "", "_:b1"]),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
)


special = st.sampled_from(
    [
        {"@value": "x", "@type": "ex:T"},
        {"@value": "y", "@language": "en"},
        {"@value": None},
        {"@id": "ex:x"},
        {"@list": [1, "two"]},
        {"@context": {"alpha": EX + "nested"}, "alpha": "z"},
        {"@context": None, "alpha": "reset"},
    ]
)


def nodes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys, children, max_size=4)


values = st.recursive(
    scalars | special,
    lambda children: st.one_of(st.lists(children, max_size=3), nodes(children)),
    max_leaves=12,
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = draw(nodes(values))
    document["@context"] = [AS, draw(inline_contexts)]
    if draw(st.booleans()):
        document["type"] = draw(st.sampled_from(["Note", "Thing", "ex:Kind", ["Note", "Kind"]]))
    if draw(st.booleans()):
        document["id"] = draw(st.sampled_from(["https://a.example/1", "ex:1", "rel"]))
    return document


def outcome(function: Any, document: dict[str, Any]) -> Any:
    try:
        return function(document)
    except VocabError as error:
        return type(error).__name__


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_fast_expander_agrees_with_pyld(document: dict[str, Any]) -> None:
    assert outcome(expand, document) == outcome(_expand_with_pyld, document)
