"""Reading tolerantly: every accepted form becomes the same canonical form and objects."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vocab import (
    PUBLIC,
    Agreement,
    Commitment,
    EconomicEvent,
    Intent,
    Measure,
    Person,
    Plan,
    Process,
    Proposal,
    normalize,
    parse_object,
    read,
    to_json,
    write,
)
from vocab.expansion import _expand_with_pyld
from vocab.jsontext import dumps, loads

from .conftest import FIXTURES

VF = "https://w3id.org/valueflows/ont/vf#"
FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.json"))
# The examples that carry a ValueFlows object (the others are plain AS activities).
VF_FIXTURES = [
    "fep0837-accept-agreement.json",
    "fep0837-actor-payment-link.json",
    "fep0837-offer-agreement.json",
    "fep0837-proposal-full.json",
    "fep0837-proposal-minimal.json",
    "fep3264-create-commitment.json",
    "fep3264-create-event.json",
    "fep3264-plan.json",
    "fepc5a1-create-commitment.json",
    "fepc5a1-create-event.json",
    "fepc5a1-update-commitment.json",
]


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = loads((FIXTURES / name).read_bytes())
    return document


def vf_object(normalized: dict[str, Any]) -> Any:
    """The ValueFlows object an FEP example carries (itself, its object or its result)."""
    if normalized["type"] in ("Create", "Update", "Offer"):
        return parse_object(normalized["object"])
    if normalized["type"] == "Accept" and isinstance(normalized.get("result"), dict):
        return parse_object(normalized["result"])
    return parse_object(normalized)


def replace_everywhere(document: Any, old: str, new: str) -> Any:
    return loads(dumps(document).replace(old, new))


# -- the FEP example documents ---------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_every_fep_example_normalizes_without_context(name: str) -> None:
    normalized = normalize(fixture(name))
    assert "@context" not in dumps(normalized)
    assert not any(key.startswith(("vf:", "om2:", VF)) for key in normalized)


def test_fep0837_minimal_proposal() -> None:
    proposal = read(fixture("fep0837-proposal-minimal.json"))
    assert proposal == Proposal(
        id="https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930",
        attributed_to="https://market.example/users/alice",
        to=(PUBLIC,),
        purpose="offer",
        unit_based=False,
        publishes=(
            Intent(
                id="https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930#primary",
                action="transfer",
                resource_quantity=Measure(Decimal(1), "one"),
            ),
        ),
    )


def test_fep0837_full_proposal_keeps_everything() -> None:
    proposal = read(fixture("fep0837-proposal-full.json"))
    assert isinstance(proposal, Proposal)
    assert proposal.name == "Offering used bike"
    assert proposal.published == datetime(2023, 6, 18, 19, 22, 3, 918737, tzinfo=UTC)
    primary, reciprocal = proposal.publishes[0], proposal.reciprocal[0]
    assert isinstance(primary, Intent)
    assert isinstance(reciprocal, Intent)
    assert primary.available_quantity == Measure(Decimal(1), "one")
    assert primary.resource_conforms_to == "https://www.wikidata.org/wiki/Q11442"
    assert reciprocal.resource_quantity == Measure(Decimal(30), "one")
    # The Place is not ValueFlows: it survives verbatim, under its AS names.
    assert proposal.extra == {
        "location": {"type": "Place", "longitude": Decimal("-71.0"), "latitude": Decimal("25.0")}
    }


def test_fep0837_offer_and_accept_carry_agreements() -> None:
    offered = vf_object(normalize(fixture("fep0837-offer-agreement.json")))
    accepted = vf_object(normalize(fixture("fep0837-accept-agreement.json")))
    assert isinstance(offered, Agreement)
    assert isinstance(accepted, Agreement)
    assert offered.id is None
    for agreement in (offered, accepted):
        primary = agreement.stipulates[0]
        assert isinstance(primary, Commitment)
        assert primary.satisfies[0].endswith("#primary")
        assert primary.action is None  # taken from the satisfied intent
        assert primary.resource_quantity == Measure(Decimal(1), "one")
    # FEP-0837's Accept example misspells stipulates ("stiplulates"); it is read anyway.
    stipulated = accepted.stipulates[0]
    assert isinstance(stipulated, Commitment)
    assert stipulated.id is not None
    assert stipulated.id.endswith("#primary")
    assert accepted.url == (
        {
            "type": "Link",
            "href": "https://pay.example/invoices/7f1f0c81-0108-4c91-9cb1-d38ebccc3aa1",
            "rel": "payment",
        },
    )


def test_fep0837_actor_with_payment_link() -> None:
    actor = read(fixture("fep0837-actor-payment-link.json"))
    assert isinstance(actor, Person)
    assert actor.inbox == "https://market.example/users/alice"
    assert actor.extra["attachment"]["rel"] == ["payment", VF + "Proposal"]


def test_fep3264_plan_with_processes() -> None:
    plan = read(fixture("fep3264-plan.json"))
    assert isinstance(plan, Plan)
    pick, cider = plan.plan_includes
    assert isinstance(pick, Process)
    assert isinstance(cider, Process)
    assert len(pick.has_input) == 3
    for flow in pick.has_input:
        assert not isinstance(flow, str)  # read as objects, not left as IRIs
        assert flow.action == "work"
    produce = pick.has_output[0]
    assert isinstance(produce, Commitment)
    # "pound" is not an OM2 id; FEP-3264 means the avoirdupois pound.
    assert produce.resource_quantity == Measure(Decimal(500), "poundAvoirdupois")
    use = cider.has_input[1]
    assert isinstance(use, Commitment)
    assert use.action == "use"
    assert use.effort_quantity == Measure(Decimal(7), "hour")


def test_fep3264_event_reads_fulfills_its_context_left_undefined() -> None:
    event = vf_object(normalize(fixture("fep3264-create-event.json")))
    assert isinstance(event, EconomicEvent)
    assert event.fulfills == (
        "https://project.example/inputs/ddde9d6f-6f3b-4770-a966-3a18ef006931#cider4",
    )
    assert event.effort_quantity == Measure(Decimal("6.5"), "hour")
    assert event.finished is True


def test_fepc5a1_todo_flow() -> None:
    todo = vf_object(normalize(fixture("fepc5a1-create-commitment.json")))
    done = vf_object(normalize(fixture("fepc5a1-create-event.json")))
    closed = vf_object(normalize(fixture("fepc5a1-update-commitment.json")))
    assert isinstance(todo, Commitment)
    assert todo.action is None
    assert todo.effort_quantity == Measure(Decimal(2), "hour")
    assert isinstance(done, EconomicEvent)
    assert done.action is None
    assert done.fulfills == (todo.id,)
    assert isinstance(closed, Commitment)
    assert closed.finished


@pytest.mark.parametrize(
    "name", ["fep0837-reject.json", "fep3264-accept.json", "fepc5a1-reject.json"]
)
def test_plain_activities_keep_their_as_names(name: str) -> None:
    normalized = normalize(fixture(name))
    assert set(normalized) <= {"type", "id", "actor", "object", "content", "to"}
    assert normalized["object"].startswith("https://")


@pytest.mark.parametrize("name", VF_FIXTURES)
def test_fep_examples_are_the_same_objects_as_our_written_form(name: str) -> None:
    obj = vf_object(normalize(fixture(name)))
    assert read(write(obj, "https://oce.example")) == obj


# -- other accepted spellings ------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fully_expanded_json_ld_reads_the_same(name: str) -> None:
    document = fixture(name)
    (expanded,) = _expand_with_pyld(document)
    assert normalize(expanded) == normalize(document)


@pytest.mark.parametrize("legacy", ["https://w3id.org/valueflows#", "https://w3id.org/valueflows/"])
@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_legacy_namespaces_read_the_same(name: str, legacy: str) -> None:
    document = fixture(name)
    older = dict(document, **{"@context": replace_everywhere(document["@context"], VF, legacy)})
    assert normalize(older) == normalize(document)


def test_valueflows_prefixed_types_with_and_without_the_prefix_defined() -> None:
    document = fixture("fep0837-proposal-minimal.json")
    expected = read(document)
    defined = copy.deepcopy(document)
    defined["@context"][1]["ValueFlows"] = "https://w3id.org/valueflows#"
    defined["type"] = "ValueFlows:Proposal"
    defined["publishes"]["type"] = "ValueFlows:Intent"
    assert read(defined) == expected
    undefined = copy.deepcopy(document)
    undefined["type"] = "ValueFlows:Proposal"
    undefined["publishes"]["type"] = "vf:Intent"
    assert read(undefined) == expected


@pytest.mark.parametrize(
    ("kebab", "camel"),
    [
        ("deliver-service", "deliverService"),
        ("transfer-all-rights", "transferAllRights"),
        ("transfer-custody", "transferCustody"),
        ("vf:transfer", "transfer"),
        (VF + "produce", "produce"),
    ],
)
def test_action_spellings(kebab: str, camel: str) -> None:
    # Under the FEP's literal "action" and under oce's @vocab-typed one.
    document = fixture("fep0837-proposal-minimal.json")
    document["publishes"]["action"] = kebab
    assert normalize(document)["publishes"]["action"] == camel
    ours = write(read(fixture("fep0837-proposal-minimal.json")), "https://oce.example")
    ours["publishes"]["action"] = kebab
    assert normalize(ours)["publishes"]["action"] == camel


@pytest.mark.parametrize(
    "unit",
    ["one", "om2:one", "http://www.ontology-of-units-of-measure.org/resource/om-2/one"],
)
@pytest.mark.parametrize("value", ["1", 1, Decimal("1.0"), "1.000", "1e0"])
def test_units_and_numbers_in_any_accepted_spelling(unit: str, value: Any) -> None:
    document = fixture("fep0837-proposal-minimal.json")
    document["publishes"]["resourceQuantity"] = {"hasUnit": unit, "hasNumericalValue": value}
    quantity = normalize(document)["publishes"]["resourceQuantity"]
    assert quantity == {"hasUnit": "one", "hasNumericalValue": "1"}


def test_vf_hasunit_and_om2_hasunit_are_the_same() -> None:
    ours = write(read(fixture("fep0837-proposal-minimal.json")), "https://oce.example")
    assert normalize(ours) == normalize(fixture("fep0837-proposal-minimal.json"))


@pytest.mark.parametrize("public", [PUBLIC, "as:Public", "Public"])
def test_public_in_every_spelling(public: str) -> None:
    document = fixture("fep0837-reject.json")
    document["to"] = [public, "https://social.example/users/bob"]
    document["cc"] = public
    normalized = normalize(document)
    assert normalized["to"] == [PUBLIC, "https://social.example/users/bob"]
    assert normalized["cc"] == PUBLIC


def test_http_activitystreams_context_url() -> None:
    document = fixture("fep0837-reject.json")
    document["@context"] = "http://www.w3.org/ns/activitystreams"
    assert normalize(document) == normalize(fixture("fep0837-reject.json"))


def test_another_instances_oce_context_is_ours() -> None:
    obj = read(fixture("fep0837-proposal-full.json"))
    elsewhere = write(obj, "https://peer.example:8443")
    assert elsewhere["@context"][1] == "https://peer.example:8443/ns/oce-v1.jsonld"
    assert read(elsewhere) == obj


def test_unknown_properties_survive_by_as_name_or_iri() -> None:
    document = fixture("fep0837-reject.json")
    document["@context"] = [
        "https://www.w3.org/ns/activitystreams",
        {
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "blurhash": "toot:blurhash",
        },
    ]
    document["sensitive"] = False
    document["blurhash"] = "UBL_:rOpGG-;"
    document["https://example.org/ns#rank"] = 3
    document["undefinedTerm"] = "kept"
    normalized = normalize(document)
    assert normalized["as:sensitive"] is False
    assert normalized["http://joinmastodon.org/ns#blurhash"] == "UBL_:rOpGG-;"
    assert normalized["https://example.org/ns#rank"] == 3
    assert normalized["undefinedTerm"] == "kept"


def test_language_maps_go_through_pyld_and_compact_to_maps() -> None:
    document = fixture("fep0837-reject.json")
    document["contentMap"] = {"en": "Not available", "fr": "Pas disponible"}
    del document["content"]
    assert normalize(document)["contentMap"] == {"en": "Not available", "fr": "Pas disponible"}


def test_data_integrity_proof_goes_through_pyld() -> None:
    event = vf_object(normalize(fixture("fep3264-create-event.json")))
    document = write(event, "https://oce.example")
    document["@context"].insert(1, "https://w3id.org/security/data-integrity/v1")
    document["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://project.example/actors/bob#main-key",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp",
        "created": "2024-10-21T14:16:41Z",
    }
    normalized = normalize(document)
    assert normalized["proof"] == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://project.example/actors/bob#main-key",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp",
        "created": "2024-10-21T14:16:41Z",
    }
    parsed = parse_object(normalized)
    assert dataclasses.replace(parsed, extra={}) == event


def test_parse_object_accepts_hand_written_canonical_json() -> None:
    intent = parse_object(
        {
            "type": "Intent",
            "id": "https://a.example/i",
            "action": "deliver-service",
            "resourceQuantity": {"hasUnit": "om2:hour", "hasNumericalValue": 2},
        }
    )
    assert isinstance(intent, Intent)
    assert intent.action == "deliverService"
    assert to_json(intent)["resourceQuantity"] == {"hasUnit": "hour", "hasNumericalValue": "2"}


def test_fixtures_are_the_documented_set() -> None:
    assert len(FIXTURE_FILES) == 17
    assert Path(FIXTURES / "README.md").exists()
