"""The actions table agrees with the shared ValueFlows 1.0 ontology, value by value."""

from __future__ import annotations

from functools import cache

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from vocab.actions import ACTIONS, Action, get_action
from vocab.errors import ActionError
from vocab.namespaces import VF

from .conftest import shared_reference

VS = rdflib.Namespace("http://www.w3.org/2003/06/sw-vocab-status/ns#")
V = rdflib.Namespace(VF)

# Ontology property -> Action attribute.
COLUMNS = {
    "inputOutput": "input_output",
    "pairsWith": "pairs_with",
    "createResource": "create_resource",
    "eventQuantity": "event_quantity",
    "accountingEffect": "accounting_effect",
    "onhandEffect": "onhand_effect",
    "locationEffect": "location_effect",
    "containedEffect": "contained_effect",
    "accountableEffect": "accountable_effect",
    "stageEffect": "stage_effect",
    "stateEffect": "state_effect",
}

NINETEEN = [
    "accept", "cite", "combine", "consume", "copy", "deliverService", "dropoff", "lower",
    "modify", "move", "pickup", "produce", "raise", "separate", "transfer",
    "transferAllRights", "transferCustody", "use", "work",
]  # fmt: skip


@cache
def ontology() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(shared_reference("valueflows-1.0.0.ttl"), format="turtle")
    return graph


def local(term: rdflib.term.Node) -> str:
    text = str(term)
    assert text.startswith(VF), text
    return text[len(VF) :]


def ontology_actions() -> set[str]:
    return {local(s) for s in ontology().subjects(RDF.type, V.Action)}


def test_the_table_has_exactly_the_ontologys_19_actions() -> None:
    assert ontology_actions() == set(NINETEEN) == set(ACTIONS)
    assert len(ACTIONS) == 19


@pytest.mark.parametrize("name", NINETEEN)
def test_every_effect_matches_the_ontology(name: str) -> None:
    graph = ontology()
    subject = V[name]
    action = ACTIONS[name]
    assert (subject, RDF.type, OWL.NamedIndividual) in graph
    for prop, attribute in COLUMNS.items():
        values = [local(o) for o in graph.objects(subject, V[prop])]
        assert len(values) == 1, f"{name} has {len(values)} values for vf:{prop}"
        assert getattr(action, attribute) == values[0], f"{name}.{attribute}"
    labels = [str(o) for o in graph.objects(subject, RDFS.label)]
    assert labels == [action.label]
    statuses = [str(o) for o in graph.objects(subject, VS.term_status)]
    assert statuses == [action.status]


def test_effect_values_are_individuals_of_the_ontology() -> None:
    graph = ontology()
    named = graph.subjects(RDF.type, OWL.NamedIndividual)
    individuals = {local(s) for s in named if str(s).startswith(VF)}
    for action in ACTIONS.values():
        for attribute in COLUMNS.values():
            assert getattr(action, attribute) in individuals


def test_table_has_no_extra_columns() -> None:
    fields = set(Action.__dataclass_fields__)
    assert fields == {"name", "label", "status", *COLUMNS.values()}


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("deliverService", "deliverService"),
        ("deliver-service", "deliverService"),
        ("transfer-all-rights", "transferAllRights"),
        ("transfer-custody", "transferCustody"),
        ("vf:transfer", "transfer"),
        ("ValueFlows:work", "work"),
        ("https://w3id.org/valueflows/ont/vf#use", "use"),
        ("https://w3id.org/valueflows#produce", "produce"),
        ("https://w3id.org/valueflows/consume", "consume"),
        ("https://w3id.org/valueflows#deliver-service", "deliverService"),
    ],
)
def test_get_action_accepts_every_spelling(spelling: str, expected: str) -> None:
    assert get_action(spelling).name == expected


@pytest.mark.parametrize(
    "spelling",
    ["give", "Transfer", "deliver_service", "", "vf:", "https://evil.example/ns#transfer"],
)
def test_get_action_refuses_unknown_names(spelling: str) -> None:
    with pytest.raises(ActionError, match="unknown action") as info:
        get_action(spelling)
    assert info.value.field == "action"


def test_derived_columns_follow_the_table() -> None:
    assert not ACTIONS["work"].uses_resource_quantity
    assert ACTIONS["work"].uses_effort_quantity
    assert ACTIONS["use"].uses_resource_quantity
    assert ACTIONS["use"].uses_effort_quantity
    assert ACTIONS["transfer"].changes_quantities
    assert not ACTIONS["deliverService"].changes_quantities
    assert ACTIONS["deliverService"].can_be_input
    assert ACTIONS["deliverService"].can_be_output
    assert not ACTIONS["transfer"].can_be_input
