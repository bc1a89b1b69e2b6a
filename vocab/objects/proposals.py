"""Proposals and their intents (VF Proposal, Intent; FEP-0837).

Rules, besides the flow rules of :mod:`vocab.objects.flows`:

* an Intent has an ``id`` (FEP-0837: commitments ``satisfies`` it by id) and a known
  ``action``; ``availableQuantity`` may be zero (sold out) but not negative;
  ``minimumQuantity`` is positive; both use the unit of ``resourceQuantity``;
* a Proposal has an ``id``, an ``attributedTo`` (whom to send the Offer to),
  ``purpose`` ``offer`` or ``request`` and at least one primary intent in
  ``publishes`` (all REQUIRED by FEP-0837); ``unitBased`` defaults to false (VF) and
  is always written (FEP-0837 requires it);
* every embedded intent of a proposal states the quantity its action counts
  (FEP-0837 requires ``resourceQuantity``; for effort actions it is
  ``effortQuantity``), since agreements are checked against those amounts;
* the proposer is on the right side: in an offer it provides the primary intents and
  receives the reciprocal ones, in a request the reverse, so an intent that names a
  ``provider`` or ``receiver`` there must name the proposer.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from vocab.errors import InvalidObject, UnitMismatch
from vocab.namespaces import vf_local_name
from vocab.objects.base import ASObject, embedded, register
from vocab.objects.fields import (
    ACTION,
    BOOL,
    DATETIME,
    IRI,
    IRIS,
    MEASURE,
    TEXT,
    TEXTS,
    Codec,
    one,
    prop,
)
from vocab.objects.flows import check_amount, check_flow, check_times
from vocab.quantity import Measure

__all__ = ["Intent", "Proposal", "Purpose"]

Purpose = Literal["offer", "request"]


def _purpose(value: Any, path: str) -> Purpose:
    value = one(value, path)
    local = vf_local_name(value) if isinstance(value, str) else None
    word = local or value
    if word == "offer":
        return "offer"
    if word == "request":
        return "request"
    raise InvalidObject(path, f"{value!r} is not a proposal purpose (offer or request)")


PURPOSE = Codec("purpose", _purpose, lambda v: v)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Intent(ASObject):
    """A desired or offered flow, usually with one agent known (VF Intent)."""

    TYPE: ClassVar[str] = "Intent"

    action: str = prop("action", ACTION, required=True)
    provider: str | None = prop("provider", IRI)
    receiver: str | None = prop("receiver", IRI)
    resource_conforms_to: str | None = prop("resourceConformsTo", IRI)
    resource_classified_as: tuple[str, ...] = prop("resourceClassifiedAs", TEXTS)
    resource_inventoried_as: str | None = prop("resourceInventoriedAs", IRI)
    resource_quantity: Measure | None = prop("resourceQuantity", MEASURE)
    effort_quantity: Measure | None = prop("effortQuantity", MEASURE)
    available_quantity: Measure | None = prop("availableQuantity", MEASURE)
    minimum_quantity: Measure | None = prop("minimumQuantity", MEASURE)
    has_point_in_time: datetime | None = prop("hasPointInTime", DATETIME)
    has_beginning: datetime | None = prop("hasBeginning", DATETIME)
    has_end: datetime | None = prop("hasEnd", DATETIME)
    due: datetime | None = prop("due", DATETIME)
    finished: bool = prop("finished", BOOL, default=False)
    input_of: str | None = prop("inputOf", IRI)
    output_of: str | None = prop("outputOf", IRI)
    planned_within: str | None = prop("plannedWithin", IRI)
    stage: str | None = prop("stage", IRI)
    state: str | None = prop("state", TEXT)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        check_flow(
            self.action,
            self.resource_quantity,
            self.effort_quantity,
            input_of=self.input_of,
            output_of=self.output_of,
        )
        check_amount(self.available_quantity, "/availableQuantity", allow_zero=True)
        check_amount(self.minimum_quantity, "/minimumQuantity")
        if self.resource_quantity is not None:
            for key, measure in (
                ("availableQuantity", self.available_quantity),
                ("minimumQuantity", self.minimum_quantity),
            ):
                if measure is not None and measure.unit != self.resource_quantity.unit:
                    raise UnitMismatch(
                        f"/{key}",
                        f"is in {measure.unit} but resourceQuantity is in "
                        f"{self.resource_quantity.unit}: different units are never compared",
                    )
        check_times(self.has_beginning, self.has_end)

    def has_counted_quantity(self) -> bool:
        """Whether the intent states the quantity its action counts."""
        return self.resource_quantity is not None or self.effort_quantity is not None


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal(ASObject):
    """Published offer or request, with what is expected in return (FEP-0837)."""

    TYPE: ClassVar[str] = "Proposal"

    purpose: Purpose = prop("purpose", PURPOSE, required=True)
    publishes: tuple[Intent | str, ...] = prop("publishes", embedded("Intent"), required=True)
    reciprocal: tuple[Intent | str, ...] = prop("reciprocal", embedded("Intent"))
    unit_based: bool = prop("unitBased", BOOL, default=False, always=True)
    has_beginning: datetime | None = prop("hasBeginning", DATETIME)
    has_end: datetime | None = prop("hasEnd", DATETIME)
    proposed_to: tuple[str, ...] = prop("proposedTo", IRIS)
    eligible_location: str | None = prop("eligibleLocation", IRI)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        if not self.attributed_to:
            raise InvalidObject("/attributedTo", "missing: FEP-0837 requires the proposer")
        if not self.publishes:
            raise InvalidObject("/publishes", "missing: a proposal publishes a primary intent")
        check_times(self.has_beginning, self.has_end)
        offer = self.purpose == "offer"
        # (side, intents, the agent role the proposer plays in them)
        for key, intents, role in (
            ("publishes", self.publishes, "provider" if offer else "receiver"),
            ("reciprocal", self.reciprocal, "receiver" if offer else "provider"),
        ):
            for i, intent in enumerate(intents):
                if isinstance(intent, str):
                    continue
                where = f"/{key}" if len(intents) == 1 else f"/{key}/{i}"
                if not intent.has_counted_quantity():
                    raise InvalidObject(
                        f"{where}/resourceQuantity",
                        "missing: a proposal's intents state their quantity (FEP-0837)",
                    )
                agent = getattr(intent, role)
                if agent is not None and agent != self.attributed_to:
                    raise InvalidObject(
                        f"{where}/{role}",
                        f"in a{'n' if offer else ''} {self.purpose} the proposer is the "
                        f"{role} of these intents, not {agent}",
                    )

    def intents(self) -> tuple[Intent | str, ...]:
        """Primary intents, then reciprocal ones."""
        return self.publishes + self.reciprocal
