"""Rules shared by the flows (Intent, Commitment, EconomicEvent, Claim), from the table.

Every rule reads a column of :data:`vocab.actions.ACTIONS`; none compares action names.

* **Quantity kind** (ontology, ``vf:eventQuantity``): a flow whose action counts
  ``resource`` may not state ``effortQuantity``; one that counts ``effort`` (work) may
  not state ``resourceQuantity``; ``both`` (use) may state either or both.
* **Process side** (``vf:inputOutput``): ``inputOf`` needs an action that can be an
  input (``input``, ``outputInput``), ``outputOf`` one that can be an output; a flow
  is input and output at once only for ``outputInput`` (deliverService).
* **Positive amounts**: resource and effort quantities are greater than zero. A
  correcting event (``corrects``) may be negative: it backs out what it corrects.
* **Time order**: ``hasEnd`` is not before ``hasBeginning``.
"""

from __future__ import annotations

from datetime import datetime

from vocab.actions import Action, get_action
from vocab.errors import InvalidObject
from vocab.quantity import Measure

__all__ = ["check_amount", "check_flow", "check_times"]


def check_amount(
    measure: Measure | None, path: str, *, allow_zero: bool = False, allow_negative: bool = False
) -> None:
    """Refuse a zero or negative amount where the rule wants a positive one."""
    if measure is None:
        return
    if measure.value < 0 and not allow_negative:
        raise InvalidObject(path, f"{measure} is negative")
    if measure.is_zero and not allow_zero:
        raise InvalidObject(path, "must be greater than zero")


def check_times(beginning: datetime | None, end: datetime | None) -> None:
    """``hasEnd`` may not come before ``hasBeginning``."""
    if beginning is not None and end is not None and end < beginning:
        raise InvalidObject("/hasEnd", "is before hasBeginning")


def check_flow(
    action_name: str | None,
    resource_quantity: Measure | None,
    effort_quantity: Measure | None,
    *,
    input_of: str | None = None,
    output_of: str | None = None,
    allow_negative: bool = False,
) -> Action | None:
    """Check a flow against its action's row of the table; return the action."""
    check_amount(resource_quantity, "/resourceQuantity", allow_negative=allow_negative)
    check_amount(effort_quantity, "/effortQuantity", allow_negative=allow_negative)
    if action_name is None:
        return None
    action = get_action(action_name, "/action")
    if resource_quantity is not None and not action.uses_resource_quantity:
        raise InvalidObject(
            "/resourceQuantity",
            f"{action.name} counts effort (vf:eventQuantity {action.event_quantity}); "
            "state effortQuantity instead",
        )
    if effort_quantity is not None and not action.uses_effort_quantity:
        raise InvalidObject(
            "/effortQuantity",
            f"{action.name} counts the resource (vf:eventQuantity {action.event_quantity}); "
            "state resourceQuantity instead",
        )
    if input_of is not None and not action.can_be_input:
        raise InvalidObject(
            "/inputOf",
            f"{action.name} cannot be a process input (inputOutput {action.input_output})",
        )
    if output_of is not None and not action.can_be_output:
        raise InvalidObject(
            "/outputOf",
            f"{action.name} cannot be a process output (inputOutput {action.input_output})",
        )
    if input_of is not None and output_of is not None and action.input_output != "outputInput":
        raise InvalidObject("/outputOf", f"a {action.name} flow is not both input and output")
    return action
