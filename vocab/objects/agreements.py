"""Agreements and commitments (VF Agreement, Commitment; FEP-0837, FEP-3264, FEP-c5a1).

Rules, besides the flow rules of :mod:`vocab.objects.flows`:

* ids are optional: FEP-0837's ``Offer(Agreement)`` proposes commitments that get
  their ids only when the proposer finalizes the agreement;
* a Commitment's ``action`` may be absent: FEP-0837 commitments take the action of
  the intent they ``satisfies``, and FEP-c5a1 to-dos are work by definition. The
  typed object keeps ``None`` ("not stated"); deciding is the exchange layer's job,
  which knows the intent. When present it is checked like any flow's;
* ``provider`` and ``receiver`` are optional: the FEPs make them RECOMMENDED and
  disagree on the default (FEP-3264 assumes attributedTo provides, FEP-c5a1 that the
  addressee does), so vocab never guesses;
* a commitment is a clause or a reciprocal clause of an agreement, not both;
* ``fulfilledQuantity`` (oce) is never negative and never exceeds the committed
  quantity of its unit (a different unit is a UnitMismatch);
* an Agreement stipulates at least one commitment (FEP-0837); an embedded commitment
  that names its agreement (``clauseOf`` / ``reciprocalClauseOf``) names this one,
  on the matching side.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from vocab.errors import InvalidObject, UnitMismatch
from vocab.objects.base import ASObject, embedded, register
from vocab.objects.fields import ACTION, BOOL, DATETIME, IRI, IRIS, MEASURE, TEXT, TEXTS, prop
from vocab.objects.flows import check_amount, check_flow, check_times
from vocab.quantity import Measure

__all__ = ["Agreement", "Commitment"]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Commitment(ASObject):
    """A flow promised by one agent to another (VF Commitment)."""

    TYPE: ClassVar[str] = "Commitment"
    ID_REQUIRED: ClassVar[bool] = False

    action: str | None = prop("action", ACTION)
    provider: str | None = prop("provider", IRI)
    receiver: str | None = prop("receiver", IRI)
    resource_conforms_to: str | None = prop("resourceConformsTo", IRI)
    resource_classified_as: tuple[str, ...] = prop("resourceClassifiedAs", TEXTS)
    resource_inventoried_as: str | None = prop("resourceInventoriedAs", IRI)
    resource_quantity: Measure | None = prop("resourceQuantity", MEASURE)
    effort_quantity: Measure | None = prop("effortQuantity", MEASURE)
    has_point_in_time: datetime | None = prop("hasPointInTime", DATETIME)
    has_beginning: datetime | None = prop("hasBeginning", DATETIME)
    has_end: datetime | None = prop("hasEnd", DATETIME)
    due: datetime | None = prop("due", DATETIME)
    finished: bool = prop("finished", BOOL, default=False)
    input_of: str | None = prop("inputOf", IRI)
    output_of: str | None = prop("outputOf", IRI)
    clause_of: str | None = prop("clauseOf", IRI)
    reciprocal_clause_of: str | None = prop("reciprocalClauseOf", IRI)
    satisfies: tuple[str, ...] = prop("satisfies", IRIS)
    independent_demand_of: str | None = prop("independentDemandOf", IRI)
    planned_within: str | None = prop("plannedWithin", IRI)
    stage: str | None = prop("stage", IRI)
    state: str | None = prop("state", TEXT)
    note: str | None = prop("note", TEXT)
    fulfilled_quantity: Measure | None = prop("fulfilledQuantity", MEASURE)

    def _validate(self) -> None:
        check_flow(
            self.action,
            self.resource_quantity,
            self.effort_quantity,
            input_of=self.input_of,
            output_of=self.output_of,
        )
        check_times(self.has_beginning, self.has_end)
        if self.clause_of is not None and self.reciprocal_clause_of is not None:
            raise InvalidObject(
                "/reciprocalClauseOf", "a commitment is a clause or a reciprocal clause, not both"
            )
        fulfilled = self.fulfilled_quantity
        if fulfilled is not None:
            check_amount(fulfilled, "/fulfilledQuantity", allow_zero=True)
            committed = [q for q in (self.resource_quantity, self.effort_quantity) if q is not None]
            same_unit = [q for q in committed if q.unit == fulfilled.unit]
            if committed and not same_unit:
                raise UnitMismatch(
                    "/fulfilledQuantity",
                    f"is in {fulfilled.unit}, the commitment in "
                    f"{', '.join(q.unit for q in committed)}: different units are never compared",
                )
            if same_unit and fulfilled > same_unit[0]:
                raise InvalidObject(
                    "/fulfilledQuantity", f"{fulfilled} exceeds the committed {same_unit[0]}"
                )


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement(ASObject):
    """Reciprocal commitments among agents (VF Agreement; FEP-0837)."""

    TYPE: ClassVar[str] = "Agreement"
    ID_REQUIRED: ClassVar[bool] = False

    stipulates: tuple[Commitment | str, ...] = prop(
        "stipulates", embedded("Commitment"), required=True
    )
    stipulates_reciprocal: tuple[Commitment | str, ...] = prop(
        "stipulatesReciprocal", embedded("Commitment")
    )
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        if not self.stipulates:
            raise InvalidObject("/stipulates", "missing: an agreement stipulates a commitment")
        for key, commitments, own, other in (
            ("stipulates", self.stipulates, "clauseOf", "reciprocalClauseOf"),
            ("stipulatesReciprocal", self.stipulates_reciprocal, "reciprocalClauseOf", "clauseOf"),
        ):
            for i, commitment in enumerate(commitments):
                if isinstance(commitment, str):
                    continue
                where = f"/{key}" if len(commitments) == 1 else f"/{key}/{i}"
                mine = (
                    commitment.clause_of if own == "clauseOf" else commitment.reciprocal_clause_of
                )
                theirs = (
                    commitment.reciprocal_clause_of if own == "clauseOf" else commitment.clause_of
                )
                if theirs is not None:
                    raise InvalidObject(
                        f"{where}/{other}", f"a commitment in {key} cannot be {other}"
                    )
                if mine is not None and self.id is not None and mine != self.id:
                    raise InvalidObject(f"{where}/{own}", f"names {mine}, not this agreement")

    def commitments(self) -> tuple[Commitment | str, ...]:
        """Primary commitments, then reciprocal ones."""
        return self.stipulates + self.stipulates_reciprocal
