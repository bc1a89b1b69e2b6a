"""From a form's fields to the activity the outbox takes.

The app posts through :func:`instance.outbox.c2s.post_to_outbox`, the same builders a
client's JSON goes through: these functions only turn typed-in text into that JSON,
refusing (with the form field to show the refusal next to) what cannot be read.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from instance.problems import Problem
from instance.store.models import Commitment
from vocab import canonical_decimal
from vocab.units import UnitInfo, all_units, is_unit, unit_info

__all__ = [
    "FORM_FIELDS",
    "correction",
    "find_unit",
    "fulfilment",
    "offer_for_proposal",
    "parse_amount",
    "proposal",
    "work_event",
]

#: Most digits an amount typed in a form may have.
MAX_DIGITS = 30
ACTIONS = ("transfer", "deliverService", "work", "use")

#: Where a problem about a document property is shown on the forms.
FORM_FIELDS = {
    "resourceQuantity": "quantity",
    "effortQuantity": "quantity",
    "availableQuantity": "available",
    "hasNumericalValue": "quantity",
    "hasUnit": "unit",
    "resourceConformsTo": "kind",
    "name": "name",
    "purpose": "purpose",
    "object": "form",
    "actor": "form",
    "corrects": "quantity",
    "fulfills": "commitment",
    "inScopeOf": "organization",
}


def parse_amount(text: str, field: str = "quantity", *, positive: bool = True) -> Decimal:
    """An exact decimal typed by a person (``12.5``, ``12,5``); 400 naming the field."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise Problem(400, f"{text!r} is not a number", field=field) from None
    if not value.is_finite() or len(value.as_tuple().digits) > MAX_DIGITS:
        raise Problem(400, f"{text!r} is not a number we can keep exactly", field=field)
    if positive and value <= 0:
        raise Problem(400, "the quantity must be more than zero", field=field)
    return value


def find_unit(text: str, field: str = "unit") -> UnitInfo:
    """The OM2 unit a person means: its id, its symbol (``kg``) or its name (``kilogram``)."""
    wanted = text.strip()
    if not wanted:
        raise Problem(
            400, "choose a unit (a name such as kilogram, or a symbol such as kg)", field=field
        )
    if is_unit(wanted):
        return unit_info(wanted)
    units = all_units()
    lower = wanted.lower()
    for found in (
        [u for u in units if u.symbol == wanted],
        [u for u in units if u.label.lower() == lower],
        [u for u in units if u.symbol.lower() == lower],
    ):
        if found:
            return found[0]
    raise Problem(400, f"{wanted!r} is not a unit of the OM2 list", field=field)


def _measure(value: Decimal, unit: str) -> dict[str, str]:
    return {"hasUnit": unit, "hasNumericalValue": canonical_decimal(value)}


def _intent(action: str, kind: str, quantity: Decimal, unit: str) -> dict[str, Any]:
    intent: dict[str, Any] = {"type": "Intent", "action": action}
    if kind:
        intent["resourceConformsTo"] = kind
    key = "effortQuantity" if action == "work" else "resourceQuantity"
    intent[key] = _measure(quantity, unit)
    return intent


