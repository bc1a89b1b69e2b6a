"""Reading refuses, naming the problem: poisoned and remote contexts, bad JSON,
bad numbers, unknown actions and units, missing required properties."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vocab import (
    ActionError,
    ContextError,
    InvalidObject,
    JsonError,
    QuantityError,
    UnitError,
    VocabError,
    loads,
    normalize,
    parse_object,
    read,
)

from .conftest import FIXTURES

VF = "https://w3id.org/valueflows/ont/vf#"
AS = "https://www.w3.org/ns/activitystreams"


def proposal() -> dict[str, Any]:
    document: dict[str, Any] = loads((FIXTURES / "fep0837-proposal-minimal.json").read_bytes())
    return document


def commitment_activity() -> dict[str, Any]:
    document: dict[str, Any] = loads((FIXTURES / "fep3264-create-commitment.json").read_bytes())
    return document


def refused(document: Any, error: type[VocabError] = VocabError) -> VocabError:
    with pytest.raises(error) as info:
        read(document) if "type" in document and document["type"] != "Create" else normalize(
            document
        )
    assert str(info.value).endswith(".")
    return info.value


# -- poisoned contexts -------------------------------------------------------------------


def test_swapping_provider_and_receiver_is_refused() -> None:
    document = commitment_activity()
    document["@context"][1]["provider"] = "vf:receiver"
    document["@context"][1]["receiver"] = "vf:provider"
    error = refused(document, ContextError)
    assert error.field in ("@context/provider", "@context/receiver")
    assert "redefines" in error.reason


@pytest.mark.parametrize(
    ("term", "definition"),
    [
        ("provider", VF + "receiver"),
        ("provider", None),
        ("provider", {"@id": None}),
        ("provider", {"@reverse": VF + "provider"}),
        ("action", "https://evil.example/action"),
        ("transfer", VF + "consume"),
        ("hasNumericalValue", VF + "hasUnit"),
        ("Intent", VF + "Commitment"),
        ("vf", "https://evil.example/vf#"),
        ("om2", "https://evil.example/om2/"),
        ("actor", "https://evil.example/actor"),
        ("object", VF + "provider"),
        ("id", "@type"),
        ("type", "https://evil.example/type"),
        ("Public", "https://evil.example/Public"),
        ("as", "https://evil.example/as#"),
    ],
)
def test_redefining_an_oce_or_activitystreams_term_is_refused(term: str, definition: Any) -> None:
    document = proposal()
    document["@context"][1][term] = definition
    error = refused(document, ContextError)
    assert error.field == f"@context/{term}"
    assert repr(term) in error.reason


def test_prefix_pointing_inside_the_vf_namespace_is_refused() -> None:
    document = proposal()
    document["@context"][1]["x"] = VF + "provide/"
    assert "inside the namespace" in refused(document, ContextError).reason
    document = proposal()
    document["@context"][1]["x"] = {"@id": VF + "provide", "@prefix": True}
    assert "inside the namespace" in refused(document, ContextError).reason


def test_a_poisoned_context_nested_in_an_embedded_object_is_refused() -> None:
    document = commitment_activity()
    document["object"]["@context"] = {"provider": VF + "receiver"}
    assert refused(document, ContextError).field == "@context/provider"


def test_a_poisoned_scoped_context_is_refused_even_on_the_pyld_path() -> None:
    document = proposal()
    document["@context"][1]["Offering"] = {
        "@id": "https://example.org/ns#Offering",
        "@context": {"provider": VF + "receiver"},
    }
    error = refused(document, ContextError)
    assert error.field == "@context/Offering/@context/provider"


def test_poison_behind_a_feature_only_pyld_handles_is_still_refused() -> None:
    document = commitment_activity()
    document["@context"][1]["@language"] = "en"  # sends the document to pyld
    document["object"]["@context"] = {"receiver": VF + "provider"}
    assert refused(document, ContextError).field == "@context/receiver"


def test_aliases_under_new_names_are_fine() -> None:
    document = proposal()
    document["@context"][1]["giver"] = VF + "provider"
    document["publishes"]["giver"] = "https://market.example/users/alice"
    assert normalize(document)["publishes"]["provider"] == "https://market.example/users/alice"


# -- remote and unknown contexts ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/context.jsonld",
        "https://w3id.org/security/v2",
        "https://peer.example/ns/oce-v1.jsonld?v=2",
        "https://peer.example/ns/oce-v2.jsonld",
        "ftp://peer.example/ns/oce-v1.jsonld",
    ],
)
def test_remote_contexts_are_refused_naming_the_url(url: str) -> None:
    document = proposal()
    document["@context"].append(url)
    error = refused(document, ContextError)
    assert url in error.reason
    assert "never fetches" in error.reason


def test_import_of_a_remote_context_is_refused() -> None:
    document = proposal()
    document["@context"][1]["@import"] = "https://evil.example/ctx.jsonld"
    assert "https://evil.example/ctx.jsonld" in refused(document, ContextError).reason


def test_remote_context_in_a_nested_object_is_refused() -> None:
    document = commitment_activity()
    document["object"]["@context"] = "https://evil.example/ctx"
    assert "https://evil.example/ctx" in refused(document, ContextError).reason


def test_pyld_errors_are_translated() -> None:
    document = proposal()
    document["@context"][1]["@language"] = 5
    error = refused(document, ContextError)
    assert "JSON-LD processing failed" in error.reason


# -- JSON level ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"type": "Intent", "action": "work", "action": "produce"}', "/action"),
        ('{"q": {"hasNumericalValue": NaN}}', "/q/hasNumericalValue"),
        ('{"q": {"hasNumericalValue": -Infinity}}', "/q/hasNumericalValue"),
        ('{"q": {"hasNumericalValue": 1' + "0" * 45 + "}}", "/q/hasNumericalValue"),
    ],
)
def test_json_refusals(text: str, pointer: str) -> None:
    with pytest.raises(JsonError) as info:
        loads(text)
    assert info.value.field == pointer


# -- numbers, actions, units ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1e40", "more than 30 digits"),
        ("0.0000000000001", "more than 12 decimal places"),
        ("NaN", "not a decimal number"),
        ("Infinity", "not a decimal number"),
        ("ten", "not a decimal number"),
        (1.5, "float is not an exact decimal"),
        (True, "bool is not an exact decimal"),
    ],
)
def test_out_of_bound_numbers_are_refused(value: Any, words: str) -> None:
    document = proposal()
    document["publishes"]["resourceQuantity"]["hasNumericalValue"] = value
    error = refused(document, QuantityError)
    assert error.field == "/publishes/resourceQuantity/hasNumericalValue"
    assert words in error.reason


def test_unknown_action_is_refused_naming_it() -> None:
    document = proposal()
    document["publishes"]["action"] = "steal"
    error = refused(document, ActionError)
    assert error.field == "/publishes/action"
    assert "'steal'" in error.reason


def test_unknown_unit_is_refused_naming_it() -> None:
    document = proposal()
    document["publishes"]["resourceQuantity"]["hasUnit"] = "om2:smoot"
    error = refused(document, UnitError)
    assert error.field == "/publishes/resourceQuantity/hasUnit"
    assert "'om2:smoot'" in error.reason


# -- missing and invalid properties -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("purpose",), "/purpose"),
        (("publishes",), "/publishes"),
        (("attributedTo",), "/attributedTo"),
        (("id",), "/id"),
        (("publishes", "action"), "/publishes/action"),
        (("publishes", "id"), "/publishes/id"),
        (("publishes", "resourceQuantity"), "/publishes/resourceQuantity"),
        (("publishes", "resourceQuantity", "hasUnit"), "/publishes/resourceQuantity/hasUnit"),
    ],
)
def test_missing_required_properties(path: tuple[str, ...], field: str) -> None:
    document = proposal()
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    error = refused(document, InvalidObject)
    assert error.field == field
    assert "missing" in error.reason


def test_purpose_must_be_offer_or_request() -> None:
    document = proposal()
    document["purpose"] = "gift"
    error = refused(document, InvalidObject)
    assert error.field == "/purpose"


def test_two_values_for_a_functional_property() -> None:
    document = proposal()
    document["publishes"]["vf:action"] = "produce"  # the same property under a second key
    error = refused(document, InvalidObject)
    assert error.field == "/publishes/action"
    assert "2 values" in error.reason


def test_non_valueflows_type_is_not_read_as_an_object() -> None:
    document = proposal()
    document["type"] = "Note"
    assert "is not a ValueFlows type" in refused(document, InvalidObject).reason


def test_two_valueflows_types_are_refused() -> None:
    document = proposal()
    document["type"] = ["Proposal", "Intent"]
    assert "names two ValueFlows classes" in refused(document, InvalidObject).reason


def test_naive_datetime_is_refused() -> None:
    document = commitment_activity()
    document["object"]["published"] = "2024-09-21T14:13:41"
    normalized = normalize(document)["object"]
    with pytest.raises(InvalidObject, match="no timezone"):
        parse_object(normalized)


def test_document_with_several_objects_is_refused() -> None:
    document = {
        "@context": AS,
        "@graph": [
            {"id": "https://a.example/1", "type": "Note"},
            {"id": "https://a.example/2", "type": "Note"},
        ],
    }
    assert "describes 2 objects" in refused(document, InvalidObject).reason


def test_non_object_document_is_refused() -> None:
    with pytest.raises(InvalidObject):
        normalize(["not", "an", "object"])  # type: ignore[arg-type]


def test_refusals_do_not_depend_on_input_copying() -> None:
    document = proposal()
    before = copy.deepcopy(document)
    normalize(document)
    assert document == before


def test_a_null_type_beside_the_type_is_refused_naming_it() -> None:
    # Found by the reader's fuzz test: pyld keeps "@type": null as a None type.
    document = {"@context": AS, "type": "Create", "@type": None}
    with pytest.raises(ContextError) as refused:
        normalize(document)
    assert refused.value.field == "/type"
