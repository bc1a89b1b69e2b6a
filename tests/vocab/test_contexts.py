"""The bundled contexts, the oce context against the ontology, and the document loader."""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

import pytest
import rdflib
from rdflib.namespace import OWL, RDF

from vocab import (
    AS_CONTEXT,
    DATA_INTEGRITY_V1,
    MULTIKEY_V1,
    OCE_CONTEXT_PATH,
    SECURITY_V1,
    ContextError,
    document_loader,
    oce_context_document,
    outgoing_context,
)
from vocab.contexts import bundled_context, is_oce_context_url
from vocab.namespaces import OCE, VF
from vocab.objects.base import REGISTRY, ASObject

from .conftest import shared_reference

XSD = "http://www.w3.org/2001/XMLSchema#"


@cache
def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(shared_reference("valueflows-1.0.0.ttl"), format="turtle")
    return graph


def oce_terms() -> dict[str, Any]:
    terms: dict[str, Any] = oce_context_document()["@context"]
    return terms


def iri_of(definition: Any, prefixes: dict[str, str]) -> str:
    value = definition if isinstance(definition, str) else definition["@id"]
    prefix, _, suffix = value.partition(":")
    return prefixes[prefix] + suffix if prefix in prefixes else value


def test_every_vf_term_of_the_oce_context_exists_in_the_ontology() -> None:
    terms = oce_terms()
    prefixes = {k: v for k, v in terms.items() if isinstance(v, str) and v.endswith(("#", "/"))}
    graph = ontology()
    for term, definition in terms.items():
        if term in prefixes:
            continue
        iri = iri_of(definition, prefixes)
        if iri.startswith(OCE):
            continue
        assert iri == VF + term, f"{term} is named differently from its IRI"
        subject = rdflib.URIRef(iri)
        kinds = set(graph.objects(subject, RDF.type))
        assert kinds & {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual}, (
            f"{iri} is not defined by the ontology"
        )


def test_every_property_the_typed_classes_use_has_a_term() -> None:
    as_terms = set(bundled_context(AS_CONTEXT)["@context"])
    defined = as_terms | set(oce_terms())
    classes: set[type[ASObject]] = {*REGISTRY.values(), ASObject}
    for cls in classes:
        for field in fields(cls):
            spec = field.metadata.get("prop")
            if spec is not None:
                assert spec.wire in defined, f"{cls.__name__}.{field.name} ({spec.wire})"
        if cls is not ASObject:
            assert cls.TYPE in defined


def test_coercions() -> None:
    terms = oce_terms()
    for term in (
        "provider",
        "receiver",
        "resourceConformsTo",
        "resourceInventoriedAs",
        "toResourceInventoriedAs",
        "fulfills",
        "satisfies",
        "publishes",
        "reciprocal",
        "stipulates",
        "stipulatesReciprocal",
        "clauseOf",
        "reciprocalClauseOf",
        "inputOf",
        "outputOf",
        "corrects",
        "primaryAccountable",
        "agreements",
        "commitments",
        "resources",
    ):
        assert terms[term]["@type"] == "@id", term
    assert terms["action"]["@type"] == "@vocab"
    assert terms["purpose"]["@type"] == "@vocab"
    for term in ("hasPointInTime", "hasBeginning", "hasEnd", "due"):
        assert terms[term]["@type"] == "xsd:dateTime", term
    assert terms["xsd"] == XSD
    # Actions and purposes are vocabulary terms, so "transfer" expands under @vocab.
    for word in ("transfer", "deliverService", "work", "offer", "request"):
        assert terms[word] == "vf:" + word


def test_oce_terms_never_collide_with_activitystreams_or_security() -> None:
    ours = oce_terms()
    for url in (AS_CONTEXT, SECURITY_V1):
        theirs = bundled_context(url)["@context"]
        for term in set(ours) & set(theirs):
            assert ours[term] == theirs[term], f"{term} differs between oce and {url}"


def test_oce_context_document_is_a_fresh_copy() -> None:
    document = oce_context_document()
    document["@context"]["provider"] = "mutated"
    assert oce_context_document()["@context"]["provider"] != "mutated"


def test_outgoing_context() -> None:
    assert outgoing_context("https://oce.example") == [
        AS_CONTEXT,
        "https://oce.example" + OCE_CONTEXT_PATH,
    ]
    assert outgoing_context("https://oce.example/", extra=[SECURITY_V1]) == [
        AS_CONTEXT,
        SECURITY_V1,
        "https://oce.example/ns/oce-v1.jsonld",
    ]
    with pytest.raises(ContextError):
        outgoing_context("https://oce.example", extra=["https://evil.example/ctx"])


@pytest.mark.parametrize("url", [AS_CONTEXT, SECURITY_V1, MULTIKEY_V1, DATA_INTEGRITY_V1])
def test_loader_serves_bundled_documents(url: str) -> None:
    remote = document_loader(url)
    assert remote["documentUrl"] == url
    assert "@context" in remote["document"]


@pytest.mark.parametrize(
    "url",
    [
        "https://oce.example/ns/oce-v1.jsonld",
        "http://localhost:8000/ns/oce-v1.jsonld",
        "https://peer.example:8443/ns/oce-v1.jsonld",
    ],
)
def test_the_oce_context_path_on_any_origin_is_ours(url: str) -> None:
    assert is_oce_context_url(url)
    assert document_loader(url)["document"] == oce_context_document()


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/context.jsonld",
        "https://oce.example/ns/oce-v1.jsonld#x",
        "https://oce.example/ns/oce-v1.jsonld?x=1",
        "https://oce.example/sub/ns/oce-v1.jsonld",
        "file:///ns/oce-v1.jsonld",
        "/ns/oce-v1.jsonld",
        "https://w3id.org/security/v2",
    ],
)
def test_loader_refuses_everything_else_naming_the_url(url: str) -> None:
    with pytest.raises(ContextError) as info:
        document_loader(url, {})
    assert url in str(info.value)


def test_loader_documents_cannot_be_changed_by_callers() -> None:
    document_loader(AS_CONTEXT)["document"]["@context"]["actor"] = "mutated"
    assert document_loader(AS_CONTEXT)["document"]["@context"]["actor"] != "mutated"


def test_pyld_uses_the_loader_and_never_fetches() -> None:
    from pyld import jsonld

    document = {
        "@context": [AS_CONTEXT, "https://oce.example/ns/oce-v1.jsonld"],
        "type": "Commitment",
        "action": "transfer",
        "provider": "https://a.example/alice",
    }
    (node,) = jsonld.expand(document, {"documentLoader": document_loader})
    assert node[VF + "action"] == [{"@id": VF + "transfer"}]
    assert node[VF + "provider"] == [{"@id": "https://a.example/alice"}]
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand(
            {"@context": "https://evil.example/ctx", "name": "x"},
            {"documentLoader": document_loader},
        )