def proposal(fields: dict[str, str], kind: str, return_kind: str) -> dict[str, Any]:
    """A Proposal (offer or request) from the publish form."""
    purpose = fields.get("purpose", "")
    if purpose not in ("offer", "request"):
        raise Problem(400, "choose offer or request", field="purpose")
    name = fields.get("name", "").strip()
    if not name:
        raise Problem(400, "give it a name people will recognise", field="name")
    action = fields.get("action", "transfer")
    if action not in ACTIONS:
        raise Problem(400, f"choose one of {', '.join(ACTIONS)}", field="action")
    unit = find_unit(fields.get("unit", "")).id
    primary = _intent(action, kind, parse_amount(fields.get("quantity", "")), unit)
    if available := fields.get("available", "").strip():
        primary["availableQuantity"] = _measure(parse_amount(available, "available"), unit)
    document: dict[str, Any] = {
        "type": "Proposal",
        "purpose": purpose,
        "name": name,
        "unitBased": bool(fields.get("unit_based")),
        "publishes": primary,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    if content := fields.get("content", "").strip():
        document["content"] = content
    if fields.get("return_quantity", "").strip():
        return_unit = find_unit(fields.get("return_unit", ""), "return_unit").id
        document["reciprocal"] = _intent(
            "transfer",
            return_kind,
            parse_amount(fields["return_quantity"], "return_quantity"),
            return_unit,
        )
    return document


def offer_for_proposal(published: dict[str, Any], quantity: Decimal) -> dict[str, Any]:
    """The Offer of an Agreement that answers ``published`` (a Proposal as served) for
    ``quantity`` of its primary intent; the reciprocal is scaled when unit-based."""
    primary = _first(published.get("publishes"))
    if primary is None:
        raise Problem(422, "this proposal publishes no intent to answer", field="proposal")
    key = "effortQuantity" if "effortQuantity" in primary else "resourceQuantity"
    measure = primary.get(key) or {}
    unit = str(measure.get("hasUnit", "one"))
    stipulates = {
        "type": "Commitment",
        "satisfies": primary.get("id"),
        key: _measure(quantity, unit),
    }
    agreement: dict[str, Any] = {"type": "Agreement", "stipulates": stipulates}
    reciprocal = _first(published.get("reciprocal"))
    if reciprocal is not None:
        rkey = "effortQuantity" if "effortQuantity" in reciprocal else "resourceQuantity"
        rmeasure = reciprocal.get(rkey) or {}
        amount = parse_amount(str(rmeasure.get("hasNumericalValue", "")), "proposal")
        if published.get("unitBased"):
            base = parse_amount(str(measure.get("hasNumericalValue", "")), "proposal")
            amount = amount * quantity / base
        agreement["stipulatesReciprocal"] = {
            "type": "Commitment",
            "satisfies": reciprocal.get("id"),
            rkey: _measure(amount, str(rmeasure.get("hasUnit", "one"))),
        }
    return {"type": "Offer", "object": agreement}


def _first(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def fulfilment(commitment: Commitment, quantity: Decimal, agreement: str | None) -> dict[str, Any]:
    """The EconomicEvent that fulfils (part of) one of my commitments: a delivery or a
    payment. The ledger finds the resource it draws on (the account of that kind)."""
    event: dict[str, Any] = {
        "type": "EconomicEvent",
        "action": commitment.action,
        "receiver": commitment.receiver,
        "fulfills": commitment.uri,
    }
    key = "effortQuantity" if commitment.effort else "resourceQuantity"
    event[key] = _measure(quantity, commitment.unit)
    if commitment.resource_conforms_to:
        event["resourceConformsTo"] = commitment.resource_conforms_to
    if agreement:
        event["reciprocalRealizationOf" if commitment.reciprocal else "realizationOf"] = agreement
    return event


#: Hours of work logged at once, at most (a year of days and nights).
MAX_HOURS = Decimal(8784)


def work_event(
    me: str,
    hours: Decimal,
    *,
    commitment: Commitment | None = None,
    organization: str | None = None,
    kind: str = "",
    note: str = "",
) -> dict[str, Any]:
    """A ``work`` event of ``hours``: for the receiver of the commitment it fulfils, else
    the organization it is in scope of, else the worker's own record."""
    if hours > MAX_HOURS:
        raise Problem(400, f"log at most {MAX_HOURS} hours at once", field="hours")
    event: dict[str, Any] = {
        "type": "EconomicEvent",
        "action": "work",
        "provider": me,
        "receiver": me,
        "effortQuantity": _measure(hours, "hour"),
    }
    if commitment is not None:
        event["fulfills"] = commitment.uri
        event["receiver"] = commitment.receiver
        if commitment.resource_conforms_to and not kind:
            kind = commitment.resource_conforms_to
    if organization:
        event["inScopeOf"] = organization
        if commitment is None:
            event["receiver"] = organization
    if kind:
        event["resourceConformsTo"] = kind
    if note:
        event["note"] = note
    return event


def correction(original: Any, amount: Decimal) -> dict[str, Any]:
    """The event that backs ``amount`` out of ``original`` (an EconomicEvent row): the
    same action, parties, kind and resource, the quantity negative, ``corrects`` it."""
    event: dict[str, Any] = {
        "type": "EconomicEvent",
        "action": original.action,
        "provider": original.provider,
        "receiver": original.receiver,
        "corrects": original.uri,
    }
    if original.resource_quantity is not None:
        event["resourceQuantity"] = _measure(-amount, original.resource_unit or "one")
    if original.effort_quantity is not None:
        event["effortQuantity"] = _measure(-amount, original.effort_unit or "hour")
    if original.resource_conforms_to:
        event["resourceConformsTo"] = original.resource_conforms_to
    if original.resource_inventoried_as:
        event["resourceInventoriedAs"] = original.resource_inventoried_as
    return event
