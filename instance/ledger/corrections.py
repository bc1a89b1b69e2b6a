"""Corrections: an event that ``corrects`` another backs out (part of) it, nothing more.

Events never change; a mistake is fixed by a new event whose quantities (which may be
negative) are added to the event it corrects. A correction is the only event with a
negative quantity, so it is where a sign trick would move value: a "correction" of a
transfer of 1 by -500 would take 500 from the receiver. The rules, checked here:

* a correction corrects an original event, never another correction, with the same
  parties, action, resource kind, resources and units (``corrects`` a different unit
  would land in another account);
* the original's total, with all its corrections, stays between zero and its own
  quantity: both counting every correction recorded (claimed ones too) and counting
  only what has taken effect, when the correction takes effect;
* who must consent to what it moves is decided by the ledger's one rule for every
  event (:func:`lowered`): a balance goes down only with its agent's consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.ledger.resources import EventFlow, changes
from instance.problems import Problem
from instance.store.models import EconomicEvent as EventRow
from vocab import EconomicEvent, Measure, canonical_decimal

__all__ = ["Totals", "check_correction", "check_correction_applies", "lowered"]


def lowered(flow: EventFlow) -> set[str]:
    """The agents whose resource this event would lower (whatever the sign trick).

    Read from the actions table with the event's signed quantity: a decrement of a
    positive quantity lowers that side's agent, and so does an increment of a negative
    one (a correction).
    """
    if flow.quantity is None or flow.quantity == 0:
        return set()
    found = set()
    for change in changes(flow.action):
        if change.sign * flow.quantity < 0:
            found.add(flow.provider if change.side == "from" else flow.receiver)
    return found


@dataclass(frozen=True)
class Totals:
    """The original's quantity and its corrections so far, per quantity field."""

    original: Decimal
    recorded: Decimal  # original + every correction recorded (claimed or applied)
    applied: Decimal  # what has taken effect: the original if applied + applied corrections


_FIELDS = (
    ("resourceQuantity", "resource_quantity", "resource_unit"),
    ("effortQuantity", "effort_quantity", "effort_unit"),
)


def _pinned(event: EconomicEvent, corrected: EventRow) -> None:
    """A correction names nothing the original did not: same kind and resources."""
    if corrected.corrects is not None:
        raise Problem(
            422,
            f"{corrected.uri} is itself a correction: correct the original event "
            f"{corrected.corrects}",
            field="corrects",
        )
    for field, mine, theirs in (
        ("resourceConformsTo", event.resource_conforms_to, corrected.resource_conforms_to),
        ("resourceInventoriedAs", event.resource_inventoried_as, corrected.resource_inventoried_as),
        (
            "toResourceInventoriedAs",
            event.to_resource_inventoried_as,
            corrected.to_resource_inventoried_as,
        ),
    ):
        if mine is not None and mine != theirs:
            raise Problem(
                422,
                f"a correction moves what {corrected.uri} moved: {field} is "
                f"{theirs or 'not given'} there, not {mine}",
                field=field,
            )


async def _totals(
    session: AsyncSession, event: EconomicEvent, corrected: EventRow, attribute: str
) -> Totals:
    original: Decimal = getattr(corrected, attribute)
    earlier = (
        await session.execute(
            select(getattr(EventRow, attribute), EventRow.state).where(
                EventRow.corrects == corrected.uri, EventRow.uri != event.id
            )
        )
    ).all()
    recorded = original + sum((q for q, _ in earlier if q is not None), Decimal(0))
    applied = (original if corrected.state == "applied" else Decimal(0)) + sum(
        (q for q, state in earlier if q is not None and state == "applied"), Decimal(0)
    )
    return Totals(original, recorded, applied)


def _within(total: Decimal, change: Decimal, original: Decimal) -> bool:
    return Decimal(0) <= total + change <= original


async def check_correction(
    session: AsyncSession, event: EconomicEvent, corrected: EventRow
) -> dict[str, Totals]:
    """Refuse a correction that names other things than the original or would take the
    original's recorded total below zero or above its own quantity. Returns the totals
    by field, for :func:`check_correction_applies`."""
    _pinned(event, corrected)
    totals: dict[str, Totals] = {}
    for field, attribute, unit_attribute in _FIELDS:
        measure: Measure | None = getattr(event, attribute)
        if measure is None:
            continue
        if getattr(corrected, attribute) is None:
            raise Problem(422, f"{corrected.uri} has no {field} to correct", field=field)
        unit = getattr(corrected, unit_attribute)
        if measure.unit != unit:
            raise Problem(
                422,
                f"{corrected.uri} is counted in {unit}, not {measure.unit}: "
                "a correction is in the unit of what it corrects",
                field=field,
            )
        found = await _totals(session, event, corrected, attribute)
        if not _within(found.recorded, measure.value, found.original):
            raise Problem(
                422,
                f"a correction never exceeds what it corrects: {corrected.uri} stands at "
                f"{canonical_decimal(found.recorded)} of {canonical_decimal(found.original)} "
                f"{unit} with its corrections; {canonical_decimal(measure.value)} would take "
                f"it {'below zero' if measure.value < 0 else 'above its own quantity'}",
                field=field,
            )
        totals[field] = found
    if not totals:
        raise Problem(422, "a correction states the quantity it corrects", field="resourceQuantity")
    return totals


def check_correction_applies(
    event: EconomicEvent, corrected: EventRow, totals: dict[str, Totals]
) -> None:
    """Refuse to let a correction take effect beyond what has taken effect so far (a
    correction of a claimed event waits until that event is accepted)."""
    for field, attribute, unit_attribute in _FIELDS:
        measure: Measure | None = getattr(event, attribute)
        found = totals.get(field)
        if measure is None or found is None:
            continue
        if not _within(found.applied, measure.value, found.original):
            raise Problem(
                409,
                f"{corrected.uri} has taken effect for {canonical_decimal(found.applied)} "
                f"{getattr(corrected, unit_attribute)}: {canonical_decimal(measure.value)} "
                "cannot count until what it corrects does",
                field=field,
            )
