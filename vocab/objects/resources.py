"""Economic resources and resource specifications (VF EconomicResource, ResourceSpecification).

Rules:

* both have an ``id`` (they are what flows point at);
* a resource's ``accountingQuantity`` and ``onhandQuantity`` count the same thing, so
  they share a unit. Their signs are free: a mutual-credit account can be negative.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vocab.errors import UnitMismatch
from vocab.objects.base import ASObject, register
from vocab.objects.fields import BOOL, IRI, MEASURE, TEXT, TEXTS, UNIT, prop
from vocab.quantity import Measure

__all__ = ["EconomicResource", "ResourceSpecification"]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EconomicResource(ASObject):
    """Something agents agree to account for and can inventory (VF EconomicResource)."""

    TYPE: ClassVar[str] = "EconomicResource"

    conforms_to: str | None = prop("conformsTo", IRI)
    classified_as: tuple[str, ...] = prop("classifiedAs", TEXTS)
    tracking_identifier: str | None = prop("trackingIdentifier", TEXT)
    accounting_quantity: Measure | None = prop("accountingQuantity", MEASURE)
    onhand_quantity: Measure | None = prop("onhandQuantity", MEASURE)
    primary_accountable: str | None = prop("primaryAccountable", IRI)
    current_location: str | None = prop("currentLocation", IRI)
    contained_in: str | None = prop("containedIn", IRI)
    stage: str | None = prop("stage", IRI)
    state: str | None = prop("state", TEXT)
    unit_of_effort: str | None = prop("unitOfEffort", UNIT)
    note: str | None = prop("note", TEXT)

    def _validate(self) -> None:
        accounting, onhand = self.accounting_quantity, self.onhand_quantity
        if accounting is not None and onhand is not None and accounting.unit != onhand.unit:
            raise UnitMismatch(
                "/onhandQuantity",
                f"is in {onhand.unit} but accountingQuantity is in {accounting.unit}: "
                "one resource is counted in one unit",
            )


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceSpecification(ASObject):
    """A kind of resource, a skill or a currency (VF ResourceSpecification)."""

    TYPE: ClassVar[str] = "ResourceSpecification"

    default_unit_of_resource: str | None = prop("defaultUnitOfResource", UNIT)
    default_unit_of_effort: str | None = prop("defaultUnitOfEffort", UNIT)
    resource_classified_as: tuple[str, ...] = prop("resourceClassifiedAs", TEXTS)
    medium_of_exchange: bool = prop("mediumOfExchange", BOOL, default=False)
    substitutable: bool = prop("substitutable", BOOL, default=False)
    #: oce: how far below zero an account of this (mutual-credit) kind may go.
    credit_limit: Measure | None = prop("creditLimit", MEASURE)
    note: str | None = prop("note", TEXT)
