"""Hypothesis strategies for valid typed objects of every class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal, TypeVar

from hypothesis import strategies as st

from vocab import (
    ACTIONS,
    Agreement,
    Claim,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Intent,
    Measure,
    Organization,
    Person,
    Plan,
    Process,
    Proposal,
    ResourceSpecification,
)
from vocab.namespaces import PUBLIC

T = TypeVar("T")

UNITS = ["one", "hour", "kilogram", "gram", "litre", "metre", "day", "piece", "gallon-US"]
ORIGINS = ["https://a.example", "https://b.example", "http://c.example:8080"]

segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@st.composite
def iris(draw: st.DrawFn) -> str:
    origin = draw(st.sampled_from(ORIGINS))
    path = "/".join(draw(st.lists(segments, min_size=1, max_size=3)))
    fragment = draw(st.one_of(st.just(""), segments.map(lambda s: "#" + s)))
    return f"{origin}/{path}{fragment}"


#: Characters any text may hold: the JSON reader refuses NUL and lone surrogates.
storable = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
texts = st.text(storable, max_size=40)
optional_text = st.none() | texts
optional_iri = st.none() | iris()
iri_tuples = st.lists(iris(), max_size=3).map(tuple)
audiences = st.lists(iris() | st.just(PUBLIC), max_size=3, unique=True).map(tuple)
tags = st.lists(st.text(storable, min_size=1, max_size=10), max_size=3).map(tuple)

moments = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=3))]
    ),
)
optional_moment = st.none() | moments

amounts = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("1000000000"), places=6, allow_nan=False
)


def measures(amount: st.SearchStrategy[Decimal] = amounts) -> st.SearchStrategy[Measure]:
    return st.builds(Measure, amount, st.sampled_from(UNITS))


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


# Extra properties a peer might send: full-IRI keys oce has no term for.
extras = st.dictionaries(
    st.sampled_from(["https://example.org/ns#note", "https://example.org/ns#rank"]),
    st.text(storable, max_size=10) | st.integers(-1000, 1000),
    max_size=2,
)


def common(draw: st.DrawFn, *, id_required: bool = True) -> dict[str, Any]:
    return {
        "id": draw(iris()) if id_required else draw(optional_iri),
        "attributed_to": draw(optional_iri),
        "name": draw(optional_text),
        "summary": draw(optional_text),
        "content": draw(optional_text),
        "published": draw(optional_moment),
        "updated": draw(optional_moment),
        "to": draw(audiences),
        "cc": draw(audiences),
        "context": draw(optional_iri),
        "url": draw(st.lists(iris(), max_size=2).map(tuple)),
        "other_types": draw(st.sampled_from([(), ("Note",), ("https://example.org/ns#Thing",)])),
        "extra": draw(extras),
    }


def ordered_times(draw: st.DrawFn) -> tuple[datetime | None, datetime | None]:
    begin, end = draw(optional_moment), draw(optional_moment)
    if begin is not None and end is not None and end < begin:
        begin, end = end, begin
    return begin, end


def flow_quantities(draw: st.DrawFn, action: str, *, need: bool = False) -> dict[str, Any]:
    kind = ACTIONS[action].event_quantity
    resource = draw(measures()) if kind != "effort" else None
    effort = draw(measures()) if kind != "resource" else None
    if not need:
        if kind == "both":
            resource, effort = draw(
                st.sampled_from([(resource, None), (None, effort), (resource, effort)])
            )
        elif draw(st.booleans()):
            resource = effort = None
    return {"resource_quantity": resource, "effort_quantity": effort}


def process_side(draw: st.DrawFn, action: str) -> dict[str, Any]:
    row = ACTIONS[action]
    side = draw(st.sampled_from(["none", "input", "output"]))
    if side == "input" and row.can_be_input:
        return {"input_of": draw(iris())}
    if side == "output" and row.can_be_output:
        return {"output_of": draw(iris())}
    return {}


actions = st.sampled_from(sorted(ACTIONS))


@st.composite
def intents(draw: st.DrawFn, /, *, need_quantity: bool = False, **fixed: Any) -> Intent:
    action = draw(actions)
    begin, end = ordered_times(draw)
    quantities = flow_quantities(draw, action, need=need_quantity)
    unit = quantities["resource_quantity"].unit if quantities["resource_quantity"] else None
    available = minimum = None
    if unit is not None:
        available = draw(optional(st.builds(Measure, amounts | st.just(Decimal(0)), st.just(unit))))
        minimum = draw(optional(st.builds(Measure, amounts, st.just(unit))))
    values = {
        **common(draw),
        "action": action,
        "provider": draw(optional_iri),
        "receiver": draw(optional_iri),
        "resource_conforms_to": draw(optional_iri),
        "resource_classified_as": draw(tags),
        "resource_inventoried_as": draw(optional_iri),
        **quantities,
        "available_quantity": available,
        "minimum_quantity": minimum,
        "has_point_in_time": draw(optional_moment),
        "has_beginning": begin,
        "has_end": end,
        "due": draw(optional_moment),
        "finished": draw(st.booleans()),
        **process_side(draw, action),
        "planned_within": draw(optional_iri),
        "stage": draw(optional_iri),
        "state": draw(optional_text),
        "note": draw(optional_text),
    }
    values.update(fixed)
    return Intent(**values)


@st.composite
def proposals(draw: st.DrawFn) -> Proposal:
    proposer = draw(iris())
    purpose: Literal["offer", "request"] = draw(st.sampled_from(["offer", "request"]))
    primary_role, reciprocal_role = (
        ("provider", "receiver") if purpose == "offer" else ("receiver", "provider")
    )
    publishes = draw(
        st.lists(
            intents(need_quantity=True, **{primary_role: proposer}) | iris(), min_size=1, max_size=2
        )
    )
    reciprocal = draw(
        st.lists(intents(need_quantity=True, **{reciprocal_role: proposer}) | iris(), max_size=2)
    )
    begin, end = ordered_times(draw)
    return Proposal(
        **{**common(draw), "attributed_to": proposer},
        purpose=purpose,
        publishes=tuple(publishes),
        reciprocal=tuple(reciprocal),
        unit_based=draw(st.booleans()),
        has_beginning=begin,
        has_end=end,
        proposed_to=draw(iri_tuples),
        eligible_location=draw(optional_iri),
        note=draw(optional_text),
    )


@st.composite
def commitments(draw: st.DrawFn, /, action: str | None = "draw", **fixed: Any) -> Commitment:
    if action == "draw":
        action = draw(st.none() | actions)
    begin, end = ordered_times(draw)
    quantities = flow_quantities(draw, action) if action else {}
    if not action and draw(st.booleans()):
        quantities = {"resource_quantity": draw(measures())}
    fulfilled = None
    committed = quantities.get("resource_quantity") or quantities.get("effort_quantity")
    if committed is not None and draw(st.booleans()):
        fulfilled = Measure(committed.value / 2, committed.unit)
    values = {
        **common(draw, id_required=False),
        "action": action,
        "provider": draw(optional_iri),
        "receiver": draw(optional_iri),
        "resource_conforms_to": draw(optional_iri),
        "resource_classified_as": draw(tags),
        "resource_inventoried_as": draw(optional_iri),
        **quantities,
        "has_point_in_time": draw(optional_moment),
        "has_beginning": begin,
        "has_end": end,
        "due": draw(optional_moment),
        "finished": draw(st.booleans()),
        **(process_side(draw, action) if action else {}),
        "satisfies": draw(iri_tuples),
        "independent_demand_of": draw(optional_iri),
        "planned_within": draw(optional_iri),
        "stage": draw(optional_iri),
        "state": draw(optional_text),
        "note": draw(optional_text),
        "fulfilled_quantity": fulfilled,
    }
    values.update(fixed)
    return Commitment(**values)


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    agreement_id = draw(optional_iri)
    linked = agreement_id if draw(st.booleans()) else None
    return Agreement(
        **{**common(draw, id_required=False), "id": agreement_id},
        stipulates=tuple(
            draw(st.lists(commitments(clause_of=linked) | iris(), min_size=1, max_size=2))
        ),
        stipulates_reciprocal=tuple(
            draw(st.lists(commitments(reciprocal_clause_of=linked) | iris(), max_size=2))
        ),
        note=draw(optional_text),
    )


@st.composite
def events(draw: st.DrawFn) -> EconomicEvent:
    action = draw(st.none() | actions)
    fulfills = draw(iri_tuples)
    if action is None and not fulfills:
        fulfills = (draw(iris()),)
    quantities = (
        flow_quantities(draw, action, need=ACTIONS[action].changes_quantities) if action else {}
    )
    begin, end = ordered_times(draw)
    realization = draw(st.sampled_from(["none", "primary", "reciprocal"]))
    return EconomicEvent(
        **common(draw),
        action=action,
        provider=draw(optional_iri),
        receiver=draw(optional_iri),
        resource_conforms_to=draw(optional_iri),
        resource_classified_as=draw(tags),
        resource_inventoried_as=draw(optional_iri),
        to_resource_inventoried_as=draw(optional_iri),
        **quantities,
        has_point_in_time=draw(optional_moment),
        has_beginning=begin,
        has_end=end,
        **(process_side(draw, action) if action else {}),
        fulfills=fulfills,
        satisfies=draw(iri_tuples),
        realization_of=draw(iris()) if realization == "primary" else None,
        reciprocal_realization_of=draw(iris()) if realization == "reciprocal" else None,
        corrects=draw(optional_iri),
        settles=draw(iri_tuples),
        to_location=draw(optional_iri),
        state=draw(optional_text),
        finished=draw(st.booleans()),
        note=draw(optional_text),
    )


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    action = draw(actions)
    return Claim(
        **common(draw),
        action=action,
        provider=draw(optional_iri),
        receiver=draw(optional_iri),
        resource_conforms_to=draw(optional_iri),
        resource_classified_as=draw(tags),
        **flow_quantities(draw, action),
        triggered_by=draw(optional_iri),
        due=draw(optional_moment),
        finished=draw(st.booleans()),
        note=draw(optional_text),
    )


@st.composite
def resources(draw: st.DrawFn) -> EconomicResource:
    unit = draw(st.sampled_from(UNITS))
    signed = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False)
    return EconomicResource(
        **common(draw),
        conforms_to=draw(optional_iri),
        classified_as=draw(tags),
        tracking_identifier=draw(optional_text),
        accounting_quantity=draw(optional(st.builds(Measure, signed, st.just(unit)))),
        onhand_quantity=draw(optional(st.builds(Measure, signed, st.just(unit)))),
        primary_accountable=draw(optional_iri),
        current_location=draw(optional_iri),
        contained_in=draw(optional_iri),
        stage=draw(optional_iri),
        state=draw(optional_text),
        unit_of_effort=draw(st.none() | st.sampled_from(UNITS)),
        note=draw(optional_text),
    )


@st.composite
def specifications(draw: st.DrawFn) -> ResourceSpecification:
    return ResourceSpecification(
        **common(draw),
        default_unit_of_resource=draw(st.none() | st.sampled_from(UNITS)),
        default_unit_of_effort=draw(st.none() | st.sampled_from(UNITS)),
        resource_classified_as=draw(tags),
        medium_of_exchange=draw(st.booleans()),
        substitutable=draw(st.booleans()),
        note=draw(optional_text),
    )


def _side_flow(draw: st.DrawFn, process_id: str, side: str) -> Commitment | str:
    if draw(st.booleans()):
        return draw(iris())
    candidates = sorted(
        a
        for a, row in ACTIONS.items()
        if (row.can_be_input if side == "input" else row.can_be_output)
    )
    own = process_id if draw(st.booleans()) else None
    return draw(
        commitments(
            action=draw(st.sampled_from(candidates)),
            input_of=own if side == "input" else None,
            output_of=own if side == "output" else None,
        )
    )


@st.composite
def processes(draw: st.DrawFn, /, **fixed: Any) -> Process:
    values = {**common(draw), "name": draw(texts.filter(bool))}
    begin, end = ordered_times(draw)
    inputs = tuple(_side_flow(draw, values["id"], "input") for _ in range(draw(st.integers(0, 2))))
    outputs = tuple(
        _side_flow(draw, values["id"], "output") for _ in range(draw(st.integers(0, 2)))
    )
    values.update(
        has_beginning=begin,
        has_end=end,
        finished=draw(st.booleans()),
        has_input=inputs,
        has_output=outputs,
        based_on=draw(optional_iri),
        in_scope_of=draw(optional_iri),
        planned_within=draw(optional_iri),
        classified_as=draw(tags),
        note=draw(optional_text),
    )
    values.update(fixed)
    return Process(**values)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    values = {**common(draw), "name": draw(texts.filter(bool))}
    inside = st.one_of(
        processes(planned_within=values["id"]), processes(planned_within=None), iris()
    )
    return Plan(
        **values,
        due=draw(optional_moment),
        plan_includes=tuple(draw(st.lists(inside, max_size=2))),
        has_independent_demand=draw(iri_tuples),
        note=draw(optional_text),
    )


def _agent(cls: Callable[..., Any]) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> Any:
        return cls(
            **common(draw),
            preferred_username=draw(optional_text),
            inbox=draw(optional_iri),
            outbox=draw(optional_iri),
            followers=draw(optional_iri),
            following=draw(optional_iri),
            agreements=draw(optional_iri),
            commitments=draw(optional_iri),
            resources=draw(optional_iri),
        )

    return build()


persons = _agent(Person)
organizations = _agent(Organization)

ALL = {
    "Proposal": proposals(),
    "Intent": intents(),
    "Agreement": agreements(),
    "Commitment": commitments(),
    "EconomicEvent": events(),
    "EconomicResource": resources(),
    "ResourceSpecification": specifications(),
    "Process": processes(),
    "Plan": plans(),
    "Claim": claims(),
    "Person": persons,
    "Organization": organizations,
}
any_object = st.one_of(*ALL.values())
