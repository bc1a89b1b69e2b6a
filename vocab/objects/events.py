"""Economic events and claims (VF EconomicEvent, Claim; FEP-3264, FEP-c5a1).

Rules, besides the flow rules of :mod:`vocab.objects.flows`:

* an EconomicEvent has an ``id``: events are immutable records, corrected only by a
  new event that ``corrects`` them, so they must be nameable;
* its ``action`` may be absent only when it ``fulfills`` a commitment or
  ``satisfies`` an intent, whose action it then has (FEP-c5a1 events carry none);
* an event whose action changes an inventoried resource's quantities (its
  ``accountingEffect`` or ``onhandEffect`` is not ``notApplicable``) states
  ``resourceQuantity``: the ledger cannot apply an effect without an amount;
* quantities are positive, except on a correcting event, which may be negative;
* an event realizes an agreement either as a primary or as a reciprocal flow;
* a Claim has an ``id`` and a known ``action``.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from vocab.errors import InvalidObject
from vocab.objects.base import ASObject, register
from vocab.objects.fields import ACTION, BOOL, DATETIME, IRI, IRIS, MEASURE, TEXT, TEXTS, prop
from vocab.objects.flows import check_flow, check_times
from vocab.quantity import Measure

__all__ = ["Claim", "EconomicEvent"]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EconomicEvent(ASObject):
    """An observed economic flow (VF EconomicEvent)."""

    TYPE: ClassVar[str] = "EconomicEvent"

    action: str | None = prop("action", ACTION)
    provider: str | None = prop("provider", IRI)
    receiver: str | None = prop("receiver", IRI)
    resource_conforms_to: str | None = prop("resourceConformsTo", IRI)
    resource_classified_as: tuple[str, ...] = prop("resourceClassifiedAs", TEXTS)
    resource_inventoried_as: str | None = prop("resourceInventoriedAs", IRI)
    to_resource_inventoried_as: str | None = prop("toResourceInventoriedAs", IRI)
    resource_quantity: Measure | None = prop("resourceQuantity", MEASURE)
    effort_quantity: Measure | None = prop("effortQuantity", MEASURE)
    has_point_in_time: datetime | None = prop("hasPointInTime", DATETIME)
    has_beginning: datetime | None = prop("hasBeginning", DATETIME)
    has_end: datetime | None = prop("hasEnd", DATETIME)
    input_of: str | None = prop("inputOf", IRI)
    output_of: str | None = prop("outputOf", IRI)
    fulfills: tuple[str, ...] = prop("fulfills", IRIS)
    satisfies: tuple[str, ...] = prop("satisfies", IRIS)
    realization_of: str | None = prop("realizationOf", IRI)
    reciprocal_realization_of: str | None = prop("reciprocalRealizationOf", IRI)
    corrects: str | None = prop("corrects", IRI)
    settles: tuple[str, ...] = prop("settles", IRIS)
    to_location: str | None = prop("toLocation", IRI)
    state: str | None = prop("state", TEXT)
    finished: bool = prop("finished", BOOL, default=False)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        if self.action is None and not (self.fulfills or self.satisfies):
            raise InvalidObject(
                "/action", "missing: only an event that fulfils a commitment may leave it out"
            )
        action = check_flow(
            self.action,
            self.resource_quantity,
            self.effort_quantity,
            input_of=self.input_of,
            output_of=self.output_of,
            allow_negative=self.corrects is not None,
        )
        if action is not None and action.changes_quantities and self.resource_quantity is None:
            raise InvalidObject(
                "/resourceQuantity",
                f"missing: a {action.name} event changes resource quantities "
                f"(accountingEffect {action.accounting_effect}, "
                f"onhandEffect {action.onhand_effect})",
            )
        if self.realization_of is not None and self.reciprocal_realization_of is not None:
            raise InvalidObject(
                "/reciprocalRealizationOf",
                "an event realizes an agreement as primary or reciprocal flow, not both",
            )
        check_times(self.has_beginning, self.has_end)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Claim(ASObject):
    """A claim for future events in return for an event that occurred (VF Claim)."""

    TYPE: ClassVar[str] = "Claim"

    action: str = prop("action", ACTION, required=True)
    provider: str | None = prop("provider", IRI)
    receiver: str | None = prop("receiver", IRI)
    resource_conforms_to: str | None = prop("resourceConformsTo", IRI)
    resource_classified_as: tuple[str, ...] = prop("resourceClassifiedAs", TEXTS)
    resource_quantity: Measure | None = prop("resourceQuantity", MEASURE)
    effort_quantity: Measure | None = prop("effortQuantity", MEASURE)
    triggered_by: str | None = prop("triggeredBy", IRI)
    due: datetime | None = prop("due", DATETIME)
    finished: bool = prop("finished", BOOL, default=False)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        check_flow(self.action, self.resource_quantity, self.effort_quantity)
