"""The fast expander gives exactly pyld's expansion, and is the path actually taken."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vocab import ContextError, loads
from vocab.activecontext import initial_context, process_context
from vocab.expansion import _expand_with_pyld, expand

from .conftest import FIXTURES

FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.json"))
AS = "https://www.w3.org/ns/activitystreams"
VF = "https://w3id.org/valueflows/ont/vf#"


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = loads((FIXTURES / name).read_bytes())
    return document


@pytest.fixture
def pyld_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import vocab.expansion

    calls: list[dict[str, Any]] = []
    original = vocab.expansion._expand_with_pyld

    def counting(document: Any) -> Any:
        calls.append(document)
        return original(document)

    monkeypatch.setattr(vocab.expansion, "_expand_with_pyld", counting)
    return calls


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fast_path_equals_pyld_on_every_fixture(name: str, pyld_calls: list[Any]) -> None:
    document = fixture(name)
    assert expand(document) == _expand_with_pyld(document)
    assert pyld_calls == []  # the FEP examples all take the fast path


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fast_path_equals_pyld_on_expanded_documents(name: str, pyld_calls: list[Any]) -> None:
    (expanded,) = _expand_with_pyld(fixture(name))
    assert expand(expanded) == _expand_with_pyld(expanded) == [expanded]
    assert len(pyld_calls) == 0


EDGE_CASES: list[Any] = [
    {"@context": AS, "type": "Note", "to": [], "cc": None, "content": "x"},
    {"@context": AS, "id": "https://a.example/only-id"},
    {
        "@context": AS,
        "type": ["Note", "Article"],
        "name": ["a", "b"],
        "orderedItems": ["https://a.example/1"],
    },
    {
        "@context": AS,
        "type": "Note",
        "orderedItems": "https://a.example/1",
        "items": ["https://a.example/2"],
    },
    {
        "@context": AS,
        "type": "Note",
        "to": "as:Public",
        "cc": "Public",
        "attributedTo": "relative/path",
    },
    {
        "@context": [AS, {"ex": "https://example.org/ns#"}],
        "ex:thing": {"@id": "ex:x"},
        "type": "ex:T",
    },
    {
        "@context": [
            AS,
            {
                "n": {
                    "@id": "https://example.org/n",
                    "@type": "http://www.w3.org/2001/XMLSchema#integer",
                }
            },
        ],
        "n": 5,
        "type": "Note",
    },
    {
        "@context": [AS, {"v": {"@id": "https://example.org/v", "@type": "@vocab"}}],
        "v": ["Note", "as:Create", "x"],
        "type": "Note",
    },
    {"@context": [AS, None, {"title": "https://example.org/title"}], "title": "reset"},
    {"@context": AS, "type": "Note", "tag": {"@value": "x", "@language": "EN"}},
    {"@context": AS, "type": "Note", "tag": {"@value": "5", "@type": "xsd:integer"}},
    {"@context": AS, "type": "Note", "tag": {"@list": ["a", {"@id": "https://a.example/"}]}},
    {"@context": AS, "type": "Note", "https://example.org/ns#p": [True, 1, "s", None]},
    {"@context": [AS, {"@vocab": "https://example.org/vocab#"}], "type": "Thing", "anything": "x"},
    {
        "@context": AS,
        "object": {"@context": {"x": "https://example.org/x"}, "x": 1},
        "type": "Create",
    },
    {
        "type": "https://www.w3.org/ns/activitystreams#Note",
        "https://www.w3.org/ns/activitystreams#content": "no context",
    },
    {
        "@type": "https://www.w3.org/ns/activitystreams#Note",
        "https://www.w3.org/ns/activitystreams#content": [{"@value": "expanded"}],
    },
    {"@context": AS, "type": "Note", "@type": "Article"},
    {"@context": AS, "type": "Create", "object": {"@context": None, "type": "Note", "name": "x"}},
]


def test_colliding_ids_are_left_to_pyld_which_refuses_them() -> None:
    document = {"@context": AS, "@id": "https://a.example/1", "id": "https://a.example/2"}
    with pytest.raises(ContextError, match="colliding keywords"):
        expand(document)


@pytest.mark.parametrize("document", EDGE_CASES)
def test_fast_path_equals_pyld_on_edge_cases(document: Any) -> None:
    assert expand(document) == _expand_with_pyld(document)


NEEDS_PYLD: list[Any] = [
    {"@context": [AS, {"@language": "en"}], "type": "Note", "content": "x"},
    {"@context": AS, "type": "Note", "contentMap": {"en": "x"}},
    {"@context": [AS, {"@base": "https://a.example/"}], "id": "x", "type": "Note"},
    {
        "@context": [AS, {"r": {"@reverse": "https://example.org/r"}}],
        "r": {"@id": "https://a.example/x"},
    },
    {"@context": AS, "@graph": [{"type": "Note"}]},
    {
        "@context": [AS, "https://w3id.org/security/multikey/v1"],
        "type": "Multikey",
        "controller": "https://a.example/",
    },
    {"@context": AS, "type": "Note", "tag": [["nested"]]},
]


@pytest.mark.parametrize("document", NEEDS_PYLD)
def test_documents_beyond_the_subset_go_to_pyld(document: Any, pyld_calls: list[Any]) -> None:
    expand(document)
    assert len(pyld_calls) == 1


def test_contexts_are_processed_once() -> None:
    context = [AS, {"vf": VF, "Intent": "vf:Intent"}]
    first = process_context(initial_context(), copy.deepcopy(context))
    second = process_context(initial_context(), copy.deepcopy(context))
    assert first is second


def test_expansion_does_not_change_the_input() -> None:
    document = fixture("fep3264-plan.json")
    before = copy.deepcopy(document)
    expand(document)
    _expand_with_pyld(document)
    assert document == before
