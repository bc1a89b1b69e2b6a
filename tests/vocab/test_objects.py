"""The rules each typed class enforces, whether read or built by oce."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from vocab import (
    Agreement,
    Claim,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Intent,
    InvalidObject,
    Measure,
    Organization,
    Person,
    Plan,
    Process,
    Proposal,
    ResourceSpecification,
    UnitMismatch,
    VocabError,
    parse_object,
    to_json,
)
from vocab.errors import ActionError

A = "https://a.example/"
HOURS = Measure(Decimal(3), "hour")
KILOS = Measure(Decimal(2), "kilogram")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime(2024, 1, 2, tzinfo=UTC)


def refused(build: Any, field: str, words: str, error: type[VocabError] = InvalidObject) -> None:
    with pytest.raises(error) as info:
        build()
    assert info.value.field == field
    assert words in info.value.reason


# -- flows: the actions table decides ----------------------------------------------------


def test_quantity_kind_follows_event_quantity() -> None:
    EconomicEvent(id=A + "e", action="work", effort_quantity=HOURS)
    EconomicEvent(id=A + "e", action="use", effort_quantity=HOURS, resource_quantity=KILOS)
    refused(
        lambda: EconomicEvent(id=A + "e", action="work", resource_quantity=KILOS),
        "/resourceQuantity",
        "work counts effort",
    )
    refused(
        lambda: Commitment(action="transfer", effort_quantity=HOURS),
        "/effortQuantity",
        "transfer counts the resource",
    )
    refused(
        lambda: Intent(id=A + "i", action="deliverService", effort_quantity=HOURS),
        "/effortQuantity",
        "deliverService counts the resource",
    )


def test_unknown_action_in_an_object() -> None:
    refused(lambda: Intent(id=A + "i", action="give"), "/action", "unknown action", ActionError)


def test_process_side_follows_input_output() -> None:
    Commitment(action="consume", resource_quantity=KILOS, input_of=A + "p")
    Commitment(action="deliverService", input_of=A + "p", output_of=A + "q")
    refused(
        lambda: Commitment(action="transfer", input_of=A + "p"),
        "/inputOf",
        "transfer cannot be a process input",
    )
    refused(
        lambda: Commitment(action="consume", output_of=A + "p"),
        "/outputOf",
        "consume cannot be a process output",
    )
    refused(
        lambda: Intent(id=A + "i", action="produce", input_of=A + "p"),
        "/inputOf",
        "produce cannot be a process input",
    )


def test_amounts_are_positive_except_when_correcting() -> None:
    refused(
        lambda: Commitment(action="work", effort_quantity=Measure(Decimal(0), "hour")),
        "/effortQuantity",
        "greater than zero",
    )
    refused(
        lambda: EconomicEvent(
            id=A + "e", action="transfer", resource_quantity=Measure(Decimal(-1), "one")
        ),
        "/resourceQuantity",
        "negative",
    )
    EconomicEvent(
        id=A + "e2",
        action="transfer",
        resource_quantity=Measure(Decimal(-1), "one"),
        corrects=A + "e",
    )


def test_event_that_changes_quantities_needs_a_resource_quantity() -> None:
    refused(
        lambda: EconomicEvent(id=A + "e", action="consume"),
        "/resourceQuantity",
        "consume event changes resource quantities",
    )
    EconomicEvent(id=A + "e", action="deliverService")  # no quantity effect


def test_event_action_only_absent_when_fulfilling() -> None:
    refused(lambda: EconomicEvent(id=A + "e"), "/action", "missing")
    EconomicEvent(id=A + "e", fulfills=(A + "c",), effort_quantity=HOURS)


def test_event_id_is_required_commitment_id_is_not() -> None:
    refused(lambda: EconomicEvent(action="work"), "/id", "missing")
    Commitment(action="work")


def test_times_in_order() -> None:
    refused(lambda: Commitment(action="work", has_beginning=T1, has_end=T0), "/hasEnd", "before")


def test_realization_primary_or_reciprocal() -> None:
    refused(
        lambda: EconomicEvent(
            id=A + "e",
            action="deliverService",
            realization_of=A + "a",
            reciprocal_realization_of=A + "a",
        ),
        "/reciprocalRealizationOf",
        "not both",
    )


# -- proposals ---------------------------------------------------------------------------


def intent(**values: Any) -> Intent:
    return Intent(**{"id": A + "i", "action": "transfer", "resource_quantity": KILOS, **values})


def test_proposal_rules() -> None:
    Proposal(id=A + "p", attributed_to=A + "alice", purpose="offer", publishes=(intent(),))
    refused(
        lambda: Proposal(id=A + "p", purpose="offer", publishes=(intent(),)),
        "/attributedTo",
        "missing",
    )
    refused(
        lambda: Proposal(id=A + "p", attributed_to=A + "alice", purpose="offer", publishes=()),
        "/publishes",
        "missing",
    )
    refused(
        lambda: Proposal(
            id=A + "p",
            attributed_to=A + "alice",
            purpose="offer",
            publishes=(intent(resource_quantity=None),),
        ),
        "/publishes/resourceQuantity",
        "state their quantity",
    )


def test_proposer_is_on_the_right_side() -> None:
    refused(
        lambda: Proposal(
            id=A + "p",
            attributed_to=A + "alice",
            purpose="offer",
            publishes=(intent(provider=A + "bob"),),
        ),
        "/publishes/provider",
        "proposer is the provider",
    )
    refused(
        lambda: Proposal(
            id=A + "p",
            attributed_to=A + "alice",
            purpose="request",
            publishes=(intent(),),
            reciprocal=(intent(provider=A + "bob"), intent()),
        ),
        "/reciprocal/0/provider",
        "proposer is the provider",
    )


def test_available_quantity_may_be_zero_and_shares_the_unit() -> None:
    intent(available_quantity=Measure(Decimal(0), "kilogram"))
    refused(
        lambda: intent(available_quantity=Measure(Decimal(1), "one")),
        "/availableQuantity",
        "never compared",
        UnitMismatch,
    )


def test_purpose_is_checked_on_read() -> None:
    with pytest.raises(InvalidObject, match="not a proposal purpose"):
        parse_object(
            {
                "type": "Proposal",
                "id": A + "p",
                "attributedTo": A + "alice",
                "purpose": "gift",
                "publishes": A + "i",
            }
        )


# -- agreements and commitments ------------------------------------------------------------


def test_agreement_rules() -> None:
    primary = Commitment(action="transfer", resource_quantity=KILOS, clause_of=A + "ag")
    Agreement(id=A + "ag", stipulates=(primary,))
    refused(lambda: Agreement(stipulates=()), "/stipulates", "missing")
    refused(
        lambda: Agreement(id=A + "other", stipulates=(primary,)),
        "/stipulates/clauseOf",
        "not this agreement",
    )
    refused(
        lambda: Agreement(id=A + "ag", stipulates=(A + "c",), stipulates_reciprocal=(primary,)),
        "/stipulatesReciprocal/clauseOf",
        "cannot be clauseOf",
    )


def test_commitment_is_clause_or_reciprocal_clause() -> None:
    refused(
        lambda: Commitment(clause_of=A + "a", reciprocal_clause_of=A + "a"),
        "/reciprocalClauseOf",
        "not both",
    )


def test_fulfilled_quantity_within_the_committed_one() -> None:
    Commitment(action="work", effort_quantity=HOURS, fulfilled_quantity=HOURS)
    refused(
        lambda: Commitment(
            action="work", effort_quantity=HOURS, fulfilled_quantity=Measure(Decimal(4), "hour")
        ),
        "/fulfilledQuantity",
        "exceeds",
    )
    refused(
        lambda: Commitment(action="work", effort_quantity=HOURS, fulfilled_quantity=KILOS),
        "/fulfilledQuantity",
        "never compared",
        UnitMismatch,
    )


# -- resources, plans, claims, agents --------------------------------------------------------


def test_resource_quantities_share_a_unit_and_may_be_negative() -> None:
    EconomicResource(
        id=A + "r",
        accounting_quantity=Measure(Decimal(-5), "one"),
        onhand_quantity=Measure(Decimal(0), "one"),
    )
    refused(
        lambda: EconomicResource(id=A + "r", accounting_quantity=KILOS, onhand_quantity=HOURS),
        "/onhandQuantity",
        "one unit",
        UnitMismatch,
    )


def test_resource_specification_units_are_normalized() -> None:
    spec = parse_object(
        {"type": "ResourceSpecification", "id": A + "s", "defaultUnitOfResource": "om2:kilogram"}
    )
    assert isinstance(spec, ResourceSpecification)
    assert spec.default_unit_of_resource == "kilogram"


def test_process_rules() -> None:
    work = Commitment(action="work", effort_quantity=HOURS)
    Process(id=A + "p", name="Pick", has_input=(work,))
    refused(lambda: Process(id=A + "p", has_input=(work,)), "/name", "missing")
    refused(
        lambda: Process(id=A + "p", name="Pick", has_output=(work,)),
        "/hasOutput/action",
        "work cannot be a process output",
    )
    elsewhere = Commitment(action="work", effort_quantity=HOURS, input_of=A + "q")
    refused(
        lambda: Process(id=A + "p", name="Pick", has_input=(work, elsewhere)),
        "/hasInput/1/inputOf",
        "not this process",
    )


def test_plan_rules() -> None:
    process = Process(id=A + "p", name="Pick", planned_within=A + "other")
    refused(lambda: Plan(id=A + "plan", plan_includes=()), "/name", "missing")
    refused(
        lambda: Plan(id=A + "plan", name="Cider", plan_includes=(process,)),
        "/planIncludes/plannedWithin",
        "not this plan",
    )


def test_claim_needs_a_known_action() -> None:
    Claim(id=A + "c", action="transfer", resource_quantity=KILOS)
    with pytest.raises(InvalidObject, match="missing"):
        parse_object({"type": "Claim", "id": A + "c"})


def test_agents() -> None:
    person = parse_object(
        {
            "type": "Person",
            "id": A + "alice",
            "preferredUsername": "alice",
            "agreements": A + "alice/agreements",
            "publicKey": {"id": A + "alice#key"},
        }
    )
    assert isinstance(person, Person)
    assert person.agreements == A + "alice/agreements"
    assert person.extra == {"publicKey": {"id": A + "alice#key"}}
    assert isinstance(parse_object({"type": "Organization", "id": A + "co"}), Organization)


# -- the common fields -------------------------------------------------------------------------


def test_extra_cannot_shadow_a_declared_property() -> None:
    refused(
        lambda: Commitment(action="work", extra={"provider": A + "x"}),
        "/provider",
        "declared property",
    )


def test_embedded_objects_without_type_take_the_expected_class() -> None:
    proposal = parse_object(
        {
            "type": "Proposal",
            "id": A + "p",
            "attributedTo": A + "alice",
            "purpose": "offer",
            "publishes": {
                "id": A + "i",
                "action": "transfer",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
            },
        }
    )
    assert isinstance(proposal, Proposal)
    assert isinstance(proposal.publishes[0], Intent)


def test_embedded_object_of_the_wrong_class_is_refused() -> None:
    with pytest.raises(InvalidObject) as info:
        parse_object(
            {
                "type": "Agreement",
                "stipulates": {"type": "Intent", "id": A + "i", "action": "work"},
            }
        )
    assert info.value.field == "/stipulates/type"


def test_references_may_be_embedded_objects() -> None:
    commitment = parse_object(
        {"type": "Commitment", "provider": {"type": "Person", "id": A + "bob", "name": "Bob"}}
    )
    assert isinstance(commitment, Commitment)
    assert commitment.provider == A + "bob"


def test_times_are_aware_and_written_in_utc() -> None:
    commitment = parse_object(
        {"type": "Commitment", "due": "2024-05-01T12:00:00+02:00", "action": "work"}
    )
    assert isinstance(commitment, Commitment)
    assert commitment.due == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert to_json(commitment)["due"] == "2024-05-01T10:00:00Z"


def test_other_types_travel_with_the_object() -> None:
    intent = parse_object({"type": ["Note", "Intent"], "id": A + "i", "action": "work"})
    assert isinstance(intent, Intent)
    assert intent.other_types == ("Note",)
    assert to_json(intent)["type"] == ["Intent", "Note"]


def test_nested_errors_carry_the_full_pointer() -> None:
    with pytest.raises(InvalidObject) as info:
        parse_object(
            {
                "type": "Plan",
                "id": A + "plan",
                "name": "Cider",
                "planIncludes": [
                    {"type": "Process", "id": A + "p1", "name": "Pick"},
                    {
                        "type": "Process",
                        "id": A + "p2",
                        "name": "Press",
                        "hasInput": [
                            {"type": "Commitment", "action": "work"},
                            {
                                "type": "Commitment",
                                "action": "work",
                                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
                            },
                        ],
                    },
                ],
            }
        )
    assert info.value.field == "/planIncludes/1/hasInput/1/resourceQuantity"
